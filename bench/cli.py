"""Command-line start-up and first-run times, each against a baseline in the same run.

    .venv/bin/python bench/cli.py [--runs 10] [--items 300] [--workers N]

Drives the installed entry point (``consentry`` beside this interpreter, else
``python -m consentry``) as a user does, against a small registry made for the run in a
temporary ``CONSENTRY_HOME`` (``consentry init``, an owner, a licensee, a few registered
works; keys in a temporary ``CONSENTRY_KEYS``). Prints one JSON line per figure:

  cli_startup      per command (``--help``, ``owner list``, ``log key``, ``terms show
                   OWNER``): the median wall time of ``--runs`` runs, beside the median of
                   ``python -c 'import typer, rich'`` taken in turns with it, and their
                   ratio (goal: at most 3)
  gate_first_run   ``consentry gate run`` over a generated JSON Lines corpus of
                   ``--items`` records (prose and code, some copying registered works) on
                   a fresh install: a new, empty numba cache (``NUMBA_CACHE_DIR``), the
                   warm-up ``make run`` performs, then a first and a second run; their
                   wall times and first/second (goal: at most 3)
  gate_unwarmed    the same first run on another empty cache with no warm-up before it,
                   and its ratio to the warmed second run

The registry's match index is saved while setting up (a ``consentry check``), so the
runs differ only in what machine code they find ready, not in building the index. Every
command runs with Python's bytecode cached (in the temporary folder), as an installed
package has it, whatever ``PYTHONDONTWRITEBYTECODE`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit

STDLIB = Path(os.__file__).parent
WARM_UP = "from consentry.warmup import warm_up; warm_up()"  # the Makefile's line
BASELINE = [sys.executable, "-c", "import typer, rich"]
WORDS = ["consent", "archive", "river", "lantern", "harbour", "quiet", "meadow", "ledger"]
WORDS += ["copper", "window", "orchard", "paper", "engine", "silver", "beacon", "garden"]
WORDS += ["measure", "fabric", "motion", "letter", "circle", "hollow", "marble", "bridge"]


def entry_point() -> list[str]:
    """The installed ``consentry`` script, as a user runs it."""
    script = Path(sys.executable).with_name("consentry")
    return [str(script)] if script.exists() else [sys.executable, "-m", "consentry"]


def prose(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        length = rng.randrange(6, 18)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(length)).capitalize() + ".")
        words -= length
    return " ".join(sentences)


def modules(count: int, skip: int = 0) -> list[tuple[str, str]]:
    """Standard-library modules of 3-30 KB: real code, the same on every run."""
    found = []
    for path in sorted(STDLIB.glob("*.py")):
        text = path.read_text("utf-8", errors="replace")
        if 3000 <= len(text) <= 30000:
            found.append((path.name, text))
    return found[skip : skip + count]


class World:
    """A registry in a temporary home, and the environment the CLI runs in."""

    owner: str
    licensee: str
    corpus: Path

    def __init__(self, root: Path) -> None:
        self.root = root
        left_out = {"CONSENTRY_DATABASE_URL", "PYTHONDONTWRITEBYTECODE"}
        base = {k: v for k, v in os.environ.items() if k not in left_out}
        self.env = {
            **base,
            "CONSENTRY_HOME": str(root / "home"),
            "CONSENTRY_KEYS": str(root / "keys"),
            # Bytecode kept, as an installed package has it (in this folder, not beside
            # the sources): with PYTHONDONTWRITEBYTECODE set, every start would compile
            # this project's modules again, where the libraries come with theirs.
            "PYTHONPYCACHEPREFIX": str(root / "bytecode"),
        }
        self.cli = entry_point()

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        """``consentry ARGS``'s output; an exit status not in ``ok`` ends the bench."""
        done = subprocess.run(
            [*self.cli, *args], env=self.env, cwd=self.root, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if done.returncode not in ok:
            raise SystemExit(f"consentry {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def created(self, *args: str) -> str:
        """The id of what ``consentry ARGS --json`` created."""
        return str(json.loads(self.run(*args, "--json").splitlines()[0])["id"])

    def set_up(self, items: int) -> None:
        rng = random.Random(18)
        self.run("init")
        self.owner = self.created("owner", "create", "Bench owner")
        self.licensee = self.created("licensee", "create", "Bench lab")
        texts = [prose(rng, rng.randrange(500, 1000)) for _ in range(8)]
        code = modules(8)
        works = self.root / "works"
        works.mkdir()
        for number, text in enumerate(texts):
            (works / f"essay{number}.txt").write_text(text)
        for name, text in code:
            (works / name).write_text(text)
        self.run("work", "register", str(works), "--owner", self.owner)
        unrelated_code = modules(8, skip=8)
        self.corpus = self.root / "corpus.jsonl"
        with self.corpus.open("w") as out:
            for i in range(items):
                record: dict[str, object] = {"id": f"item{i}"}
                match i % 6:
                    case 0:  # a registered text, whole
                        record["text"] = texts[i % len(texts)]
                    case 1:  # an excerpt of one inside other prose
                        text = texts[i % len(texts)]
                        start = rng.randrange(len(text) // 2)
                        record["text"] = f"{prose(rng, 200)} {text[start : start + 1200]}"
                    case 2:  # a registered module
                        name, source = code[i % len(code)]
                        record.update(text=source, metadata={"path": f"src/{name}"})
                    case 3:
                        record["text"] = prose(rng, rng.randrange(200, 900))
                    case 4:
                        name, source = unrelated_code[i % len(unrelated_code)]
                        record.update(text=source, metadata={"path": f"lib/{name}"})
                    case _:
                        record["text"] = prose(rng, 400).replace("a", "á")
                out.write(json.dumps(record) + "\n")
        sample = self.root / "sample.txt"
        sample.write_text(texts[0][:2000])
        # Builds and saves the registry's match index, as any first command would (exit
        # status 1: the sample is a registered work's, which blocks publishing it).
        self.run("check", str(sample), ok=(0, 1))


def wall(command: list[str], *, env: dict[str, str], cwd: Path) -> float:
    """Seconds ``command`` took, start to exit; a failure ends the bench."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    return elapsed


def bench_startup(world: World, runs: int) -> None:
    commands = {
        "consentry --help": ["--help"],
        "consentry owner list": ["owner", "list"],
        "consentry log key": ["log", "key"],
        "consentry terms show OWNER": ["terms", "show", world.owner],
    }
    for label, args in commands.items():
        # Once untimed: each start-up then finds the bytecode of what it imports.
        wall(BASELINE, env=world.env, cwd=world.root)
        wall([*world.cli, *args], env=world.env, cwd=world.root)
        ours, baseline = [], []
        for _ in range(runs):  # in turns: a drifting machine moves both alike
            baseline.append(wall(BASELINE, env=world.env, cwd=world.root))
            ours.append(wall([*world.cli, *args], env=world.env, cwd=world.root))
        median, base = statistics.median(ours), statistics.median(baseline)
        emit(
            "cli_startup",
            command=label,
            runs=runs,
            median_s=round(median, 3),
            baseline="python -c 'import typer, rich'",
            baseline_median_s=round(base, 3),
            ratio=round(median / base, 2),
            goal=3,
        )


def gate_run(world: World, cache: Path, out: str, workers: int) -> float:
    env = {**world.env, "NUMBA_CACHE_DIR": str(cache)}
    args = [
        "gate", "run", str(world.corpus), "--licensee", world.licensee,
        "--purpose", "train-ai", "--out", str(world.root / out), "--workers", str(workers),
    ]  # fmt: skip
    return wall([*world.cli, *args], env=env, cwd=world.root)


def bench_first_run(world: World, items: int, workers: int) -> None:
    fresh = world.root / "numba-cache-warmed"
    fresh.mkdir()
    env = {**world.env, "NUMBA_CACHE_DIR": str(fresh)}
    warm_up = wall([sys.executable, "-c", WARM_UP], env=env, cwd=world.root)
    first = gate_run(world, fresh, "out-first", workers)
    second = gate_run(world, fresh, "out-second", workers)
    emit(
        "gate_first_run",
        items=items,
        workers=workers,
        warm_up_s=round(warm_up, 2),
        first_s=round(first, 2),
        second_s=round(second, 2),
        ratio=round(first / second, 2),
        goal=3,
    )
    bare = world.root / "numba-cache-unwarmed"
    bare.mkdir()
    unwarmed = gate_run(world, bare, "out-unwarmed", workers)
    emit(
        "gate_unwarmed",
        items=items,
        workers=workers,
        first_s=round(unwarmed, 2),
        second_s=round(second, 2),
        ratio=round(unwarmed / second, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs per start-up figure.")
    parser.add_argument("--items", type=int, default=300, help="Records in the gate's corpus.")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="The gate's --workers."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consentry-cli-bench-") as root:
        world = World(Path(root))
        world.set_up(args.items)
        bench_startup(world, args.runs)
        bench_first_run(world, args.items, args.workers)


if __name__ == "__main__":
    main()
