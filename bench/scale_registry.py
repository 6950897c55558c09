"""The registry at scale: index memory, registration into PostgreSQL, grant lookups,
snapshot export.

    .venv/bin/python bench/scale_registry.py [--quick] [--url URL] [--works 50000]

Works in schemas of its own in the PostgreSQL database at ``--url``, dropped at the end.
Prints one JSON line per figure, each beside a baseline measured in the same run:

  index_memory      per registered work at 10k, 100k and 1M works (synthetic
                    fingerprints shaped as a 2 KB text's), built a segment at a time:
                    bytes of the index's arrays and RSS growth; ratio to the fingerprint
                    bytes the registry stores per work
  register_pg       works/s into PostgreSQL: COPY against the row-by-row path it
                    replaced, the same catalogue into two fresh schemas
  register_pg_bulk  COPY's rate as the registry grows to ``--works`` (50 owners)
  index_build       building the index from that registry in ten segments (as 1M works
                    are of the default segment) against all at once (the path it
                    replaced): peak RSS growth, seconds
  grant_lookups     consent decisions per second for a licensee holding grants from
                    half of 50 owners: batched (1,000 works a call) against one at a time
  snapshot_export   a lab's snapshot (SQLite) at ``--works`` works and at 1M works (the
                    registry grown with copies of its rows): seconds, MB, peak RSS growth;
                    ratios of the 1M figures to those per work at ``--works``

``--quick``: 10k and 100k only (no index at 1M, no snapshot at 1M): about 2 minutes
on this machine, against about 9 for the whole run.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from sqlalchemy import Engine, text

from _measure import PeakMemory, emit, tree_rss_kib
from consentry.clock import utc_now
from consentry.crypto import KeyPair
from consentry.fingerprint import fingerprint_bytes
from consentry.index import IndexedWork, MatchIndex
from consentry.registry import Actor, FileFingerprint, PartyKind, Registry, Scope, ScopeKind
from consentry.store import migrate, open_engine
from consentry.terms import Category, Terms
from consentry.warmup import warm_up

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEGMENT = 100_000
OWNERS = 50
ALLOW = Terms.from_json({"version": 1, "categories": {"train-ai": "allow"}}, source="bench")


def _rss_mb() -> float:
    gc.collect()
    return tree_rss_kib(os.getpid()) / 1024


def _array_bytes(index: MatchIndex) -> int:
    return sum(
        value.nbytes
        for segment in index.segments
        for field in dataclasses.fields(segment)
        if isinstance(value := getattr(segment, field.name), np.ndarray)
    )


# -- the index at 10k, 100k, 1M works ---------------------------------------------------


def synthetic_works(count: int, seed: int) -> Iterator[IndexedWork]:
    """Works with fingerprints shaped as a 2 KB text's: a 256-value MinHash and 37
    excerpt hashes (what the registry's own text fingerprints hold)."""
    rng = np.random.default_rng(seed)
    block = 10_000
    for first in range(0, count, block):
        n = min(block, count - first)
        mins = rng.integers(0, 2**32, size=(n, 256), dtype=np.uint32)
        hashes = rng.integers(0, 2**63, size=(n, 37), dtype=np.uint64)
        offsets = np.sort(rng.integers(0, 2000, size=(n, 37), dtype=np.uint32), axis=1)
        digests = rng.bytes(32 * n)
        for k in range(n):
            yield IndexedWork(
                work_id=f"wrk_{first + k:026d}",
                owner_id=f"own_{(first + k) % 1000:026d}",
                kind="text",
                digest=digests[32 * k : 32 * k + 32].hex(),
                minhash=mins[k].astype("<u4").tobytes(),
                excerpts=hashes[k].astype("<u8").tobytes() + offsets[k].astype("<u4").tobytes(),
            )


def measure_index(count: int) -> dict[str, Any]:
    """Run in a process of its own, so its RSS growth is its index's alone (the
    kernels loaded first, by a small index built and dropped)."""
    MatchIndex.build(synthetic_works(1000, seed=0))
    before = _rss_mb()
    started = time.perf_counter()
    index, batch, stored = MatchIndex(), [], 0
    for work in synthetic_works(count, seed=count):
        stored += len(work.minhash) + len(work.excerpts) + 32
        batch.append(work)
        if len(batch) == SEGMENT:
            index.add(batch)
            batch = []
    index.add(batch)
    seconds = time.perf_counter() - started
    del batch
    grown = _rss_mb() - before
    return {
        "works": count,
        "segments": len(index.segments),
        "build_s": round(seconds, 1),
        "array_bytes_per_work": round(_array_bytes(index) / count),
        "rss_growth_bytes_per_work": round(grown * 2**20 / count),
        "stored_fingerprint_bytes_per_work": round(stored / count),
    }


def bench_index_memory(sizes: list[int]) -> None:
    for count in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--_index", str(count)],
            check=True,
            capture_output=True,
            text=True,
        )
        found = json.loads(done.stdout.splitlines()[-1])
        emit(
            "index_memory",
            **found,
            ratio_array_to_stored=round(
                found["array_bytes_per_work"] / found["stored_fingerprint_bytes_per_work"], 2
            ),
        )


