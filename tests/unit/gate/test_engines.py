"""What the engines rest on, without a cluster: the consent table answers as the oracle
it was read from, in one batch; a missing Ray is one sentence; a cluster's processes
die with the run that started them; index shards are asked only of a decider that
carries its index, and reported only when held."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType

import pytest

from consentry.errors import InputError
from consentry.gate.consent import ConsentTable
from consentry.gate.engines import EngineUnavailableError
from consentry.gate.engines._reaper import reaped, start_time
from consentry.gate.engines.ray import RayEngine, Shipped, import_ray
from consentry.gate.shards import Shard
from consentry.terms import Basis, Price, PriceUnit, UseDecision

_AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class _Oracle:
    """Answers for works w0..w9: even ones under grant g<n>, odd ones refused."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def decide(self, work_ids: Sequence[str]) -> Mapping[str, UseDecision]:
        self.asked.append(list(work_ids))
        return {w: self._answer(w) for w in work_ids}

    @staticmethod
    def _answer(work_id: str) -> UseDecision:
        number = int(work_id[1:])
        if number % 2:
            return UseDecision(False, f"work {work_id}: no grant")
        return UseDecision(True, "granted", Basis.GRANT, f"g{number}")

    def price_of(self, grant_id: str) -> Price | None:
        number = int(grant_id[1:])
        return None if number == 4 else Price(PriceUnit.WORK, Decimal(number), "EUR")


def test_a_consent_table_answers_as_its_oracle_read_in_one_batch() -> None:
    oracle = _Oracle()
    works = [f"w{n}" for n in range(10)]
    table = ConsentTable.read(oracle, reversed(works), at=_AT)
    assert oracle.asked == [sorted(works)]
    assert table.decide(works) == oracle.decide(works)
    for grant in ("g0", "g2", "g4", "g6", "g8", "g9"):
        assert table.price_of(grant) == (oracle.price_of(grant) if grant != "g9" else None), (
            "a grant no answer uses has no price"
        )
    assert not table.decide(["w99"])["w99"].allowed
    # Sent to workers as a pickle: it must come back the same.
    assert pickle.loads(pickle.dumps(table)) == table  # noqa: S301 - our own bytes


def hide_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``ray`` fail to import, as on a base install without the extra."""
    real = importlib.import_module

    def missing(name: str, package: str | None = None) -> ModuleType:
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", missing)


def test_the_ray_engine_without_ray_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hide_ray(monkeypatch)
    with pytest.raises(EngineUnavailableError, match=r"pip install 'consentry\[ray\]'"):
        import_ray()


def test_what_a_run_starts_dies_with_it() -> None:
    with reaped():
        # Left behind on purpose, as a cluster's agent is when its run is killed.
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        started = start_time(child.pid)
        time.sleep(1.2)  # the watcher notes what descends from the run twice a second
    assert child.wait(timeout=10) == -9
    assert started is not None
    assert start_time(child.pid) is None


def test_the_engines_export_what_they_document() -> None:
    from consentry.gate import engines
    from consentry.gate.engines import ray as ray_engine
    from consentry.gate.engines import ray_index

    assert engines.__all__ == [
        "Engine",
        "EngineName",
        "EngineUnavailableError",
        "IndexShardLostError",
        "ShardFailedError",
    ]
    assert ray_engine.__all__ == ["IndexCarrier", "RayEngine", "Shipped", "import_ray"]
    assert ray_index.__all__ == ["HeldIndex", "ShardProxy", "at_once", "hold_index"]
    assert [e.value for e in engines.EngineName] == ["local", "ray"]


def test_index_shards_are_held_only_for_a_decider_that_carries_its_index() -> None:
    with pytest.raises(InputError, match=r"--index-shards -1: give 0 .* or the number of actors"):
        RayEngine(2, index_shards=-1)
    engine = RayEngine(2, index_shards=2)
    # Refused before Ray is imported or a cluster is sought.
    with pytest.raises(InputError, match=r"carries its match index .* not for a function"):
        engine.run([Shard(0, 0, 1, 1)], lambda shard: {}, on_done=lambda shard, result: None)
    assert engine.shipped is None


def test_what_a_run_shipped_names_the_index_shards_only_when_they_were_held() -> None:
    whole = Shipped(8_000, 1, 2)
    assert whole.to_json() == {
        "object_store_bytes": 8_000,
        "nodes": 1,
        "workers": 2,
        "object_store_bytes_per_worker": 4_000,
    }
    held = Shipped(600, 2, 4, index_shards=3, index_bytes=7_500)
    assert held.to_json() == {
        "object_store_bytes": 600,
        "nodes": 2,
        "workers": 4,
        "object_store_bytes_per_worker": 300,
        "index_shards": 3,
        "index_object_store_bytes": 7_500,
        "index_object_store_bytes_per_shard": 2_500,
    }


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:6379", True),
        ("localhost:6379", True),
        ("[::1]:6379", True),
        ("10.0.0.5:6379", False),
        ("head.cluster.internal:6379", False),
    ],
)
def test_a_cluster_on_this_machine_is_joined_on_loopback_and_one_elsewhere_is_not(
    address: str, loopback: bool
) -> None:
    from consentry.gate.engines.ray import _is_loopback

    assert _is_loopback(address) is loopback
