"""One timed job of ``bench/throughput.py``, in a process of its own on the core the
bench pins it to: ``python bench/_throughput_jobs.py JOB CORPUS [ARGS]``. Prints one
JSON object: the seconds the job's loop took (start-up and set-up excluded), the bytes
of content it went through, and how many records it let in.

Each baseline is what a lab would write or reach for, written plainly: parsing JSON
Lines, an exact-digest filter, zstd over the file, and MinHash LSH filters (datasketch,
rensa) holding every registered work.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _lines(corpus: Path) -> Iterator[bytes]:
    with corpus.open("rb") as stream:
        yield from stream


def _works(folder: Path) -> list[str]:
    return [p.read_text("utf-8") for p in sorted(folder.rglob("*")) if p.is_file()]


def _result(seconds: float, content: int, admitted: int, **extra: Any) -> None:
    print(json.dumps({"seconds": seconds, "bytes": content, "admitted": admitted, **extra}))


def parse_json(corpus: Path) -> None:
    """Reading the corpus and parsing each record: the floor of any filter of it."""
    started, content, count = time.perf_counter(), 0, 0
    for line in _lines(corpus):
        record = json.loads(line)
        content += len(record["text"].encode())
        count += 1
    _result(time.perf_counter() - started, content, count)


def exact_digest(corpus: Path, works: Path, out: Path) -> None:
    """A filter that drops exact copies of registered works: SHA-256 of each record's
    text against a set, admitted records written back as JSON Lines."""
    registered = {hashlib.sha256(t.encode()).digest() for t in _works(works)}
    started, content, admitted = time.perf_counter(), 0, 0
    with out.open("w", encoding="utf-8") as written:
        for line in _lines(corpus):
            record = json.loads(line)
            text = record["text"].encode()
            content += len(text)
            if hashlib.sha256(text).digest() not in registered:
                written.write(json.dumps(record, ensure_ascii=False) + "\n")
                admitted += 1
    _result(time.perf_counter() - started, content, admitted)


def zstd(corpus: Path, out: Path) -> None:
    """zstd level 3 over the corpus file, streamed: what moving the bytes costs."""
    import zstandard

    size = corpus.stat().st_size
    started = time.perf_counter()
    with corpus.open("rb") as source, out.open("wb") as target:
        zstandard.ZstdCompressor(level=3).copy_stream(source, target)
    _result(time.perf_counter() - started, size, 0)


def _grams(text: str) -> list[str]:
    words = text.lower().split()
    return [" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))]


def _minhash_filter(
    corpus: Path, works: Path, limit: int, build: Callable[[list[str]], Callable[[str], bool]]
) -> None:
    matches = build(_works(works))
    started, content, admitted = time.perf_counter(), 0, 0
    for number, line in enumerate(_lines(corpus)):
        if number >= limit:
            break
        record = json.loads(line)
        content += len(record["text"].encode())
        if not matches(record["text"]):
            admitted += 1
    _result(time.perf_counter() - started, content, admitted)


def datasketch(corpus: Path, works: Path, limit: int) -> None:
    """datasketch MinHashLSH (threshold 0.8, 128 permutations, word 5-grams)."""
    from datasketch import MinHash, MinHashLSH

    def build(texts: list[str]) -> Callable[[str], bool]:
        def sketch(text: str) -> MinHash:
            minhash = MinHash(num_perm=128)
            minhash.update_batch([g.encode() for g in set(_grams(text))])
            return minhash

        lsh = MinHashLSH(threshold=0.8, num_perm=128)
        for number, text in enumerate(texts):
            lsh.insert(str(number), sketch(text))
        return lambda text: bool(lsh.query(sketch(text)))

    _minhash_filter(corpus, works, limit, build)


def rensa(corpus: Path, works: Path, limit: int) -> None:
    """rensa's RMinHash LSH, the same shingles, permutations and threshold."""
    from rensa import RMinHash, RMinHashLSH

    def build(texts: list[str]) -> Callable[[str], bool]:
        def sketch(text: str) -> RMinHash:
            minhash = RMinHash(num_perm=128, seed=42)
            minhash.update(list(set(_grams(text))))
            return minhash

        lsh = RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16)
        for number, text in enumerate(texts):
            lsh.insert(number, sketch(text))
        return lambda text: bool(lsh.query(sketch(text)))

    _minhash_filter(corpus, works, limit, build)