# -- PostgreSQL -------------------------------------------------------------------------


class Schemas:
    """Fresh schemas of the bench's database, each dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[tuple[str, Engine]] = []

    def registry(self) -> Registry:
        name = f"consentry_bench_{uuid.uuid4().hex[:10]}"
        with open_engine(self.url).begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        engine = open_engine(self.url, connect_args={"options": f"-csearch_path={name}"})
        self.made.append((name, engine))
        migrate(engine)
        return Registry(engine)

    def drop(self) -> None:
        admin = open_engine(self.url)
        for name, engine in self.made:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def texts(first: int, count: int) -> list[FileFingerprint]:
    """``count`` distinct 2 KB documents of made-up words, numbered from ``first``."""
    rng = random.Random(first)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(5000)]
    out = []
    for n in range(first, first + count):
        body = f"document {n}\n" + " ".join(rng.choices(words, k=300))
        out.append(
            FileFingerprint(f"docs/{n:07d}.txt", fingerprint_bytes(f"{n}.txt", body.encode()))
        )
    return out


Owner = tuple[str, KeyPair]


def register_rate(registry: Registry, owner: Owner, files: list[FileFingerprint]) -> float:
    started = time.perf_counter()
    done = sum(1 for _ in registry.works.register(owner[0], owner[1], files))
    assert done == len(files)
    return len(files) / (time.perf_counter() - started)


def rows_path() -> Any:
    """The registration path before COPY: the same code with COPY turned off."""
    from consentry.registry import works

    kept = works.bulk_events

    class Restore:
        def __enter__(self) -> None:
            works.bulk_events = lambda session: False  # type: ignore[assignment]

        def __exit__(self, *exc: object) -> None:
            works.bulk_events = kept

    return Restore()


def owner_of(registry: Registry, name: str) -> Owner:
    key = KeyPair.generate()
    return registry.parties.create(PartyKind.OWNER, name, key).id, key


def bench_register(schemas: Schemas, total: int, compare: int) -> tuple[Registry, list[Owner]]:
    """The registry the later figures read: ``total`` works of ``OWNERS`` owners."""
    per_owner = total // OWNERS
    sample = texts(0, min(compare, per_owner))
    rows = schemas.registry()
    with rows_path():
        before = register_rate(rows, owner_of(rows, "Rows"), sample)
    registry = schemas.registry()
    owners = [owner_of(registry, f"Owner {n}") for n in range(OWNERS)]
    copied = register_rate(registry, owners[0], sample)
    emit(
        "register_pg",
        works=len(sample),
        rows_works_s=round(before, 1),
        copy_works_s=round(copied, 1),
        ratio=round(copied / before, 2),
    )
    started, seconds = time.perf_counter(), 0.0
    for n, owner in enumerate(owners[1:], start=1):
        files = texts(n * per_owner, per_owner)  # fingerprinted before the clock runs
        clock = time.perf_counter()
        list(registry.works.register(owner[0], owner[1], files))
        seconds += time.perf_counter() - clock
    emit(
        "register_pg_bulk",
        works=per_owner * (OWNERS - 1),
        owners=OWNERS - 1,
        copy_works_s=round(per_owner * (OWNERS - 1) / seconds, 1),
        total_s=round(time.perf_counter() - started, 1),
        registry_works=per_owner * OWNERS,
    )
    return registry, owners


# -- the index built from the registry --------------------------------------------------


def build_from_registry(schema: str, url: str, segment_works: int) -> dict[str, Any]:
    """Run in a process of its own: peak RSS growth while the index is built from the
    registry and saved, as ``current_index`` does, in segments of ``segment_works``
    works; 0: all at once, as it did before."""
    from consentry.app.index import compact_index

    engine = open_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    registry = Registry(engine)
    folder = Path(tempfile.mkdtemp(prefix="consentry-bench-index-"))
    MatchIndex.build(synthetic_works(1000, seed=0))  # the kernels, loaded first
    before = _rss_mb()
    started = time.perf_counter()
    index = MatchIndex()
    with PeakMemory() as memory:
        if segment_works:
            registry.works.refresh_index(index, segment_works=segment_works)
            compact_index(index, segment_works=segment_works)
        else:
            index.add(registry.works.index_records())
        index.save(folder)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    engine.dispose()
    return {
        "works": index.size,
        "segments": len(index.segments),
        "seconds": round(seconds, 1),
        "peak_growth_mb": round(memory.peak_mb - before, 1),
    }


def bench_index_build(schemas: Schemas, works: int) -> None:
    """A registry ten segments large, as a million works are of ``SEGMENT_WORKS``."""
    schema = schemas.made[-1][0]
    found = {}
    for mode, segment in (("streamed", works // 10), ("whole", 0)):
        done = subprocess.run(
            [sys.executable, __file__, "--_build", schema, str(segment), "--url", schemas.url],
            check=True,
            capture_output=True,
            text=True,
        )
        found[mode] = json.loads(done.stdout.splitlines()[-1])
    emit(
        "index_build",
        works=found["streamed"]["works"],
        segment_works=works // 10,
        streamed=found["streamed"],
        all_at_once=found["whole"],
        ratio_peak_growth=round(
            found["streamed"]["peak_growth_mb"] / max(found["whole"]["peak_growth_mb"], 1), 2
        ),
    )


# -- grant lookups ----------------------------------------------------------------------


def bench_grants(registry: Registry, owners: list[Owner]) -> None:
    lab_key = KeyPair.generate()
    lab = registry.parties.create(PartyKind.LICENSEE, "Bench lab", lab_key)
    for n, (owner_id, key) in enumerate(owners):
        registry.terms.set(owner_id, owner_id, key, ALLOW)
        if n % 2 == 0:
            request = registry.licensing.request(
                lab.id,
                lab_key,
                scope=Scope(ScopeKind.OWNER, (owner_id,)),
                purposes=[Category.TRAIN_AI],
                not_after=utc_now() + timedelta(days=30),
            )
            registry.licensing.grant(request.id, owner_id, key)
    actor = Actor(lab.id, PartyKind.LICENSEE, lab_key.public)
    works = [w.id for w in registry.works.all(limit=20_000)]
    random.Random(3).shuffle(works)
    consent = registry.licensing.consent(actor, Category.TRAIN_AI)
    started = time.perf_counter()
    allowed = 0
    for first in range(0, len(works), 1000):
        decided = consent.decide(works[first : first + 1000])
        allowed += sum(d.allowed for d in decided.values())
    batched = len(works) / (time.perf_counter() - started)
    single = registry.licensing.consent(actor, Category.TRAIN_AI)
    few = works[:300]
    started = time.perf_counter()
    for work_id in few:
        single.decide([work_id])
    alone = len(few) / (time.perf_counter() - started)
    emit(
        "grant_lookups",
        works=len(works),
        owners=len(owners),
        grants=(len(owners) + 1) // 2,
        allowed=allowed,
        batched_per_s=round(batched, 1),
        one_at_a_time_per_s=round(alone, 1),
        ratio=round(batched / alone, 2),
    )


# -- snapshot export --------------------------------------------------------------------

_GROW = """
INSERT INTO works (id, owner_id, collection_id, digest, content, kind, media_type, path,
                   title, size, spdx, created_at, body, key_id, signature)
