"""What a finished gate run writes: its signed manifest, recorded on the registry, its
royalties and its summary (DESIGN.md §5.3)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consentry.clock import format_time, utc_now
from consentry.crypto import Signer, canonical_json, sign_document
from consentry.errors import InputError
from consentry.gate.royalties import (
    Royalty,
    UsedWork,
    royalties_csv,
    royalty_for,
    royalty_totals,
    units_for,
)
from consentry.log import leaf_hash, root_from_leaf_hashes

if TYPE_CHECKING:
    from consentry.gate.run import Describe, RunSettings, RunStats

__all__ = ["SIGNED_MANIFEST", "finish_run", "write_json"]

# The signed manifest, from signing it until the run is done: a run stopped between
# recording it and writing it out records the same manifest again on --resume.
SIGNED_MANIFEST = ".manifest-signed.json"


def write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2, default=str))
    os.replace(temporary, path)


def _manifest_work(
    used: UsedWork, names: tuple[str, str], royalty: Royalty | None
) -> dict[str, Any]:
    """A work's line in the manifest: what of it was used, in the grant's unit (an
    exact decimal string), and what that costs, so a statement reconciles with it."""
    return {
        "work_id": used.work_id,
        "title": names[0],
        "owner_id": used.owner_id,
        "owner_name": names[1],
        "grant_id": used.grant_id,
        "items": used.items,
        "tokens": used.tokens,
        "bytes": used.bytes,
        "units": str(units_for(used)),
        "unit": used.price.unit.value if used.price else None,
        "unit_price": None if royalty is None else str(royalty.unit_price),
        "amount": None if royalty is None else str(royalty.amount),
        "currency": None if royalty is None else royalty.currency,
    }


def finish_run(
    settings: RunSettings,
    state: dict[str, Any],
    stats: RunStats,
    used: dict[str, UsedWork],
    *,
    key: Signer,
    index_digest: str,
    record_manifest: Callable[[dict[str, Any], str], None],
    describe: Describe | None = None,
) -> dict[str, Any]:
    """Sign the run's manifest (once: kept in ``SIGNED_MANIFEST`` until the run is
    done), record it, and write ``manifest.json``, ``royalties.csv`` and
    ``summary.json``; the summary. The caller removes the run's working files."""
    digests_path = settings.out / ".item-digests"
    raw = digests_path.read_bytes()
    digests = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    if len(digests) != stats.items or stats.admitted + stats.rejected != stats.items:
        raise InputError(
            f"run in {settings.out} does not reconcile: "
            f"{len(digests)} digests for {stats.items} items"
        )
    names = describe(sorted(used)) if describe is not None and used else {}
    unnamed = ("", "")
    owed = {
        u.work_id: royalty_for(
            u, title=names.get(u.work_id, unnamed)[0], owner_name=names.get(u.work_id, unnamed)[1]
        )
        for u in used.values()
    }
    royalties = [r for r in owed.values() if r is not None]
    finished = utc_now()
    body = {
        "type": "consentry.training-manifest",
        "version": 1,
        "run_id": state["run_id"],
        "licensee": settings.licensee_id,
        "licensee_key": key.public.hex,
        "purpose": settings.purpose.value,
        "mode": settings.mode.value,
        "index_digest": index_digest,
        "corpus_digest": hashlib.sha256(raw).hexdigest(),
        "items_merkle_root": root_from_leaf_hashes([leaf_hash(d) for d in digests]).hex(),
        "counts": {"items": stats.items, "admitted": stats.admitted, "rejected": stats.rejected},
        "works": [
            _manifest_work(u, names.get(u.work_id, unnamed), owed[u.work_id])
            for u in sorted(used.values(), key=lambda u: u.work_id)
        ],
        "royalties_total": {c: str(t) for c, t in sorted(royalty_totals(royalties).items())},
        "sources": stats.sources.manifest_sources(),
        "reservations": stats.sources.manifest_reservations(),
        "started_at": state["started_at"],
        "finished_at": format_time(finished),
    }
    # Signed once and kept before it is recorded: a run that stops between recording
    # it and writing it out records the same manifest again on --resume, which the
    # registry takes as done, never a second manifest for the run.
    signed_path = settings.out / SIGNED_MANIFEST
    if signed_path.exists():
        signed = json.loads(signed_path.read_text())
        body = signed["manifest"]
    else:
        envelope = sign_document("training-manifest", body, key)
        signed = {
            "manifest": json.loads(canonical_json(body)),
            "key_id": envelope.key_id,
            "signature": envelope.signature_b64,
        }
        write_json(signed_path, signed)
    record_manifest(body, signed["signature"])
    write_json(settings.out / "manifest.json", signed)
    (settings.out / "royalties.csv").write_text(royalties_csv(royalties))
    seconds = max(state["seconds"], 1e-9)
    summary = {
        "run_id": state["run_id"],
        "items": stats.items,
        "decisions": {"admitted": stats.admitted, "rejected": stats.rejected},
        "rejected_by_reason": dict(sorted(stats.reasons.items())),
        # Items rejected for a reservation signal (opt-out), or carrying one beside a
        # decision on consent alone, by kind of signal.
        "reservations": stats.sources.manifest_reservations(),
        # Decided each on its content, but named in the outputs by an id shared with an
        # earlier item: a selection by id cannot tell them apart.
        "reused_ids": {
            "items": stats.reused_ids,
            "first": [{"id": i, "source": s} for i, s in stats.reused_examples],
        },
        "bytes": stats.bytes,
        "seconds": round(seconds, 3),
        "items_per_s": round(stats.items / seconds, 1),
        "mb_per_s": round(stats.bytes / 1e6 / seconds, 2),
    }
    write_json(settings.out / "summary.json", summary)
    return summary
