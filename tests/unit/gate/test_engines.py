"""What the engines rest on, without a cluster: the consent table answers as the oracle
it was read from, in one batch; a missing Ray is one sentence; a cluster's processes
die with the run that started them."""

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

from consentry.gate.consent import ConsentTable
from consentry.gate.engines import EngineUnavailableError
from consentry.gate.engines._reaper import reaped, start_time
from consentry.gate.engines.ray import import_ray
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

    assert engines.__all__ == ["Engine", "EngineName", "EngineUnavailableError", "ShardFailedError"]
    assert ray_engine.__all__ == ["RayEngine", "Shipped", "import_ray"]
    assert [e.value for e in engines.EngineName] == ["local", "ray"]


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
