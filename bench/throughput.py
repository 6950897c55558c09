"""Gate throughput per core through the CLI and the API, beside what a lab would reach
for, over one corpus in the same run.

    .venv/bin/python bench/throughput.py [--works 1000] [--items 10000] [--sample 1000]

Registers real files from this machine (man pages, standard-library modules) with the
CLI, builds bench/gate.py's corpus of unrelated documents and perturbed copies as JSON
Lines, and runs every job in a process of its own pinned to one core (``--core``):

  gate_cli        ``consentry gate run --mode opt-out --workers 1`` over the corpus, start to exit
                  (end to end) and without the fixed cost of a process (steady), and
                  that fixed cost: the same command over the corpus's first 32 records
                  (a process loads the kernels it calls as it first calls them: so
                  many records call each, and take milliseconds to decide)
  shard_fixed     a small shard's cost to a long-lived worker (a process pool's or a Ray
                  worker's, which loads the plan, index and kernels once): a
                  one-record shard decided into its part, after a first
  gate_api        ``Gate.filter`` over the parsed records, the gate planned as a run
                  plans it (bench/_throughput_jobs.py ``api``)
  gate_find       the finding alone (fingerprints and index lookups over parsed items,
                  no consent, decisions or outputs): the ceiling of any path through
                  the gate with today's kernels
  baseline        per baseline, its MB/s of content per core and ours (steady, CLI)
                  over it: parsing the JSON Lines, an exact-digest filter, zstd over
                  the file, datasketch and rensa MinHash LSH filters holding every
                  registered work (those two over ``--sample`` records)

Goals (issue 24): 150 MB/s per core steady through the CLI, a fixed cost under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from cli import World
from consentry.fingerprint import normalize_text, text_digest
from gate import build_corpus, man_pages, modules

JOBS = Path(__file__).resolve().parent / "_throughput_jobs.py"
# Records of the corpus that the fixed cost of a process is measured over.
_FEW = 32


def pinned(core: int) -> Any:
    return lambda: os.sched_setaffinity(0, {core})


def timed(command: list[str], world: World, core: int | None) -> tuple[float, str]:
    """Seconds ``command`` took on ``core`` (None: on any), start to exit, and what it
    printed."""
    started = time.perf_counter()
    done = subprocess.run(
        command, env=world.env, cwd=world.root, capture_output=True, text=True, check=False,
        preexec_fn=None if core is None else pinned(core),
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    return elapsed, done.stdout


def job(world: World, core: int, name: str, *args: object) -> dict[str, Any]:
    _, printed = timed([sys.executable, str(JOBS), name, *map(str, args)], world, core)
    result: dict[str, Any] = json.loads(printed.splitlines()[-1])
    return result


def register(world: World, count: int) -> tuple[Path, list[tuple[str, str, str]], list[str]]:
    """The registered works' folder, (name, name, text) per work, and unrelated texts."""
    pages, code = man_pages(count), modules(count)
    half = count // 2
    registered = pages[:half] + code[:half]
    digests = {text_digest(normalize_text(t)) for _, t in registered}
    unrelated = [
        t for _, t in pages[half:] + code[half:] if text_digest(normalize_text(t)) not in digests
    ]
    folder = world.root / "works"
    works = []
    for name, text in registered:
        # A man page as text (its .gz name would say gzip); a module at its path.
        path = folder / (name.removesuffix(".gz") + ".txt" if name.endswith(".gz") else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        works.append((name, name, text))
    world.run("work", "register", str(folder), "--owner", world.owner)
    return folder, works, unrelated


def bench_world(
    name: str, works: int, items: int, seed: int
) -> tuple[World, Path, list[dict[str, Any]]]:
    """A registry in a temporary home with an owner's ``works`` registered and a lab,
    its match index saved (as a first command saves it), the folder of the works, and
    bench/gate.py's corpus of ``items`` records."""
    world = World(Path(tempfile.mkdtemp(prefix=f"consentry-{name}-")))
    world.run("init")
    world.owner = world.created("owner", "create", "Bench owner")
    world.licensee = world.created("licensee", "create", "Bench lab")
    folder, registered, unrelated = register(world, works)
    planted = build_corpus(random.Random(seed), items, registered, unrelated)
    records = [{"id": p.item.id, "text": p.item.text, "metadata": p.item.metadata} for p in planted]
    (world.root / "sample.txt").write_text(registered[0][2][:2000])
    world.run("check", str(world.root / "sample.txt"), ok=(0, 1))
    return world, folder, records


def write_corpus(path: Path, records: list[dict[str, Any]]) -> int:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return sum(len(r["text"].encode()) for r in records)


def gate_run(world: World, core: int, corpus: Path, out: str) -> float:
    args = [
        "gate", "run", str(corpus), "--licensee", world.licensee, "--purpose", "train-ai",
        "--mode", "opt-out", "--out", str(world.root / out), "--workers", "1",
    ]  # fmt: skip
    return timed([*world.cli, *args], world, core)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument(
        "--sample", type=int, default=1000, help="Records the MinHash filters take."
    )
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    world, folder, records = bench_world("throughput", args.works, args.items, args.seed)
    corpus, tiny = world.root / "corpus.jsonl", world.root / "tiny.jsonl"
    content = write_corpus(corpus, records)
    tiny_mb = write_corpus(tiny, records[:_FEW]) / 1e6
    one = world.root / "one.jsonl"
    write_corpus(one, records[:1])
    mb = content / 1e6
    gate_run(world, args.core, tiny, "out-warm")

    fixed = gate_run(world, args.core, tiny, "out-tiny")
    whole = gate_run(world, args.core, corpus, "out-corpus")
    summary = json.loads((world.root / "out-corpus" / "summary.json").read_text())
    steady = (mb - tiny_mb) / max(whole - fixed, 1e-9)
    emit(
        "gate_cli",
        items=args.items,
        works=sum(1 for p in folder.rglob("*") if p.is_file()),
        mb=round(mb, 1),
        corpus_file_mb=round(corpus.stat().st_size / 1e6, 1),
        seconds=round(whole, 2),
        e2e_mb_s_per_core=round(mb / whole, 2),
        steady_mb_s_per_core=round(steady, 2),
        fixed_s=round(fixed, 2),
        admitted=summary["decisions"]["admitted"],
        goal_steady_mb_s=150,
        goal_fixed_s=0.5,
    )
    shard = job(world, args.core, "shard", one, world.licensee, world.root / "out-shard")
    emit("shard_fixed", seconds_per_small_shard=round(shard["seconds"], 3), goal_s=0.5)
    api = job(world, args.core, "api", corpus, world.licensee)
    emit(
        "gate_api",
        mb=round(api["bytes"] / 1e6, 1),
        mb_s_per_core=round(api["bytes"] / 1e6 / api["seconds"], 2),
        admitted=api["admitted"],
    )
    found = job(world, args.core, "find", corpus, world.licensee)
    emit(
        "gate_find",
        mb=round(found["bytes"] / 1e6, 1),
        mb_s_per_core=round(found["bytes"] / 1e6 / found["seconds"], 2),
        cli_steady_over_it=round(steady / (found["bytes"] / 1e6 / found["seconds"]), 2),
    )
    baselines = {
        "json.loads": job(world, args.core, "json", corpus),
        "exact-digest filter": job(
            world, args.core, "digest", corpus, folder, world.root / "digest.jsonl"
        ),
        "zstd -3": job(world, args.core, "zstd", corpus, world.root / "corpus.jsonl.zst"),
        "datasketch MinHashLSH": job(world, args.core, "datasketch", corpus, folder, args.sample),
        "rensa RMinHashLSH": job(world, args.core, "rensa", corpus, folder, args.sample),
    }
    for name, result in baselines.items():
        rate = result["bytes"] / 1e6 / result["seconds"]
        emit(
            "baseline",
            name=name,
            mb=round(result["bytes"] / 1e6, 1),
            mb_s_per_core=round(rate, 2),
            admitted=result["admitted"],
            ours_steady_over_it=round(steady / rate, 2),
        )


if __name__ == "__main__":
    main()
