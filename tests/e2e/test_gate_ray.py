"""A corpus decided shard by shard on a Ray cluster of two worker processes, started
once for this module: the same outputs, byte for byte, as the local engine makes (JSON
Lines by byte ranges, Parquet by row groups, the index whole on every node or held by
actors a shard each); killed, or stopped with Ctrl-C, or losing an index shard's actor,
it resumes with every item decided exactly once; what the workers share goes into the
object store once per run, never once per shard; a failing shard is named."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from consentry.app.gating import PlannedGate, gate_policy, plan_gate
from consentry.app.sharded_gating import run_sharded
from consentry.app.workspace import Workspace
from consentry.errors import InputError
from consentry.gate import GateMode
from consentry.gate.engines import EngineName, ShardFailedError
from consentry.gate.engines._reaper import descendants, start_time
from consentry.gate.engines.ray import RayEngine, import_ray
from consentry.gate.shards import Shard
from consentry.settings import Settings
from consentry.terms import Category
from tests.e2e.conftest import Cli
from tests.e2e.test_gate_cli import _check_outputs, _gate_args, _lines, _world
from tests.e2e.test_gate_shards import ITEMS, _same_run, _start, _when_a_shard_is_done
from tests.unit.gate.test_engines import hide_ray

ray = import_ray()

pytestmark = pytest.mark.ray

_SHARDS = ("--workers", "2", "--shard-mb", "1")
# What a summary says of how long a run took and where it ran; the rest is the run's.
_OF_THE_MACHINE = ("run_id", "seconds", "items_per_s", "mb_per_s", "engine")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local cluster of two worker processes; its address."""
    environ = dict(os.environ)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, str, Path, Path]:
    """A registry, a corpus of four shards, and the local engine's run over it."""
    root = tmp_path_factory.mktemp("ray-world")
    cli = Cli(root / "home", keys=root / "keys")
    lab, corpus = _world(cli, root, ITEMS)
    local = root / "local"
    cli(*_gate_args(corpus, lab, local), *_SHARDS, "--engine", "local")
    return cli, lab, corpus, local


def _summary(out: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in _OF_THE_MACHINE}


def _same_as_local(local: Path, out: Path) -> None:
    _same_run(local, out)
    assert _summary(local) == _summary(out)


def test_the_ray_engine_makes_the_run_the_local_engine_makes(
    world: tuple[Cli, str, Path, Path], cluster: str, tmp_path: Path
) -> None:
    cli, lab, corpus, local = world
    out = tmp_path / "ray"
    args = [*_gate_args(corpus, lab, out), *_SHARDS, "--engine", "ray", "--address", cluster]
    summary = cli(*args, "--json").records()[0]
    _check_outputs(out, ITEMS, corpus)
    _same_as_local(local, out)
    engine = summary["engine"]
    assert (engine["name"], engine["workers"], engine["nodes"]) == ("ray", 2, 1)
    assert engine["object_store_bytes"] > 0
    assert json.loads((out / "summary.json").read_text())["engine"] == engine


def test_a_parquet_corpus_is_decided_by_row_groups_as_one_process_decides_it(
    world: tuple[Cli, str, Path, Path], cluster: str, tmp_path: Path
) -> None:
    cli, lab, corpus, _ = world
    records = [json.loads(line) for line in corpus.read_text().splitlines()]
    table = pa.table(
        {
            "id": [r["id"] for r in records],
            "text": [r["text"] for r in records],
            "metadata": [json.dumps(r["metadata"]) if "metadata" in r else None for r in records],
        }
    )
    parquet = tmp_path / "corpus.parquet"
    pq.write_table(table, parquet, row_group_size=50)
    one, sharded = tmp_path / "one", tmp_path / "ray"
    cli(*_gate_args(parquet, lab, one), "--workers", "1")
    args = [*_gate_args(parquet, lab, sharded), *_SHARDS, "--engine", "ray", "--address", cluster]
    summary = cli(*args, "--json").records()[0]
    assert summary["engine"]["name"] == "ray"
    ids = [r["id"] for n in ("admitted.jsonl.zst", "rejected.jsonl") for r in _lines(sharded / n)]
    assert sorted(ids) == sorted(f"d{i}" for i in range(ITEMS)), "every item exactly once"
    _same_as_local(one, sharded)


