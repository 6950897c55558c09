"""Registration throughput, memory, and MinHash speed against a datasketch baseline.

    python bench/register.py [--files N] [--skip-10k]

Prints one JSON line per figure:
  minhash           consentry (one-permutation MinHash) vs datasketch, same texts, MB/s
  register_stdlib   the Python standard library folder: works/s, MB/s, peak memory
  register_10k      10,000 files through the real CLI: peak memory, progress shown
"""

from __future__ import annotations

import argparse
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import PeakMemory, emit
from consentry.crypto import KeyPair
from consentry.fingerprint import (
    MinHashParams,
    minhash_signatures,
    normalize_text,
    shingle_hashes,
)
from consentry.registry import (
    FileProblem,
    PartyKind,
    Registry,
    discover_files,
    fingerprint_files,
)

STDLIB = Path(os.__file__).parent
WORKERS = os.cpu_count() or 1


def stdlib_paths() -> list[Path]:
    """The standard library folder's entries, without third-party site-packages."""
    return sorted(p for p in STDLIB.iterdir() if p.name not in {"site-packages", "__pycache__"})


def bench_minhash(texts: list[str]) -> None:
    import datasketch

    params = MinHashParams()
    normalised = [normalize_text(t) for t in texts]
    size_mb = sum(len(t.encode()) for t in normalised) / 1e6
    started = time.perf_counter()
    minhash_signatures([shingle_hashes(t, params) for t in normalised], params)
    ours = size_mb / (time.perf_counter() - started)

    # The baseline: datasketch's MinHash over the same character shingles, fed in one
    # update_batch per document (its fastest path), on a slice sized to run in seconds.
    sample = normalised[: max(1, len(normalised) // 20)]
    sample_mb = sum(len(t.encode()) for t in sample) / 1e6
    started = time.perf_counter()
    for text in sample:
        sketch = datasketch.MinHash(num_perm=params.permutations, seed=params.seed)
        sketch.update_batch(
            [text[i : i + params.shingle].encode() for i in range(len(text) - params.shingle + 1)]
        )
    baseline = sample_mb / (time.perf_counter() - started)
    emit(
        "minhash",
        permutations=params.permutations,
        shingle_chars=params.shingle,
        consentry_mb_s=round(ours, 1),
        datasketch_mb_s=round(baseline, 2),
        ratio=round(ours / baseline, 1),
    )


def bench_stdlib(home: Path) -> None:
    registry = Registry.create(f"sqlite:///{home / 'registry.db'}")
    key = KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Python Software Foundation", key)
    files = discover_files(stdlib_paths())
    size = sum(f.location.stat().st_size for f in files)
    counts = {"registered": 0, "existing": 0, "disputed": 0, "skipped": 0}
    problems: list[FileProblem] = []

    def fingerprints():  # type: ignore[no-untyped-def]
        for result in fingerprint_files(files, workers=WORKERS):
            if isinstance(result, FileProblem):
                problems.append(result)
            else:
                yield result

    started = time.perf_counter()
    with PeakMemory() as memory:
        for result in registry.works.register(owner.id, key, fingerprints()):
            counts[result.status.value] += 1
    elapsed = time.perf_counter() - started
    counts["skipped"] = len(problems)
    works = counts["registered"] + counts["existing"]
    emit(
        "register_stdlib",
        files=len(files),
        mb=round(size / 1e6, 1),
        workers=WORKERS,
        seconds=round(elapsed, 2),
        works_per_s=round(works / elapsed, 1),
        mb_per_s=round(size / 1e6 / elapsed, 2),
        peak_rss_mb=memory.peak_mb,
        **counts,
        skipped_examples=[p.message for p in problems[:3]],
    )
    registry.close()


def make_corpus(folder: Path, count: int) -> int:
    """``count`` distinct text files cut from the standard library's own source."""
    text = "\n".join(p.read_text("utf-8", errors="replace") for p in sorted(STDLIB.glob("*.py")))
    folder.mkdir(parents=True)
    piece = max(1000, len(text) // count)
    total = 0
    for i in range(count):
        start = (i * piece) % max(1, len(text) - piece)
        body = f"document {i}\n" + text[start : start + piece]
        (folder / f"doc{i:05d}.txt").write_text(body)
        total += len(body)
    return total


def bench_10k(home: Path, count: int) -> None:
    corpus = home / "corpus"
    size = make_corpus(corpus, count)
    env = {**os.environ, "CONSENTRY_HOME": str(home / "cli")}
    consentry = [sys.executable, "-m", "consentry"]
    subprocess.run([*consentry, "init"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*consentry, "owner", "create", "Bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    owner = created.stdout.split('"id": "')[1].split('"')[0]
    # stderr on a pseudo-terminal, as a user sees it, so the progress bar is drawn.
    master, slave = pty.openpty()
    progress = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            progress.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*consentry, "work", "register", str(corpus), "--owner", owner, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    with PeakMemory(process.pid) as memory:
        process.wait()
    elapsed = time.perf_counter() - started
    reader.join(timeout=2)
    os.close(master)
    emit(
        "register_10k",
        files=count,
        mb=round(size / 1e6, 1),
        seconds=round(elapsed, 1),
        works_per_s=round(count / elapsed, 1),
        peak_rss_mb=memory.peak_mb,
        under_500_mb=memory.peak_mb < 500,
        progress_shown=b"fingerprinting" in progress,
        exit_code=process.returncode,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the CLI run")
    parser.add_argument("--skip-10k", action="store_true", help="skip the CLI run")
    args = parser.parse_args()
    texts = [p.read_text("utf-8", errors="replace") for p in sorted(STDLIB.glob("*.py"))]
    bench_minhash(texts)
    home = Path(tempfile.mkdtemp(prefix="consentry-bench-"))
    try:
        bench_stdlib(home)
        if not args.skip_10k:
            bench_10k(home, args.files)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
