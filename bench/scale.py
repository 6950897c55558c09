"""Gate throughput as workers are added, on the local and the Ray engines, over one corpus.

    .venv/bin/python bench/scale.py [--works 1000] [--items 30000] [--shard-mb 16]
                                    [--engine local --engine ray]

Registers real files from this machine and builds bench/gate.py's corpus as JSON Lines
(as bench/throughput.py does), then runs ``consentry gate run --mode opt-out`` over it
and over its first half:

- local engine: with one worker (one process, the corpus as one stream) and with every
  core of the machine (the corpus cut into ``--shard-mb`` shards, decided shard by
  shard);
- Ray engine: with one worker and with two (one Ray actor each, on a local cluster of
  two CPUs started once here, which every run joins with ``--address``; its start is
  timed apart), the corpus cut into ``--shard-mb`` shards.

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


def _runs(
    world: World,
    engine: str,
    workers: list[int],
    corpora: list[tuple[Path, float, int]],
    *,
    shard_mb: int,
    extra: list[str],
) -> dict[tuple[int, str], float]:
    """Seconds of each run of ``engine`` with each count of ``workers`` over each corpus."""
    seconds: dict[tuple[int, str], float] = {}
    for count in workers:
        for source, size, items in corpora:
            out = world.root / f"out-{engine}-{count}-{source.stem}"
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
                **{
                    k: shipped[k]
                    for k in ("object_store_bytes", "object_store_bytes_per_worker", "nodes")
                    if k in shipped
                },
            )
    return seconds


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
    same = all(
        filecmp.cmp(
            world.root / "out-local-1-corpus" / name,
            world.root / f"out-{engine}-{workers}-corpus" / name,
            False,
        )
        for name in _COMPARED
    )
    whole = seconds[(1, "corpus")] / seconds[(workers, "corpus")]

    def steady(count: int) -> float:
        return (mb - half_mb) / (seconds[(count, "corpus")] - seconds[(count, "half")])

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1000)
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--shard-mb", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--engine", action="append", choices=("local", "ray"), help="Default: both."
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
    seconds = _runs(world, "local", local, corpora, shard_mb=args.shard_mb, extra=[])
    if "local" in engines and cores > 1:
        _scaling(world, "local", seconds, cores, **sizes)
    if "ray" in engines:
        address = _ray_cluster(world, 2)
        ray_seconds = _runs(
            world, "ray", [1, 2], corpora, shard_mb=args.shard_mb, extra=["--address", address]
        )
        _scaling(world, "ray", ray_seconds, 2, **sizes)


if __name__ == "__main__":
    main()
