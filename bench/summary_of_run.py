"""The public summary of a bench gate run, and whether its numbers reconcile.

    .venv/bin/python bench/summary_of_run.py [--items 3000] [--domains 400] [--workers N]

Makes a registry in a temporary ``CONSENTRY_HOME`` (an owner, a licensee holding a
grant for one registered work, another work under terms that allow training), a JSON
Lines corpus of ``--items`` records read from ``--domains`` sites of uneven size (some
under an open licence, some the lab's own, some carrying a reservation of rights in
their headers), runs ``consentry gate run --mode opt-out`` over it through the
installed entry point, then ``consentry summary --json`` on the run's manifest. Prints
one JSON line (figure ``summary_of_run``): every figure the summary states, checked
against the signed manifest (counts, admitted items and bytes by basis, reservations by
signal) and against the run's own ``admitted.jsonl`` (the crawled domains, recounted
from the admitted records' URLs, and the top tenth of them by bytes);
``figures_equal`` is true when all agree, and ``summary_s`` is how long the summary
took.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit

STDLIB = Path(os.__file__).parent
# Prose from modules no one registers here, so that only the planted copies match.
WORDS = (STDLIB / "argparse.py").read_text().split() + (STDLIB / "shutil.py").read_text().split()


def entry_point() -> list[str]:
    """The installed ``consentry`` script, as a user runs it."""
    script = Path(sys.executable).with_name("consentry")
    return [str(script)] if script.exists() else [sys.executable, "-m", "consentry"]


class World:
    """A registry in a temporary home, and the environment the CLI runs in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        base = {k: v for k, v in os.environ.items() if k != "CONSENTRY_DATABASE_URL"}
        self.env = {
            **base,
            "CONSENTRY_HOME": str(root / "home"),
            "CONSENTRY_KEYS": str(root / "keys"),
        }
        self.cli = entry_point()

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*self.cli, *args], env=self.env, cwd=self.root, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"consentry {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def created(self, *args: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(self.run(*args, "--json").splitlines()[0])
        return record


def prose(rng: random.Random, words: int) -> str:
    start = rng.randrange(len(WORDS) - words)
    return f"{rng.random():.12f} " + " ".join(WORDS[start : start + words])


def set_up(world: World, items: int, domains: int) -> tuple[str, Path]:
    """The registry, the licensee's grant, and the corpus; the licensee and corpus."""
    rng = random.Random(53)
    world.run("init")
    owner = world.created("owner", "create", "Bench owner")["id"]
    lab = world.created("licensee", "create", "Bench lab")["id"]
    granted, termed = (STDLIB / "textwrap.py").read_text(), (STDLIB / "string.py").read_text()
    for name, text in (("granted", granted), ("termed", termed)):
        (world.root / name).mkdir()
        (world.root / name / f"{name}.txt").write_text(text)
    terms = world.root / "terms.json"
    terms.write_text(json.dumps({"version": 1, "categories": {"train-ai": "allow"}}))
    work = world.created("work", "register", str(world.root / "granted"), "--owner", owner)
    world.run(
        "work", "register", str(world.root / "termed"), "--owner", owner, "--terms", str(terms)
    )
    request = world.created(
        "license", "request", "--licensee", lab, "--work", work["id"], "--purpose", "train-ai",
        "--offer", "0.01 EUR", "--per", "1k-tokens",
    )  # fmt: skip
    world.run("license", "grant", request["id"], "--owner", owner)
    # Sites of uneven size, as a crawl's are: a few large, many small.
    sites = [f"site{n}.example" for n in range(domains)]
    weights = [1 / (n + 1) for n in range(domains)]
    corpus = world.root / "corpus.jsonl"
    with corpus.open("w") as out:
        for i in range(items):
            site = rng.choices(sites, weights)[0]
            metadata: dict[str, Any] = {"url": f"https://{'www.' if i % 7 == 0 else ''}{site}/{i}"}
            text = prose(rng, rng.randrange(20, 300))
            match i % 20:
                case 0:
                    text = granted
                case 1:
                    text = termed
                case 2 | 3:
                    metadata["license"] = "CC0-1.0"
                case 4:
                    metadata = {"source": "ours"}
                case 5:
                    metadata["http_headers"] = {"X-Robots-Tag": "noai"}
                case 6:
                    metadata["http_headers"] = {"tdm-reservation": "1"}
                case _:
                    pass
            out.write(json.dumps({"id": f"item{i}", "text": text, "metadata": metadata}) + "\n")
    return lab, corpus


