"""The fixed cost of one ``consentry`` process, beside ``python -c pass`` in the same run.

    .venv/bin/python bench/startup.py [--runs 10] [--core N]

Against bench/cli.py's small registry (a few registered works, its match index saved,
every kernel's machine code on disk after a first, untimed run of each command), times
start to exit, ``--runs`` times in turns with ``python -c pass``:

  startup   per command (``consentry --help``, ``consentry gate run --help``, and
            ``consentry gate run --workers 1`` over a corpus of one record): the median
            and the fastest wall time and the median processor time, beside the median
            wall time of ``python -c pass``, and the ratio of the medians. Issue 24's
            goal for the gate run: under 0.5 s.

With ``--core`` every process runs pinned to that core, as bench/throughput.py runs its.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from cli import World

BASELINE = [sys.executable, "-c", "pass"]
GOAL_GATE_S = 0.5


def timed(command: list[str], world: World, core: int | None) -> tuple[float, float]:
    """Seconds ``command`` took, start to exit, and the processor seconds it used (on a
    shared machine the steadier of the two); a failure ends the bench."""

    def pin() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})

    used = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        command, env=world.env, cwd=world.root, capture_output=True, text=True, check=False,
        preexec_fn=pin,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    return elapsed, _children_cpu() - used


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Timed runs per command.")
    parser.add_argument("--core", type=int, default=None, help="Pin every process to a core.")
    args = parser.parse_args()
    world = World(Path(tempfile.mkdtemp(prefix="consentry-startup-")))
    world.set_up(1)  # a corpus of one record: a registered text, whole
    outs = (str(world.root / f"out-{n}") for n in itertools.count())
    gate = ["gate", "run", str(world.corpus), "--licensee", world.licensee]
    gate += ["--purpose", "train-ai", "--mode", "opt-out", "--workers", "1"]
    commands: dict[str, Callable[[], list[str]]] = {
        "consentry --help": lambda: [*world.cli, "--help"],
        "consentry gate run --help": lambda: [*world.cli, "gate", "run", "--help"],
        "consentry gate run, one record": lambda: [*world.cli, *gate, "--out", next(outs)],
    }
    for label, command in commands.items():
        # Once untimed: each start then finds the bytecode and machine code it needs.
        timed(BASELINE, world, args.core)
        timed(command(), world, args.core)
        ours, cpu, baseline = [], [], []
        for _ in range(args.runs):  # in turns: a drifting machine moves both alike
            baseline.append(timed(BASELINE, world, args.core)[0])
            wall, used = timed(command(), world, args.core)
            ours.append(wall)
            cpu.append(used)
        median, base = statistics.median(ours), statistics.median(baseline)
        goal = {"goal_s": GOAL_GATE_S} if label.endswith("one record") else {}
        emit(
            "startup",
            command=label,
            runs=args.runs,
            median_s=round(median, 3),
            fastest_s=round(min(ours), 3),
            cpu_median_s=round(statistics.median(cpu), 3),
            baseline="python -c pass",
            baseline_median_s=round(base, 3),
            ratio=round(median / base, 1),
            **goal,
        )


if __name__ == "__main__":
    main()