def test_a_killed_ray_run_resumes_deciding_every_item_once(
    world: tuple[Cli, str, Path, Path], cluster: str, tmp_path: Path
) -> None:
    cli, lab, corpus, local = world
    out = tmp_path / "out"
    args = [*_gate_args(corpus, lab, out), *_SHARDS, "--engine", "ray"]
    # No --address: the run starts a cluster of its own, which must die with it.
    process = _start(args, cli.env)
    _when_a_shard_is_done(process, out)
    started = descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)  # the run alone: its cluster must notice
    process.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while left := [p for p, at in started.items() if start_time(p) == at]:
        assert time.monotonic() < deadline, f"processes outlived the killed run: {left}"
        time.sleep(0.2)
    assert not (out / "manifest.json").exists()
    # Resumed on another cluster, joined by address: a part is the same whoever
    # decided it. Nothing of Ray's is printed.
    resumed = cli.in_a_process()(*args, "--address", cluster, "--resume")
    assert resumed.stderr == ""
    _check_outputs(out, ITEMS, corpus)
    _same_as_local(local, out)


def test_ctrl_c_stops_a_ray_run_between_shards_and_it_resumes(
    world: tuple[Cli, str, Path, Path], cluster: str, tmp_path: Path
) -> None:
    cli, lab, corpus, local = world
    out = tmp_path / "out"
    args = [*_gate_args(corpus, lab, out), *_SHARDS, "--engine", "ray", "--address", cluster]
    process = _start(args, cli.env)
    _when_a_shard_is_done(process, out)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "shards decided and saved in" in lines[0] and lines[0].endswith("--resume")
    # The shards running when asked finished: none was left half decided.
    parts = list((out / "parts").iterdir())
    assert parts and all((p / "part.done").is_file() for p in parts)
    cli(*args, "--resume")
    _check_outputs(out, ITEMS, corpus)
    _same_as_local(local, out)


@contextmanager
def _planned(cli: Cli, lab: str) -> Iterator[tuple[Workspace, PlannedGate]]:
    """The workspace and gate plan ``gate run --licensee LAB --purpose train-ai`` makes
    against ``cli``'s registry."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CONSENTRY_DATABASE_URL", raising=False)
        for name, value in cli.overrides.items():
            patch.setenv(name, value)
        with Workspace(Settings.from_env()) as ws:
            policy = gate_policy(GateMode.CONSENT_ONLY)
            yield ws, plan_gate(ws, licensee_id=lab, purpose=Category.TRAIN_AI, policy=policy)


def _gate_with_index_shards(
    cli: Cli,
    lab: str,
    corpus: Path,
    out: Path,
    *,
    address: str,
    shard_bytes: int,
    resume: bool = False,
) -> dict[str, Any]:
    """What ``gate run CORPUS --licensee LAB --purpose train-ai --out OUT --zstd
    --workers 2 --engine ray --address ADDRESS --index-shards 2`` runs, with shards
    smaller than ``--shard-mb`` can ask: the application's own call."""
    with _planned(cli, lab) as (ws, plan):
        return run_sharded(
            ws,
            plan,
            corpus,
            out,
            workers=2,
            min_span=200,
            compress=True,
            resume=resume,
            shard_bytes=shard_bytes,
            engine=EngineName.RAY,
            address=address,
            index_shards=2,
        )