def _section(summary: dict[str, Any], number: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in summary["sections"] if s["section"] == number)
    return found


def reconcile(summary: dict[str, Any], manifest: dict[str, Any], run: Path) -> dict[str, bool]:
    """Each of the summary's figures beside the manifest's (and the run's own records)."""
    general, sources = _section(summary, "1.3")["computed"], manifest["sources"]
    by_basis, bytes_by_basis = sources["admitted_by_basis"], sources["admitted_bytes_by_basis"]
    checks = {
        "items": general["items"]["value"] == manifest["counts"]["items"],
        "admitted": general["admitted_items"]["value"] == manifest["counts"]["admitted"],
        "rejected": general["rejected_items"]["value"] == manifest["counts"]["rejected"],
        "admitted_bytes": general["admitted_bytes"]["value"] == sum(bytes_by_basis.values()),
    }
    for number, key, basis in (
        ("2.1", "open_licence", "open-licence"),
        ("2.2.1", "grant", "grant"),
        ("2.2.1", "terms", "terms"),
        ("2.3", "no_reservation", "opt-out"),
        ("2.6", "own_data", "own-data"),
    ):
        computed = _section(summary, number)["computed"]
        checks[f"{basis}_items"] = computed[f"{key}_items"]["value"] == by_basis.get(basis, 0)
        checks[f"{basis}_bytes"] = computed[f"{key}_bytes"]["value"] == bytes_by_basis.get(basis, 0)
    # The crawled domains, recounted from the admitted records themselves.
    sizes: Counter[str] = Counter()
    for line in (run / "admitted.jsonl").read_text().splitlines():
        record = json.loads(line)
        url = record.get("metadata", {}).get("url")
        if url:
            host = urlsplit(url).hostname or ""
            sizes[host.removeprefix("www.")] += len(record["text"].encode())
    domains = _section(summary, "2.3")["domains"]
    ranked = sorted(sizes.items(), key=lambda p: (-p[1], p[0]))[: math.ceil(len(sizes) / 10)]
    checks["domain_total"] = domains["total"] == len(sizes) == sources["domains"]["count"]
    checks["top_domains"] = [(d["domain"], d["bytes"]) for d in domains["listed"]] == ranked
    signals = {s["signal"]: s for s in _section(summary, "3.1")["signals"]}
    for kind in ("honoured", "reported"):
        stated = {n: s[kind]["value"] for n, s in signals.items() if s[kind] and s[kind]["value"]}
        recorded = {n: v for n, v in manifest["reservations"][kind].items() if v}
        checks[f"reservations_{kind}"] = stated == recorded
    source = summary["sources"][0]
    checks["source"] = (
        source["run_id"] == manifest["run_id"] and source["counts"] == manifest["counts"]
    )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000, help="Records in the gate's corpus.")
    parser.add_argument("--domains", type=int, default=400, help="Sites the records come from.")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="The gate's --workers."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consentry-summary-bench-") as root:
        world = World(Path(root))
        lab, corpus = set_up(world, args.items, args.domains)
        run = world.root / "run"
        world.run(
            "gate", "run", str(corpus), "--licensee", lab, "--purpose", "train-ai", "--out",
            str(run), "--mode", "opt-out", "--own-source", "ours", "--workers", str(args.workers),
        )  # fmt: skip
        started = time.perf_counter()
        summary = json.loads(world.run("summary", str(run), "--model", "bench-model", "--json"))
        elapsed = time.perf_counter() - started
        manifest = json.loads((run / "manifest.json").read_text())["manifest"]
        checks = reconcile(summary, manifest, run)
        emit(
            "summary_of_run",
            items=manifest["counts"]["items"],
            admitted=manifest["counts"]["admitted"],
            domains=_section(summary, "2.3")["domains"]["total"],
            listed=len(_section(summary, "2.3")["domains"]["listed"]),
            summary_s=round(elapsed, 2),
            figures_equal=all(checks.values()),
            unequal=sorted(name for name, equal in checks.items() if not equal),
            checked=len(checks),
        )


if __name__ == "__main__":
    main()