SELECT w.id || '_' || g, w.owner_id, w.collection_id, d, d, w.kind, w.media_type,
       w.path || '_' || g, w.title, w.size, w.spdx, w.created_at, w.body, w.key_id,
       w.signature
FROM works w CROSS JOIN generate_series(1, :copies) g,
     LATERAL (SELECT encode(sha256(convert_to(w.digest || '_' || g, 'UTF8')), 'hex') AS d) h;
INSERT INTO fingerprints (work_id, kind, params_version, value, quality)
SELECT f.work_id || '_' || g, f.kind, f.params_version, f.value, f.quality
FROM fingerprints f CROSS JOIN generate_series(1, :copies) g;
CREATE TEMPORARY TABLE grown AS
SELECT e.kind, e.actor_id, e.subject_id || '_' || g AS subject_id, e.created_at, e.body,
       e.key_id, e.signature, l.data, l.leaf_hash
FROM events e JOIN log_entries l ON l.event_seq = e.seq
CROSS JOIN generate_series(1, :copies) g WHERE e.kind = 'work.registered';
WITH added AS (
  INSERT INTO events (kind, actor_id, subject_id, created_at, body, key_id, signature)
  SELECT kind, actor_id, subject_id, created_at, body, key_id, signature FROM grown
  RETURNING seq)
