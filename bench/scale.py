"""Gate throughput as workers are added, on the local and the Ray engines, over one corpus.

    .venv/bin/python bench/scale.py [--works 1000] [--items 30000] [--shard-mb 16]
                                    [--engine local --engine ray] [--index-shards 2]

Registers real files from this machine and builds bench/gate.py's corpus as JSON Lines
(as bench/throughput.py does), then runs ``consentry gate run --mode opt-out`` over it
and over its first half:

- local engine: with one worker (one process, the corpus as one stream) and with every
  core of the machine (the corpus cut into ``--shard-mb`` shards, decided shard by
  shard);
- Ray engine: with one worker and with two (one Ray actor each, on a local cluster of
  two CPUs started once here, which every run joins with ``--address``; its start is
  timed apart), the corpus cut into ``--shard-mb`` shards; then with two workers and
  the index held by ``--index-shards`` actors a shard each.

Checks each run's outputs are those of the local one-worker run. Prints one JSON line
per run and one per engine for the scaling:

  gate_scale_run   engine, workers, items, seconds start to exit, MB/s of content; Ray
                   runs also the bytes they put into the object store and held per
                   worker (the index and the consent table, shipped once per node)
  gate_scale       the speed-up over one worker and the efficiency per worker (the
                   speed-up over the number of workers; goal 0.8): end to end over the
                   whole corpus, fixed costs included, and steady, from the time the
                   second half added (fixed costs taken out)
  ray_cluster      seconds to start the local cluster the Ray runs join
  gate_scale_index_shards
                   two Ray workers with the index held by ``--index-shards`` actors beside
                   the same run with the index whole on the node: the bytes each worker's
                   node holds per worker (the decider, put once) and the index actors'
                   per shard, MB/s end to end and steady, each with its ratio to the
                   whole index's, and whether the outputs are the one-worker run's

The registry at scale (index memory, registration, grant lookups, snapshots) is
bench/scale_registry.py's.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from cli import World
from throughput import bench_world, timed, write_corpus

_COMPARED = ("admitted.jsonl", "rejected.jsonl", "royalties.csv")


_SHIPPED = (
    "object_store_bytes",
    "object_store_bytes_per_worker",
    "nodes",
    "index_shards",
    "index_object_store_bytes",
    "index_object_store_bytes_per_shard",
)


def _runs(
    world: World,
    engine: str,
    workers: list[int],
    corpora: list[tuple[Path, float, int]],
    *,
    shard_mb: int,
    extra: list[str],
    name: str | None = None,
) -> tuple[dict[tuple[int, str], float], dict[str, Any]]:
    """Seconds of each run of ``engine`` with each count of ``workers`` over each corpus,
    and what the last run shipped; ``extra``: the command's further options, ``name``
    the runs' (default: the engine's)."""
    seconds: dict[tuple[int, str], float] = {}
    shipped: dict[str, Any] = {}
    name = name or engine
    for count in workers:
        for source, size, items in corpora:
            out = world.root / f"out-{name}-{count}-{source.stem}"
            command = [
                *world.cli, "gate", "run", str(source), "--licensee", world.licensee,
                "--purpose", "train-ai", "--mode", "opt-out", "--out", str(out),
                "--workers", str(count), "--shard-mb", str(shard_mb), "--engine", engine,
                *extra, "--json",
            ]  # fmt: skip
            took, printed = timed(command, world, core=None)
            seconds[(count, source.stem)] = took
            summary: dict[str, Any] = json.loads(printed.splitlines()[-1])
            shipped = summary.get("engine", {})
            emit(
                "gate_scale_run",
                engine=engine,
                workers=count,
                items=items,
                mb=round(size, 1),
                seconds=round(took, 2),
                mb_s=round(size / took, 2),
                **{k: shipped[k] for k in _SHIPPED if k in shipped},
            )
    return seconds, shipped


def _same_as_one_worker(world: World, out: str) -> bool:
    return all(
        filecmp.cmp(world.root / "out-local-1-corpus" / name, world.root / out / name, False)
        for name in _COMPARED
    )


def _steady(seconds: dict[tuple[int, str], float], count: int, mb: float, half_mb: float) -> float:
    """MB/s the corpus's second half adds with ``count`` workers: fixed costs taken out."""
    return (mb - half_mb) / (seconds[(count, "corpus")] - seconds[(count, "half")])


