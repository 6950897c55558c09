"""The sharded match index beside the single one: bytes per shard and lookup time.

    .venv/bin/python bench/sharded_index.py [--works 10000] [--items 4000] [--batch 256]

Builds a ``MatchIndex`` of ``--works`` synthetic works (random digests, MinHash
signatures and 200 excerpt fingerprints each, as a 10 KB text has) and cuts it into 1,
2, 4 and 8 shards. The queries, ``--items`` of them looked up ``--batch`` at a time as
the gate does, are a quarter each exact copies of a work, near copies (a tenth of the
minima changed and of the excerpt hashes dropped), excerpts (30 of a work's hashes
among 170 of the item's own) and unrelated items. The sharded answers are checked
against the single index's. Prints one JSON line per figure:

  sharded_index_bytes   shards, bytes of each shard, the roster's (work and owner ids
                        every router holds), the single index's, and the largest
                        shard's share of the postings over 1/shards
  sharded_index_lookup  shards, CPU seconds to look every item up (best of five, the
                        two taking turns) in the single index and in the sharded one,
                        in one process with the shards asked in turn, and their ratio
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from consentry.fingerprint import ExcerptFingerprints, StreamPrints
from consentry.index import IndexedWork, MatchIndex
from consentry.index.sharded import ShardedIndex

EXCERPTS = 200
PERMUTATIONS = 256


def _works(count: int, rng: np.random.Generator) -> list[IndexedWork]:
    works = []
    for number in range(count):
        offsets = np.sort(rng.choice(10_000, EXCERPTS, replace=False)).astype(np.uint32)
        prints = ExcerptFingerprints(rng.integers(0, 2**63, EXCERPTS, dtype=np.uint64), offsets)
        works.append(
            IndexedWork(
                f"wrk_{number:07d}",
                f"own_{number % 97:03d}",
                "text",
                rng.bytes(32).hex(),
                rng.integers(0, 2**32, PERMUTATIONS, dtype=np.uint32).astype("<u4").tobytes(),
                prints.to_bytes(),
            )
        )
    return works


def _items(works: list[IndexedWork], count: int, rng: np.random.Generator) -> list[StreamPrints]:
    items = []
    for k in range(count):
        chosen = works[int(rng.integers(len(works)))]
        work = StreamPrints.from_stored(chosen.digest, chosen.minhash, chosen.excerpts)
        own = ExcerptFingerprints(
            rng.integers(0, 2**63, EXCERPTS, dtype=np.uint64),
            np.arange(0, 50 * EXCERPTS, 50, dtype=np.uint32),
        )
        signature = rng.integers(0, 2**32, PERMUTATIONS, dtype=np.uint32)
        match k % 4:
            case 0:
                items.append(work)
            case 1:
                near = work.signature.copy()
                changed = rng.choice(PERMUTATIONS, PERMUTATIONS // 10, replace=False)
                near[changed] = signature[changed]
                kept = np.sort(rng.choice(EXCERPTS, EXCERPTS * 9 // 10, replace=False))
                prints = ExcerptFingerprints(work.excerpts.hashes[kept], own.offsets[kept])
                items.append(StreamPrints(rng.bytes(32), 0, near, prints))
            case 2:
                hashes = own.hashes.copy()
                hashes[60:90] = work.excerpts.hashes[:30]
                prints = ExcerptFingerprints(hashes, own.offsets)
                items.append(StreamPrints(rng.bytes(32), 0, signature, prints))
            case _:
                items.append(StreamPrints(rng.bytes(32), 0, signature, own))
    return items


def _bytes(record: Any) -> int:
    """Bytes of the arrays of a segment, a shard or a roster."""
    return sum(getattr(record, f.name).nbytes for f in fields(record))


def _seconds(
    indexes: list[MatchIndex | ShardedIndex], batches: list[list[list[StreamPrints]]]
) -> list[float]:
    """Per index, the best of five times to look every batch up: CPU time, and the
    indexes taking turns, so that other work on the machine weighs on each alike."""
    best = [float("inf")] * len(indexes)
    for _ in range(5):
        for k, index in enumerate(indexes):
            started = time.process_time()
            for batch in batches:
                index.match_many(batch)
            best[k] = min(best[k], time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    works = _works(args.works, rng)
    single = MatchIndex.build(works)
    items = [[stream] for stream in _items(works, args.items, rng)]
    batches = [items[i : i + args.batch] for i in range(0, len(items), args.batch)]
    expected = [single.match_many(batch) for batch in batches]
    for shards in (1, 2, 4, 8):
        sharded = ShardedIndex.split(single, shards=shards)
        if [sharded.match_many(batch) for batch in batches] != expected:
            raise SystemExit(f"the index in {shards} shards answers differently")
        postings = [len(shard.posting_keys) for shard in sharded.shards]
        emit(
            "sharded_index_bytes",
            works=args.works,
            shards=shards,
            shard_bytes=[_bytes(shard) for shard in sharded.shards],
            roster_bytes=_bytes(sharded.roster),
            single_bytes=sum(_bytes(segment) for segment in single.segments),
            largest_share=round(max(postings) * shards / sum(postings), 3),
        )
        single_seconds, seconds = _seconds([single, sharded], batches)
        emit(
            "sharded_index_lookup",
            works=args.works,
            items=args.items,
            batch=args.batch,
            shards=shards,
            single_seconds=round(single_seconds, 3),
            sharded_seconds=round(seconds, 3),
            ratio=round(seconds / single_seconds, 2),
        )


if __name__ == "__main__":
    main()