INSERT INTO log_entries (idx, event_seq, data, leaf_hash)
SELECT (SELECT size FROM log_state WHERE id = 1) + row_number() OVER (ORDER BY seq) - 1,
       seq, (SELECT data FROM grown LIMIT 1), (SELECT leaf_hash FROM grown LIMIT 1)
FROM added;
UPDATE log_state SET size = (SELECT count(*) FROM log_entries) WHERE id = 1;
ANALYZE;
"""


def export(schema: str, url: str, licensee: str, path: Path) -> dict[str, Any]:
    """Run in a process of its own: the snapshot's time, size and peak RSS growth."""
    engine = open_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    registry = Registry(engine)
    before = _rss_mb()
    started = time.perf_counter()
    with PeakMemory() as memory:
        facts = registry.snapshots.export(path, licensee)
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    path.unlink()
    engine.dispose()
    return {
        "works": facts.rows["works"],
        "rows": sum(facts.rows.values()),
        "seconds": round(seconds, 1),
        "mb": round(size / 1e6, 1),
        "peak_growth_mb": round(memory.peak_mb - before, 1),
    }


def exported(schemas: Schemas, licensee: str, path: Path) -> dict[str, Any]:
    schema = schemas.made[-1][0]
    done = subprocess.run(
        [sys.executable, __file__, "--_export", schema, licensee, str(path), "--url", schemas.url],
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def bench_snapshot(schemas: Schemas, registry: Registry, grow_to: int | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="consentry-bench-snapshot-"))
    try:
        lab = registry.parties.create(PartyKind.LICENSEE, "Snapshot lab", KeyPair.generate())
        small = exported(schemas, lab.id, folder / "small.db")
        if grow_to is None:
            emit("snapshot_export", at=small)
            return
        copies = max(1, round(grow_to / small["works"]) - 1)
        started = time.perf_counter()
        with registry.engine.begin() as connection:
            for statement in _GROW.split(";\n"):
                if statement.strip():
                    connection.execute(text(statement), {"copies": copies})
        grown_s = time.perf_counter() - started
        large = exported(schemas, lab.id, folder / "large.db")
        scale = small["works"] / large["works"]
        per_work = {k: large[k] / small[k] * scale for k in ("seconds", "mb")}
        emit(
            "snapshot_export",
            at=large,
            baseline=small,
            grow_s=round(grown_s, 1),
            ratio_seconds_per_work=round(per_work["seconds"], 2),
            ratio_mb_per_work=round(per_work["mb"], 2),
            ratio_peak_growth=round(large["peak_growth_mb"] / max(small["peak_growth_mb"], 1), 2),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k works only")
    parser.add_argument("--url", default=URL, help="a PostgreSQL database to work in")
    parser.add_argument("--works", type=int, default=50_000, help="works registered")
    parser.add_argument("--compare", type=int, default=2_000, help="works per path compared")
    parser.add_argument("--_index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_build", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_export", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._index:
        print(json.dumps(measure_index(args._index)))
        return
    if args._export:
        schema, licensee, path = args._export
        print(json.dumps(export(schema, args.url, licensee, Path(path))))
        return
    if args._build:
        schema, segment = args._build
        print(json.dumps(build_from_registry(schema, args.url, int(segment))))
        return
    warm_up()
    started = time.perf_counter()
    bench_index_memory([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    schemas = Schemas(args.url)
    try:
        registry, owners = bench_register(schemas, args.works, args.compare)
        bench_index_build(schemas, args.works)
        bench_grants(registry, owners)
        bench_snapshot(schemas, registry, None if args.quick else 1_000_000)
    finally:
        schemas.drop()
    emit("scale_registry", seconds=round(time.perf_counter() - started, 1), quick=args.quick)


if __name__ == "__main__":
    main()