def _scaling(
    world: World,
    engine: str,
    seconds: dict[tuple[int, str], float],
    workers: int,
    *,
    mb: float,
    half_mb: float,
    shard_mb: int,
) -> None:
    same = _same_as_one_worker(world, f"out-{engine}-{workers}-corpus")
    whole = seconds[(1, "corpus")] / seconds[(workers, "corpus")]

    def steady(count: int) -> float:
        return _steady(seconds, count, mb, half_mb)

    emit(
        "gate_scale",
        engine=engine,
        workers=workers,
        shard_mb=shard_mb,
        speedup=round(whole, 2),
        efficiency_per_worker=round(whole / workers, 2),
        steady_mb_s={"1": round(steady(1), 2), str(workers): round(steady(workers), 2)},
        steady_efficiency_per_worker=round(steady(workers) / steady(1) / workers, 2),
        goal_efficiency=0.8,
        outputs_equal=same,
    )


def _ray_cluster(world: World, cpus: int) -> str:
    """A local Ray cluster of ``cpus`` CPUs held by this process; its address. The runs
    get its settings (its authentication mode among them) in their environment."""
    from consentry.gate.engines.ray import import_ray

    ray = import_ray()
    started = time.perf_counter()
    ray.init(
        num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
    )
    emit("ray_cluster", cpus=cpus, start_seconds=round(time.perf_counter() - started, 2))
    world.env.update({k: v for k, v in os.environ.items() if k.startswith("RAY_")})
    return str(ray.get_runtime_context().gcs_address)


def _index_shards(
    world: World,
    corpora: list[tuple[Path, float, int]],
    *,
    address: str,
    index_shards: int,
    mb: float,
    half_mb: float,
    shard_mb: int,
) -> None:
    """Two Ray workers with the index held by ``index_shards`` actors, beside the same
    runs with the index whole on the node."""
    runs = {
        shards: _runs(
            world, "ray", [2], corpora, shard_mb=shard_mb,
            extra=["--address", address, "--index-shards", str(shards)],
            name=f"ray-index-{shards}",
        )
        for shards in (0, index_shards)
    }  # fmt: skip
    whole_shipped, held_shipped = runs[0][1], runs[index_shards][1]
    per_worker = "object_store_bytes_per_worker"
    end_to_end = {n: mb / seconds[(2, "corpus")] for n, (seconds, _) in runs.items()}
    steady = {n: _steady(seconds, 2, mb, half_mb) for n, (seconds, _) in runs.items()}
    emit(
        "gate_scale_index_shards",
        engine="ray",
        workers=2,
        index_shards=index_shards,
        shard_mb=shard_mb,
        bytes_per_worker={"whole": whole_shipped[per_worker], "sharded": held_shipped[per_worker]},
        bytes_per_worker_ratio=round(held_shipped[per_worker] / whole_shipped[per_worker], 4),
        index_bytes_per_shard=held_shipped["index_object_store_bytes_per_shard"],
        mb_s={"whole": round(end_to_end[0], 2), "sharded": round(end_to_end[index_shards], 2)},
        mb_s_ratio=round(end_to_end[index_shards] / end_to_end[0], 2),
        steady_mb_s={"whole": round(steady[0], 2), "sharded": round(steady[index_shards], 2)},
        steady_ratio=round(steady[index_shards] / steady[0], 2),
        outputs_equal=all(_same_as_one_worker(world, f"out-ray-index-{n}-2-corpus") for n in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1000)
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--shard-mb", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--engine", action="append", choices=("local", "ray"), help="Default: both."
    )
    parser.add_argument(
        "--index-shards", type=int, default=2, help="Ray: actors holding the index (0: none)."
    )
    args = parser.parse_args()
    engines = args.engine or ["local", "ray"]
    cores = len(os.sched_getaffinity(0))
    world, _, records = bench_world("scale", args.works, args.items, args.seed)
    corpus, half = world.root / "corpus.jsonl", world.root / "half.jsonl"
    mb = write_corpus(corpus, records) / 1e6
    half_mb = write_corpus(half, records[: len(records) // 2]) / 1e6
    corpora = [(half, half_mb, len(records) // 2), (corpus, mb, len(records))]
    sizes = {"mb": mb, "half_mb": half_mb, "shard_mb": args.shard_mb}
    # The local one-worker run is what every other run's outputs are checked against.
    local = sorted({1, cores})
    seconds, _ = _runs(world, "local", local, corpora, shard_mb=args.shard_mb, extra=[])
    if "local" in engines and cores > 1:
        _scaling(world, "local", seconds, cores, **sizes)
    if "ray" in engines:
        address = _ray_cluster(world, 2)
        ray_seconds, _ = _runs(
            world, "ray", [1, 2], corpora, shard_mb=args.shard_mb, extra=["--address", address]
        )
        _scaling(world, "ray", ray_seconds, 2, **sizes)
        if args.index_shards:
            _index_shards(world, corpora, address=address, index_shards=args.index_shards, **sizes)


if __name__ == "__main__":
    main()
