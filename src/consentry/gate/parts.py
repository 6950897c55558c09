"""A run decided in parts, one per shard of its corpus (a pipeline's rank, a file), and
merged into one manifest: one Merkle root over every item in shard order, one royalty
statement, one summary.

A part is a run folder that stopped short of signing: its outputs, its item digests and
its state (``GateRun.finish_part``), and the ``PART_DONE`` marker written last, so a
part without it is unfinished whatever else is there. ``merge_parts`` reads the done
parts in order, checks they are of one run, joins their outputs and their accounting
(``merged_state``, pure) and signs the manifest as a one-part run would.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from consentry.crypto import Signer
from consentry.errors import InputError
from consentry.gate.finish import SIGNED_MANIFEST, finish_run
from consentry.gate.royalties import used_from_json
from consentry.gate.seen import repeats_across
from consentry.gate.sources import SourceTally

if TYPE_CHECKING:
    from consentry.gate.run import Describe, RunSettings

__all__ = ["PART_DONE", "SEEN_IDS", "STATE", "merge_parts", "merged_state", "part_is_done"]

PART_DONE = "part.done"
STATE = ".gate-state.json"
# The digests of the ids a part met (``SeenIds.digests``), for ids reused across parts.
SEEN_IDS = ".seen-ids.npy"
# What every part of one run shares; a part that differs belongs to another run.
_SHARED = ("run_id", "licensee", "purpose", "mode", "compress", "started_at", "index_digest")
_COUNTS = ("items", "admitted", "rejected", "bytes", "reused_ids")
_FILES = ("admitted.jsonl", "admitted.jsonl.zst", "rejected.jsonl", ".item-digests")
_REUSED_EXAMPLES = 5


def part_is_done(folder: Path) -> bool:
    return (folder / PART_DONE).is_file()


def merged_state(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The state of a run whose parts had ``states``, in shard order: counts, reasons,
    works used, sources and seconds added up (seconds are each part's own, so the
    merged rate is per core). Raises ``InputError`` for parts of different runs."""
    if not states:
        raise InputError("a run to merge needs at least one finished part")
    first = states[0]
    for number, state in enumerate(states[1:], 1):
        for name in _SHARED:
            if state.get(name) != first.get(name):
                raise InputError(
                    f"part {number} has {name} {state.get(name)!r}, part 0 {first.get(name)!r}: "
                    "they are not parts of one run"
                )
    merged: dict[str, Any] = {name: first.get(name) for name in (*_SHARED, "version", "corpus")}
    for name in _COUNTS:
        merged[name] = sum(int(s.get(name, 0)) for s in states)
    merged["reasons"] = dict(sum((Counter(s["reasons"]) for s in states), Counter()))
    merged["reused_examples"] = [e for s in states for e in s.get("reused_examples", [])][
        :_REUSED_EXAMPLES
    ]
    merged["seconds"] = sum(float(s["seconds"]) for s in states)
    merged["used"] = _used(states)
    merged["sources"] = _sources(states)
    merged["offsets"] = {}
    return merged


def _used(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    used: dict[str, dict[str, Any]] = {}
    for state in states:
        for work_id, use in state["used"].items():
            held = used.get(work_id)
            if held is None:
                used[work_id] = dict(use)
                continue
            if (held["owner"], held["grant"], held["price"]) != (
                use["owner"],
                use["grant"],
                use["price"],
            ):
                raise InputError(
                    f"work {work_id} was used under grant {held['grant']} in one part and "
                    f"{use['grant']} in another: the parts did not decide as of one moment"
                )
            for name in ("items", "bytes", "tokens"):
                held[name] += use[name]
    return used


def _sources(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    total = SourceTally()
    for state in states:
        part = SourceTally.from_state(state.get("sources"))
        total.by_basis.update(part.by_basis)
        total.bytes_by_basis.update(part.bytes_by_basis)
        total.honoured.update(part.honoured)
        total.reported.update(part.reported)
        for domain, (items, size) in part.domains.items():
            entry = total.domains.setdefault(domain, [0, 0])
            entry[0] += items
            entry[1] += size
    return total.to_state()


def _reused_across(parts: Sequence[Path]) -> int:
    """Items reusing an id that an earlier part met (``repeats_across``)."""
    missing = [str(p) for p in parts if not (p / SEEN_IDS).is_file()]
    if missing:
        raise InputError(
            f"part(s) {', '.join(missing)} keep no record of the ids they met (decided by "
            "an earlier version); decide them again, then merge"
        )
    return repeats_across([np.load(p / SEEN_IDS, mmap_mode="r", allow_pickle=False) for p in parts])


def _joined(parts: Sequence[Path], name: str, out: Path) -> None:
    """Each part's ``name`` after the last, as one file in ``out`` (zstd frames, and
    JSON Lines, may be joined as they are)."""
    present = [p / name for p in parts if (p / name).is_file()]
    if not present:
        return
    partial = out / f".{name}.merging"
    with partial.open("wb") as target:
        for path in present:
            with path.open("rb") as source:
                shutil.copyfileobj(source, target, 1 << 20)
    partial.replace(out / name)


def merge_parts(
    parts: Sequence[Path],
    settings: RunSettings,
    *,
    key: Signer,
    record_manifest: Callable[[dict[str, Any], str], None],
    describe: Describe | None = None,
) -> dict[str, Any]:
    """Merge the finished ``parts`` (in shard order) into ``settings.out``: its outputs,
    one manifest signed by ``key`` and recorded (naming the index the parts matched
    against), royalties and summary; the summary. The parts are removed once the
    merged run is written. Raises ``InputError`` when a part is unfinished, of another
    run, or matched against another index."""
    from consentry.gate.run import RunStats  # noqa: PLC0415 - run imports this module

    if (settings.out / "manifest.json").exists():
        raise InputError(f"{settings.out} holds the merged run already; its parts are gone")
    unfinished = [str(p) for p in parts if not part_is_done(p)]
    if unfinished:
        raise InputError(
            f"part(s) {', '.join(unfinished)} did not finish; run them again, then merge"
        )
    states = [json.loads((p / STATE).read_text()) for p in parts]
    state = merged_state(states)
    state["reused_ids"] += _reused_across(parts)
    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    for name in _FILES:
        _joined(parts, name, out)
    tally = SourceTally.from_state(state["sources"])
    stats = RunStats(
        state["items"],
        state["admitted"],
        state["rejected"],
        state["bytes"],
        Counter(state["reasons"]),
        state["reused_ids"],
        [(str(i), str(s)) for i, s in state["reused_examples"]],
        tally,
    )
    used = used_from_json(state["used"])
    summary = finish_run(
        settings,
        state,
        stats,
        used,
        key=key,
        index_digest=str(state["index_digest"]),
        record_manifest=record_manifest,
        describe=describe,
    )
    # The parts go first: until they are gone, merging again takes up the manifest
    # signed and kept in SIGNED_MANIFEST, never a second one.
    for part in parts:
        shutil.rmtree(part)
    (out / ".item-digests").unlink()
    (out / SIGNED_MANIFEST).unlink(missing_ok=True)
    return summary