@contextmanager
def _planned_gate(licensee: str) -> Iterator[Any]:
    """The gate ``gate run --mode opt-out`` plans for ``licensee``, its index already
    saved, the kernels loaded."""
    from consentry import app
    from consentry.clock import utc_now
    from consentry.gate import GateMode
    from consentry.terms import Category
    from consentry.warmup import warm_up

    with app.Workspace.from_env() as ws:
        planned = app.plan_gate(
            ws,
            licensee_id=licensee,
            purpose=Category.TRAIN_AI,
            policy=app.gate_policy(GateMode.OPT_OUT),
            save_index=False,
        )
        gate = planned.gate_for(utc_now())
        warm_up()
        yield gate


def gate_filter(corpus: Path, licensee: str) -> None:
    """consentry's ``Gate.filter`` (the API a pipeline calls) over parsed records, the
    gate planned as ``gate run`` plans it, its index already saved."""
    records = [json.loads(line) for line in _lines(corpus)]
    content = sum(len(r["text"].encode()) for r in records)
    with _planned_gate(licensee) as gate:
        started = time.perf_counter()
        admitted = sum(1 for _ in gate.filter(records))
        _result(time.perf_counter() - started, content, admitted)


def gate_find(corpus: Path, licensee: str) -> None:
    """The finding alone: each chunk's fingerprints and index lookups (``Gate.find_many``)
    over items already parsed, with no consent, decision or output: the ceiling of any
    path through the gate that keeps today's kernels."""
    from consentry.gate.gate import CHUNK
    from consentry.gate.item import item_from_mapping

    items = [item_from_mapping(json.loads(line), source="bench") for line in _lines(corpus)]
    content = sum(len((i.text or "").encode()) for i in items)
    chunks = [items[at : at + CHUNK] for at in range(0, len(items), CHUNK)]
    with _planned_gate(licensee) as gate:
        started = time.perf_counter()
        matched = sum(1 for chunk in chunks for found in gate.find_many(chunk) if found)
        _result(time.perf_counter() - started, content, len(items) - matched)


def shard_cost(corpus: Path, licensee: str, out: Path) -> None:
    """What a small shard costs a worker that has decided one already (a process pool
    or Ray worker is long-lived: the plan, index and kernels are loaded once): the
    seconds to decide a one-record shard into its part, per shard."""
    from consentry import app
    from consentry.app.shard_deciding import PlannedInWorker, ShardJob
    from consentry.gate import GateMode
    from consentry.gate.shards import plan_shards
    from consentry.ids import IdKind, new_id
    from consentry.terms import Category

    policy = app.gate_policy(GateMode.OPT_OUT)
    with app.Workspace.from_env() as ws:
        planned = app.plan_gate(
            ws, licensee_id=licensee, purpose=Category.TRAIN_AI, policy=policy, save_index=False
        )
        run_id = new_id(IdKind.RUN)
        planned.start(run_id)
        job = ShardJob(corpus, out, run_id, licensee, Category.TRAIN_AI, policy, 200, False, 1000)
        decide = PlannedInWorker(job, ws.settings)
        (shard,) = plan_shards(corpus, target_bytes=1 << 30)
        decide(shard)  # the worker's first shard: plans the gate
        rounds = 20
        started = time.perf_counter()
        for _ in range(rounds):
            decide(shard)
        _result((time.perf_counter() - started) / rounds, 0, 1)


JOBS: dict[str, Callable[..., None]] = {
    "shard": shard_cost,
    "json": parse_json,
    "digest": exact_digest,
    "zstd": zstd,
    "datasketch": datasketch,
    "rensa": rensa,
    "api": gate_filter,
    "find": gate_find,
}


def main() -> None:
    job, *args = sys.argv[1:]
    JOBS[job](*[int(a) if a.isdigit() else Path(a) if "/" in a else a for a in args])


if __name__ == "__main__":
    main()