def test_with_the_index_held_by_actors_a_shard_each_the_run_is_the_local_engines(
    world: tuple[Cli, str, Path, Path], cluster: str, tmp_path: Path
) -> None:
    cli, lab, corpus, local = world
    out = tmp_path / "ray"
    engine_args = ("--engine", "ray", "--address", cluster, "--index-shards", "2")
    printed = cli(*_gate_args(corpus, lab, out), *_SHARDS, *engine_args, "--json")
    summary = json.loads(printed.stdout)
    _check_outputs(out, ITEMS, corpus)
    _same_as_local(local, out)
    engine = summary["engine"]
    assert (engine["name"], engine["workers"], engine["index_shards"]) == ("ray", 2, 2)
    assert engine["index_object_store_bytes"] > 0
    assert engine["index_object_store_bytes_per_shard"] == engine["index_object_store_bytes"] // 2
    assert json.loads((out / "summary.json").read_text())["engine"] == engine


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _kill_an_index_actor_once_a_shard_is_done(out: Path, killed: list[int]) -> threading.Thread:
    """A thread that, once a shard of the run into ``out`` is done, kills the process of
    one of the actors holding the index's shards (this process's cluster's)."""

    def kill() -> None:
        deadline = time.monotonic() + 120
        while not list((out / "parts").glob("*/part.done")):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        for pid in descendants(os.getpid()):
            if _command(pid).startswith("ray::_IndexShard"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_run_that_loses_an_index_shard_stops_and_resumes_deciding_every_item_once(
    world: tuple[Cli, str, Path, Path], cluster: str, tmp_path: Path
) -> None:
    cli, lab, corpus, local = world
    out = tmp_path / "out"
    # Shards of 256 KB: many are left to decide when the first is done.
    small = 256 << 10
    killed: list[int] = []
    killer = _kill_an_index_actor_once_a_shard_is_done(out, killed)
    with pytest.raises(ShardFailedError) as failed:
        _gate_with_index_shards(cli, lab, corpus, out, address=cluster, shard_bytes=small)
    killer.join(timeout=10)
    assert len(killed) == 1, "an index actor's process was killed mid-run"
    said = str(failed.value)
    assert said.startswith("the Ray actor holding index shard "), said
    assert " of 2 is gone (" in said and " was decided; " in said, said
    assert said.endswith("the shards decided are kept: run again with --resume"), said
    assert not (out / "manifest.json").exists()
    assert list((out / "parts").glob("*/part.done")), "the shards decided are kept"
    _gate_with_index_shards(cli, lab, corpus, out, address=cluster, shard_bytes=small, resume=True)
    _check_outputs(out, ITEMS, corpus)
    _same_as_local(local, out)


def test_index_shards_off_ray_are_refused_before_anything_is_written(
    world: tuple[Cli, str, Path, Path], tmp_path: Path
) -> None:
    cli, lab, corpus, _ = world
    out = tmp_path / "out"
    # Over a corpus of one shard too, which the local engine decides without shards.
    for workers in ("2", "1"):
        refused = cli(
            *_gate_args(corpus, lab, out), "--workers", workers, "--index-shards", "2", expect=2
        )
        assert "--index-shards 2 holds the index on Ray actors: use it with --engine ray" in (
            refused.stderr
        )
        assert not out.exists()
    with _planned(cli, lab) as (ws, plan), pytest.raises(InputError, match=r"--index-shards 2"):
        run_sharded(ws, plan, corpus, out, workers=2, min_span=200, index_shards=2)
    assert not out.exists()


class _Counted:
    """A decider that says which process ran each shard and which copy of it did: a
    copy is made each time it is unpickled, so a worker that got it once names one."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.copy = ""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.copy = uuid.uuid4().hex

    def __call__(self, shard: Shard) -> dict[str, Any]:
        if shard.number == 99:
            raise InputError("line 12 of the corpus is not JSON")
        return {"pid": os.getpid(), "copy": self.copy, "size": len(self.payload)}


def test_what_workers_share_goes_into_the_object_store_once_per_run(
    cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    puts: list[object] = []
    put = ray.put

    def counted(value: object, **options: Any) -> Any:
        puts.append(value)
        return put(value, **options)

    monkeypatch.setattr(ray, "put", counted)
    shards = [Shard(n, n * 10, n * 10 + 10, n + 1) for n in range(8)]
    results: dict[int, dict[str, Any]] = {}
    engine = RayEngine(2)
    engine.run(
        shards,
        _Counted(b"x" * (4 << 20)),
        on_done=lambda shard, result: results.setdefault(shard.number, result),
    )
    assert sorted(results) == list(range(8))
    assert len(puts) == 1, "one put per run"
    copies = {(r["pid"], r["copy"]) for r in results.values()}
    assert len({pid for pid, _ in copies}) == 2, "both workers decided shards"
    assert len(copies) == 2, "each worker unpickled the shared decider once, not per shard"
    assert engine.shipped is not None
    assert engine.shipped.object_bytes >= 4 << 20
    assert engine.shipped.bytes_per_worker == engine.shipped.object_bytes // 2


def test_a_failing_shard_is_named_and_stops_the_run(cluster: str) -> None:
    shards = [Shard(n, 0, 1, 1) for n in (0, 99, 2)]
    with pytest.raises(ShardFailedError, match=r"shard 99 .* line 12 of the corpus is not JSON"):
        RayEngine(1).run(shards, _Counted(b""), on_done=lambda shard, result: None)


def test_without_ray_the_command_says_how_to_install_it_and_writes_nothing(
    world: tuple[Cli, str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, lab, corpus, _ = world
    hide_ray(monkeypatch)
    out = tmp_path / "out"
    stderr = cli(*_gate_args(corpus, lab, out), "--engine", "ray", expect=2).stderr
    assert stderr.strip().splitlines() == [
        "error: the Ray engine needs Ray, which is not installed: pip install 'consentry[ray]'"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--engine", "spark"], "--engine 'spark' is not one of local, ray"),
        (["--address", "127.0.0.1:9"], "--address names a Ray cluster: use it with --engine ray"),
    ],
)
def test_an_engine_option_that_cannot_be_used_is_refused(
    world: tuple[Cli, str, Path, Path], tmp_path: Path, options: list[str], said: str
) -> None:
    cli, lab, corpus, _ = world
    stderr = cli(*_gate_args(corpus, lab, tmp_path / "out"), *options, expect=2).stderr
    assert said in stderr
