"""Gate throughput as workers are added, on the local engine, over one corpus.

    .venv/bin/python bench/scale.py [--works 1000] [--items 30000] [--shard-mb 16]

Registers real files from this machine and builds bench/gate.py's corpus as JSON Lines
(as bench/throughput.py does), then runs ``consentry gate run --mode opt-out`` over it
with one worker (one process, the corpus as one stream) and with every core of the
machine (the corpus cut into ``--shard-mb`` shards, decided shard by shard), over the
corpus and over its first half, and checks the outputs are the same. Prints one JSON
line per run and one for the scaling:

  gate_scale_run   workers, items, seconds start to exit, MB/s of content
  gate_scale       the speed-up over one worker and the efficiency per worker (the
                   speed-up over the number of workers; goal 0.8): end to end over the
                   whole corpus, fixed costs included, and steady, from the time the
                   second half added (fixed costs taken out)

Ray, the sharded index and the registry at a million works (issue 24) are not measured
here yet.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from throughput import bench_world, timed, write_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1000)
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--shard-mb", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    world, _, records = bench_world("scale", args.works, args.items, args.seed)
    corpus, half = world.root / "corpus.jsonl", world.root / "half.jsonl"
    mb = write_corpus(corpus, records) / 1e6
    half_mb = write_corpus(half, records[: len(records) // 2]) / 1e6
    seconds: dict[tuple[int, Path], float] = {}
    for workers in sorted({1, cores}):
        for source, size in ((half, half_mb), (corpus, mb)):
            out = world.root / f"out-{workers}-{source.stem}"
            command = [
                *world.cli, "gate", "run", str(source), "--licensee", world.licensee,
                "--purpose", "train-ai", "--mode", "opt-out", "--out", str(out),
                "--workers", str(workers), "--shard-mb", str(args.shard_mb),
            ]  # fmt: skip
            took = seconds[(workers, source)] = timed(command, world, core=None)[0]
            emit(
                "gate_scale_run",
                workers=workers,
                items=len(records) if source == corpus else len(records) // 2,
                mb=round(size, 1),
                seconds=round(took, 2),
                mb_s=round(size / took, 2),
            )
    if cores > 1:
        same = all(
            filecmp.cmp(
                world.root / "out-1-corpus" / name, world.root / f"out-{cores}-corpus" / name, False
            )
            for name in ("admitted.jsonl", "rejected.jsonl", "royalties.csv")
        )
        whole = seconds[(1, corpus)] / seconds[(cores, corpus)]

        def steady(workers: int) -> float:
            return (mb - half_mb) / (seconds[(workers, corpus)] - seconds[(workers, half)])

        emit(
            "gate_scale",
            engine="local",
            workers=cores,
            shard_mb=args.shard_mb,
            speedup=round(whole, 2),
            efficiency_per_worker=round(whole / cores, 2),
            steady_mb_s={"1": round(steady(1), 2), str(cores): round(steady(cores), 2)},
            steady_efficiency_per_worker=round(steady(cores) / steady(1) / cores, 2),
            goal_efficiency=0.8,
            outputs_equal=same,
        )


if __name__ == "__main__":
    main()
