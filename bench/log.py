"""Transparency-log figures: appends, proofs at a million leaves, tile bytes per entry.

    python bench/log.py [--leaves 1000000] [--batch 1024] [--events 20000]

Writes registry events and puts them on the log in batches, each batch sequenced and
checkpointed durably; appends leaves in batches, each published as tiles (fsynced,
renamed) with a signed checkpoint; then times audit paths and consistency proofs and their
verification, and the size of the published folder per entry. The baseline in the same
run is the RFC's recursive definition, which recomputes subtree hashes from the leaves
for every proof.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import emit
from consentry.crypto import KeyPair
from consentry.log import (
    Checkpoint,
    MerkleTree,
    leaf_hash,
    root_from_leaf_hashes,
    sign_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from consentry.log.tiles import write_tiles
from consentry.registry import PartyKind, Registry
from consentry.registry._context import RegistryContext
from consentry.store import session_factory


def _recursive_path(leaves: list[bytes], m: int) -> list[bytes]:
    """PATH(m, D[n]) straight from RFC 9162 §2.1.3.1, subtree hashes from the leaves."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_recursive_path(leaves[:k], m), root_from_leaf_hashes(leaves[k:])]
    return [*_recursive_path(leaves[k:], m - k), root_from_leaf_hashes(leaves[:k])]


def _timed(calls: int, function: object) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


def _ms(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1] * 1000, 4)


def registry_appends(events: int, batch: int, database_url: str | None) -> None:
    """Two figures on the embedded SQLite default (commits fsynced).

    ``log_registry_events``: events as the registry's services write them, each signed
    by its actor twice (the event, and its leaf of salted commitments), one commit per
    ``batch``. ``log_durable_appends``: the log's own append path over those leaves:
    each batch sequenced, its checkpoint proved consistent with the last, signed and
    committed, which is what Tessera's anchor counts."""
    home = Path(tempfile.mkdtemp(prefix="consentry-log-bench-"))
    registry = Registry.create(database_url or f"sqlite:///{home / 'registry.db'}")
    backend = registry.engine.dialect.name
    actor, log_key = KeyPair.generate(), KeyPair.generate()
    owner = registry.parties.create(PartyKind.OWNER, "Bench owner", actor)
    context = RegistryContext(session_factory(registry.engine))
    registry.log.checkpoint(log_key, "bench.test/log")
    writing = sequencing = 0.0
    for first in range(0, events, batch):
        started = time.perf_counter()
        with context.transaction() as session:
            for n in range(first, min(events, first + batch)):
                context.append_event(
                    session,
                    kind="bench.appended",
                    actor_id=owner.id,
                    subject_id=f"rec_{n}",
                    actor=actor,
                    payload={"n": n},
                )
        writing += time.perf_counter() - started
        started = time.perf_counter()
        registry.log.checkpoint(log_key, "bench.test/log")
        sequencing += time.perf_counter() - started
    size = registry.log.size()
    registry.close()
    shutil.rmtree(home)
    emit(
        "log_registry_events",
        backend=backend,
        events=events,
        batch=batch,
        events_per_s=round(events / writing),
        signatures_per_event=2,
    )
    emit(
        "log_durable_appends",
        backend=backend,
        leaves=events,
        log_size=size,
        batch=batch,
        appends_per_s=round(events / sequencing),
        checkpoints=-(-events // batch),
        target_per_s=10_000,
        ratio_to_target=round(events / sequencing / 10_000, 2),
        anchor="Tessera: 1,500-10,000 durable writes/s on one machine",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--published", type=int, default=100_000, help="Leaves published as tiles.")
    parser.add_argument("--events", type=int, default=20_000, help="Registry events appended.")
    parser.add_argument(
        "--database-url",
        help="An empty database for the registry figures (default: a new SQLite file).",
    )
    args = parser.parse_args()
    registry_appends(args.events, args.batch, args.database_url)
    rng = random.Random(1)
    key = KeyPair.generate()
    folder = Path(tempfile.mkdtemp(prefix="consentry-log-bench-"))
    entries = [f'{{"event":"bench","n":{i}}}'.encode() for i in range(args.published)]

    tree = MerkleTree()
    started = time.perf_counter()
    published = 0
    while published < args.published:
        for entry in entries[published : published + args.batch]:
            tree.append(leaf_hash(entry))
        note = sign_checkpoint(Checkpoint("bench.test/log", tree.size, tree.root()), key)
        write_tiles(folder, tree, entries[: tree.size], note, since=published)
        published = tree.size
    elapsed = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    emit(
        "log_tile_publish",
        leaves=published,
        batch=args.batch,
        seconds=round(elapsed, 2),
        appends_per_s=round(published / elapsed),
        tile_bytes_per_entry=round(size / published, 1),
        anchor="1,500-10,000 durable writes/s on one machine",
    )
    shutil.rmtree(folder)

    started = time.perf_counter()
    for i in range(published, args.leaves):
        tree.append(leaf_hash(i.to_bytes(8, "big")))
    emit(
        "log_tree_appends",
        leaves=args.leaves,
        appends_per_s=round((args.leaves - published) / (time.perf_counter() - started)),
    )
    n = tree.size
    root = tree.root()
    indexes = [rng.randrange(n) for _ in range(2000)]
    paths = [tree.inclusion_proof(i) for i in indexes]
    make = _timed(2000, lambda: tree.inclusion_proof(rng.randrange(n)))
    check = []
    for index, path in zip(indexes, paths, strict=True):
        started = time.perf_counter()
        verify_inclusion(index, n, tree.leaf(index), path, root)
        check.append(time.perf_counter() - started)
    firsts = [rng.randrange(1, n) for _ in range(500)]
    proofs = [(m, tree.consistency_proof(m), tree.root(m)) for m in firsts]
    make_c = _timed(500, lambda: tree.consistency_proof(rng.randrange(1, n)))
    check_c = []
    for m, proof, old in proofs:
        started = time.perf_counter()
        verify_consistency(m, n, old, root, proof)
        check_c.append(time.perf_counter() - started)
    leaves = [tree.leaf(i) for i in range(n)]
    index = indexes[0]
    started = time.perf_counter()
    assert _recursive_path(leaves, index) == paths[0]
    baseline = time.perf_counter() - started
    emit(
        "log_proofs",
        leaves=n,
        inclusion_make_p50_ms=_ms(make, 50),
        inclusion_make_p99_ms=_ms(make, 99),
        inclusion_verify_p50_ms=_ms(check, 50),
        consistency_make_p50_ms=_ms(make_c, 50),
        consistency_verify_p50_ms=_ms(check_c, 50),
        proof_hashes=len(paths[0]),
        baseline_recursive_inclusion_ms=round(baseline * 1000, 1),
        ratio=round(baseline / statistics.median(make), 1),
    )


if __name__ == "__main__":
    main()
