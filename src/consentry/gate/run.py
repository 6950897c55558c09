"""A gate run over a whole corpus: decide every item in order, write the outputs,
checkpoint so ``--resume`` after any crash finishes with every item decided exactly
once, then sign the manifest and state what is owed (DESIGN.md §5.3)."""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from consentry.clock import format_time, parse_time, utc_now
from consentry.crypto import Signer
from consentry.errors import InputError, WorkInterruptedError
from consentry.gate.consent import RegistryConsent
from consentry.gate.decision import Decision
from consentry.gate.finish import SIGNED_MANIFEST, finish_run, write_json
from consentry.gate.gate import CHUNK, Gate
from consentry.gate.item import CHUNK_BYTES, Item, chunked, held_bytes
from consentry.gate.outputs import OutputFiles, with_verdict
from consentry.gate.parallel import Found, find_in_order
from consentry.gate.parts import PART_DONE, SEEN_IDS, STATE
from consentry.gate.policy import GateMode, GatePolicy
from consentry.gate.readers import read_corpus
from consentry.gate.reservations import SiteSignals
from consentry.gate.royalties import UsedWork, used_from_json, used_to_json
from consentry.gate.seen import SeenIds
from consentry.gate.sources import SourceTally
from consentry.ids import IdKind, new_id
from consentry.index import MatchIndex
from consentry.interrupts import stop_on_interrupt
from consentry.registry import Actor, PartyKind, Registry
from consentry.terms import Category
from consentry.warmup import warm_up

__all__ = [
    "CHUNK",
    "Describe",
    "GateRun",
    "RunMoment",
    "RunSettings",
    "RunStats",
    "item_digest",
    "registry_hooks",
    "run_gate",
    "work_names",
]

_STATE = STATE
# Items with a reused id named in the summary (the rest are counted).
_REUSED_EXAMPLES = 5

# Work ids to (title, owner's name), for the manifest and the royalties.
Describe = Callable[[Sequence[str]], Mapping[str, tuple[str, str]]]
# A run's moment, (run id, resuming) -> when it began: recorded by the registry when a
# run starts, given back by it when the run resumes.
RunMoment = Callable[[str, bool], datetime]


def work_names(registry: Registry) -> Describe:
    """How a run names the works it used: each work's title and its owner's name, read
    from the registry (verified records) once, when the run finishes."""

    def describe(work_ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
        works = registry.works.many(list(work_ids))
        owners: dict[str, str] = {}
        for work in works:
            if work.owner_id not in owners:
                owners[work.owner_id] = registry.parties.get(work.owner_id, PartyKind.OWNER).name
        return {w.id: (w.title, owners[w.owner_id]) for w in works}

    return describe


@dataclass(frozen=True, slots=True)
class RunSettings:
    # A corpus file or folder, or for a pipeline the name of what it feeds.
    corpus: Path | str
    out: Path
    licensee_id: str
    purpose: Category
    mode: GateMode
    compress: bool = False
    resume: bool = False
    checkpoint_every: int = 1000
    workers: int = 1
    # False when a pipeline passes admitted items on itself: admitted.jsonl then
    # records each decision without the content.
    admitted_content: bool = True
    # The run this is a part of, for a run decided in parts (``consentry.gate.parts``);
    # None: a new run of its own.
    run_id: str | None = None


@dataclass(slots=True)
class RunStats:
    items: int = 0
    admitted: int = 0
    rejected: int = 0
    bytes: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    # Items whose id an earlier item had, and the first few of them (id, source).
    reused_ids: int = 0
    reused_examples: list[tuple[str, str]] = field(default_factory=list)
    sources: SourceTally = field(default_factory=SourceTally)


def item_digest(item: Item) -> bytes:
    """SHA-256 naming an item's content (its source position when unreadable)."""
    if item.text is not None:
        return hashlib.sha256(b"text\0" + item.text.encode("utf-8")).digest()
    if item.image is not None:
        return hashlib.sha256(b"image\0" + item.image).digest()
    return hashlib.sha256(b"unreadable\0" + item.source.encode("utf-8")).digest()


def _output_line(item: Item, decision: Decision, *, content: bool = True) -> dict[str, Any] | bytes:
    """What is written for ``item``: its decision (and for an admitted item with
    ``content``, its record), as an object, or as the line it came in with the
    decision's fields added (``with_verdict``)."""
    verdict = decision.to_json()
    if not decision.admitted:
        return {**verdict, "source": item.source}
    if not content:
        return {**verdict, "source": item.source, "metadata": item.metadata}
    if item.original is not None:
        # The record as it came in, so admitted.jsonl is itself a corpus.
        if item.line is not None and (line := with_verdict(item.line, item.original, verdict)):
            return line
        original = item.original if item.line is None else json.loads(item.line)
        return {**original, **verdict}
    record: dict[str, Any] = {**verdict, "metadata": item.metadata}
    if item.text is not None:
        record["text"] = item.text
    return record


def _corpus_label(corpus: Path | str) -> str:
    """A file corpus by its absolute path; a pipeline's by the name it gives."""
    return str(corpus.resolve()) if isinstance(corpus, Path) else corpus


def _start_state(settings: RunSettings) -> dict[str, Any]:
    state_path = settings.out / _STATE
    if (settings.out / "manifest.json").exists():
        raise InputError(f"{settings.out} already holds a finished run; choose another --out")
    if state_path.exists():
        if not settings.resume:
            raise InputError(
                f"{settings.out} holds an unfinished run; "
                "pass --resume to finish it or choose another --out"
            )
        state: dict[str, Any] = json.loads(state_path.read_text())
        expected = {
            "corpus": _corpus_label(settings.corpus),
            "licensee": settings.licensee_id,
            "purpose": settings.purpose.value,
            "mode": settings.mode.value,
        }
        for name, value in expected.items():
            if state[name] != value:
                raise InputError(
                    f"--resume: the unfinished run in {settings.out} had {name} "
                    f"{state[name]!r}, not {value!r}"
                )
        return state
    if settings.out.exists() and any(settings.out.iterdir()):
        raise InputError(f"{settings.out} is not empty; give the run an empty or new --out folder")
    return {
        "version": 1,
        "run_id": settings.run_id or new_id(IdKind.RUN),
        "corpus": _corpus_label(settings.corpus),
        "licensee": settings.licensee_id,
        "purpose": settings.purpose.value,
        "mode": settings.mode.value,
        "compress": settings.compress,
        "started_at": format_time(utc_now()),
        "items": 0,
        "admitted": 0,
        "rejected": 0,
        "bytes": 0,
        "reasons": {},
        "reused_ids": 0,
        "reused_examples": [],
        "offsets": {},
        "used": {},
        "seconds": 0.0,
    }


def _moment(settings: RunSettings, state: dict[str, Any], moment: RunMoment, resuming: bool) -> str:
    """The run's moment as the registry recorded it; a resume state that says another
    was edited, and is refused."""
    at = format_time(moment(state["run_id"], resuming))
    if resuming and state["started_at"] != at:
        raise InputError(
            f"--resume: the unfinished run in {settings.out} says it began at "
            f"{state['started_at']}, but the registry recorded its start at {at}: its "
            "state was edited; run it afresh in a new --out"
        )
    return at


def _skip(items: Iterator[Item], count: int, seen: SeenIds) -> None:
    """Pass over the ``count`` items already decided, meeting their ids again (only
    the ids are held: the items may be large)."""
    ids = (item.id for item in islice(items, count))
    for chunk in iter(lambda: list(islice(ids, CHUNK)), []):
        seen.add_many(chunk)
        count -= len(chunk)
    if count > 0:
        raise InputError(
            "--resume: the corpus has fewer items than were already decided; "
            "it changed since the run began"
        )


def _saved_when_damaged(
    chunks: Iterator[tuple[list[Item], list[Found] | None]], run: GateRun
) -> Iterator[tuple[list[Item], list[Found] | None]]:
    """``chunks``, until reading fails part way (a truncated or corrupt file, raised
    after the chunk of the items before it): what was decided is saved and the error
    says so, so a whole copy of the file finishes the run with ``--resume``."""
    try:
        yield from chunks
    except InputError as exc:
        if not run.stats.items:
            raise
        run.checkpoint()
        raise InputError(
            f"{exc}; the {run.stats.items:,} items before it are decided and saved in "
            f"{run.settings.out}: restore the whole file and run again with --resume"
        ) from exc


def registry_hooks(
    registry: Registry,
    index: MatchIndex,
    *,
    licensee_id: str,
    key: Signer,
    purpose: Category,
    policy: GatePolicy,
    min_span: int = 200,
    site_signals: SiteSignals | None = None,
) -> tuple[Callable[[datetime], Gate], Callable[[dict[str, Any], str], None], RunMoment]:
    """How a run reaches the registry: the gate for the run's moment (consent as of
    then), where its signed manifest is recorded, and the moment itself, which the
    registry records when the run starts and gives back when it resumes."""

    def gate_for(at: datetime) -> Gate:
        licensee = Actor(licensee_id, PartyKind.LICENSEE, key.public)
        consent = RegistryConsent(registry, licensee=licensee, purpose=purpose, at=at)
        return Gate(
            index=index,
            consent=consent,
            policy=policy,
            min_span=min_span,
            site_signals=site_signals,
        )

    def record_manifest(body: dict[str, Any], signature: str) -> None:
        registry.runs.record_manifest(licensee_id, key, body, signature)

    def moment(run_id: str, resuming: bool) -> datetime:
        if resuming:
            licensee = Actor(licensee_id, PartyKind.LICENSEE, key.public)
            return registry.runs.started(licensee, run_id)
        return registry.runs.start(licensee_id, key, run_id, purpose)

    return gate_for, record_manifest, moment


class GateRun:
    """One run's outputs and accounting, item by item: for pipelines that hold the
    items themselves (``run_gate`` drives one over a corpus file).

    Opening starts a run in ``settings.out`` (or, with ``settings.resume``, takes up the
    unfinished one there); ``decide`` records each item; ``finish`` signs the manifest,
    writes the royalties and summary, and returns the summary.
    """

    def __init__(
        self,
        settings: RunSettings,
        *,
        gate_for: Callable[[datetime], Gate],
        key: Signer,
        index_digest: str,
        record_manifest: Callable[[dict[str, Any], str], None],
        describe: Describe | None = None,
        moment: RunMoment | None = None,
    ) -> None:
        self.settings = settings
        self._describe = describe
        resuming = settings.resume and (settings.out / _STATE).exists()
        self._state = _start_state(settings)
        if moment is not None:
            self._state["started_at"] = _moment(settings, self._state, moment, resuming)
        # A run that fails before saving anything takes away the folder it made, so
        # that running it again is not refused for a folder that is not empty.
        self._made_out = not settings.out.exists()
        settings.out.mkdir(parents=True, exist_ok=True)
        self.gate = gate_for(parse_time(self._state["started_at"], what="started_at"))
        state = self._state
        self.stats = RunStats(
            state["items"],
            state["admitted"],
            state["rejected"],
            state["bytes"],
            Counter(state["reasons"]),
            state.get("reused_ids", 0),
            [(str(i), str(s)) for i, s in state.get("reused_examples", [])],
            SourceTally.from_state(state.get("sources")),
        )
        # Met again by ``run_gate`` as it passes over the items a resumed run decided.
        self.seen = SeenIds()
        self._used = used_from_json(state["used"])
        self._outputs = OutputFiles(
            settings.out, compress=state["compress"], offsets=state["offsets"] or None
        )
        self._key = key
        self._index_digest = index_digest
        # Kept with the state: the parts of one run must have matched against one index.
        self._state.setdefault("index_digest", index_digest)
        self._record_manifest = record_manifest
        self._started = time.perf_counter()
        # Time spent before an interruption, so a resumed run's figures cover all of it.
        self._earlier_seconds = float(state["seconds"])
        self._since_checkpoint = 0
        # Saved at once: a run killed before its first checkpoint resumes from nothing
        # decided, instead of leaving a folder that refuses the same command.
        self.checkpoint()

    def decide_chunk(
        self, items: Sequence[Item], found: Sequence[Found] | None = None
    ) -> list[Decision]:
        """Decide a chunk of items as ``decide`` does each, their matches found together
        (unless ``found`` gives them) and their works' consent read together."""
        if found is None:
            found = self.gate.find_many(items)
        self.gate.prepare(found)
        reused = self.seen.add_many(item.id for item in items)
        return [
            self._decide(item, f, reused=r) for item, f, r in zip(items, found, reused, strict=True)
        ]

    def decide(self, item: Item, found: Found | None = None) -> Decision:
        """Decide ``item`` (``found``: what ``Gate.find`` returned, if already known),
        write it to its output and count it; checkpoints every
        ``settings.checkpoint_every`` items."""
        (reused,) = self.seen.add_many([item.id])
        return self._decide(item, found, reused=reused)

    def _decide(self, item: Item, found: Found | None, *, reused: bool) -> Decision:
        gate = self.gate
        decision = gate.conclude(item, gate.find(item) if found is None else found)
        self._outputs.write(
            admitted=decision.admitted,
            line=_output_line(item, decision, content=self.settings.admitted_content),
            digest=item_digest(item),
        )
        stats = self.stats
        stats.items += 1
        stats.bytes += item.size
        stats.sources.count(decision, url=item.metadata.get("url"), size=item.size)
        if reused:
            stats.reused_ids += 1
            if len(stats.reused_examples) < _REUSED_EXAMPLES:
                stats.reused_examples.append((item.id, item.source))
        if decision.admitted:
            stats.admitted += 1
            tokens = -1
            for basis in decision.bases:
                if basis.work_id is not None:
                    use = self._used.setdefault(
                        basis.work_id,
                        UsedWork(
                            basis.work_id,
                            basis.owner_id or "",
                            basis.grant_id,
                            gate.price_of(basis),
                        ),
                    )
                    use.items += 1
                    # Billed what of the work the item reproduces: its share of the
                    # item, rounded down, so an item's works never add up to more
                    # than the item.
                    share = basis.share
                    if share:
                        if tokens < 0:
                            tokens = len(item.text.split()) if item.text else 0
                        num, den = share.numerator, share.denominator
                        use.bytes += item.size * num // den
                        use.tokens += tokens * num // den
        else:
            stats.rejected += 1
            stats.reasons.update({r.match for r in decision.rejecting})
        self._since_checkpoint += 1
        if self._since_checkpoint >= self.settings.checkpoint_every:
            self.checkpoint()
        return decision

    def checkpoint(self) -> None:
        """Make everything decided so far durable: a crash after this loses nothing."""
        stats = self.stats
        self._state.update(
            items=stats.items,
            admitted=stats.admitted,
            rejected=stats.rejected,
            bytes=stats.bytes,
            reasons=dict(stats.reasons),
            reused_ids=stats.reused_ids,
            reused_examples=[list(e) for e in stats.reused_examples],
            offsets=self._outputs.checkpoint(),
            used=used_to_json(self._used),
            sources=stats.sources.to_state(),
            seconds=self._earlier_seconds + time.perf_counter() - self._started,
        )
        write_json(self.settings.out / _STATE, self._state)
        self._since_checkpoint = 0

    def close(self) -> None:
        self._outputs.close()

    def abandon(self) -> None:
        """Close after a failure: what was checkpointed stays for ``--resume``; a run
        that checkpointed nothing removes its files (and the folder it made)."""
        state = self.settings.out / _STATE
        if state.exists() and json.loads(state.read_text())["items"] > 0:
            self.close()
            return
        self._outputs.remove()
        state.unlink(missing_ok=True)
        if self._made_out:
            self.settings.out.rmdir()

    def finish_part(self) -> None:
        """Checkpoint and close, as one part of a run decided in parts: its outputs,
        digests and state are kept for ``merge_parts``, which signs the one manifest."""
        try:
            self.checkpoint()
        finally:
            self.close()
        held = self.settings.out / SEEN_IDS
        with held.with_suffix(".partial").open("wb") as kept:
            np.save(kept, self.seen.digests(), allow_pickle=False)
        held.with_suffix(".partial").replace(held)
        (self.settings.out / PART_DONE).touch()

    def finish(self) -> dict[str, Any]:
        """Checkpoint, close the outputs, sign and record the manifest; the summary."""
        try:
            self.checkpoint()
        finally:
            self.close()
        summary = finish_run(
            self.settings,
            self._state,
            self.stats,
            self._used,
            key=self._key,
            index_digest=self._index_digest,
            record_manifest=self._record_manifest,
            describe=self._describe,
        )
        out = self.settings.out
        for done in (_STATE, ".item-digests", SIGNED_MANIFEST):
            (out / done).unlink()
        return summary


def run_gate(
    settings: RunSettings,
    *,
    gate_for: Callable[[datetime], Gate],
    key: Signer,
    index_digest: str,
    record_manifest: Callable[[dict[str, Any], str], None],
    on_progress: Callable[[RunStats], None] | None = None,
    index_folder: Path | None = None,
    describe: Describe | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    moment: RunMoment | None = None,
) -> dict[str, Any]:
    """Run the gate over ``settings.corpus`` into ``settings.out``; returns the summary.

    ``gate_for(at)`` builds the gate for the run's moment (kept across a resume, so a
    resumed run decides as the original would have). ``record_manifest(body, signature)``
    appends the signed manifest to the registry's events. With ``settings.workers`` > 1
    matching runs in worker processes on the index saved in ``index_folder``. Items
    are decided in chunks of at most ``CHUNK`` items holding at most ``chunk_bytes``.

    Raises ``InputError`` when the corpus cannot be read; one damaged part way is
    raised after the items before the damage are decided and saved for ``--resume``.
    """
    run = GateRun(
        settings,
        gate_for=gate_for,
        key=key,
        index_digest=index_digest,
        record_manifest=record_manifest,
        describe=describe,
        moment=moment,
    )
    # Kernels compiled (or loaded from the cache) once, here, not by the first item or
    # by each worker at once.
    warm_up()
    # What is alive now (the registry, the index, the gate) lives for the whole run:
    # set aside, the collector does not rescan it every few thousand decisions.
    gc.freeze()
    try:
        with stop_on_interrupt() as stop:
            items = iter(read_corpus(Path(settings.corpus)))
            _skip(items, run.stats.items, run.seen)
            chunks: Iterator[tuple[list[Item], list[Found] | None]]
            if settings.workers > 1 and index_folder is not None:
                pairs = find_in_order(
                    items,
                    index_folder=index_folder,
                    workers=settings.workers,
                    min_span=run.gate.min_span,
                    max_bytes=chunk_bytes,
                )
                chunks = (
                    ([item for item, _ in chunk], [found for _, found in chunk])
                    for chunk in chunked(
                        pairs,
                        held=lambda pair: held_bytes(pair[0]),
                        max_items=CHUNK,
                        max_bytes=chunk_bytes,
                    )
                )
            else:
                chunks = (
                    (chunk, None)
                    for chunk in chunked(
                        items, held=held_bytes, max_items=CHUNK, max_bytes=chunk_bytes
                    )
                )
            for chunk_items, found in _saved_when_damaged(chunks, run):
                run.decide_chunk(chunk_items, found)
                # After every chunk: a run of a few large items is no quieter than one
                # of many small ones.
                if on_progress is not None:
                    on_progress(run.stats)
                if stop.asked:
                    run.checkpoint()
                    raise WorkInterruptedError(
                        f"interrupted: {run.stats.items:,} items decided and saved in "
                        f"{settings.out}",
                        resume=True,
                    )
    except BaseException:
        run.abandon()
        raise
    finally:
        gc.unfreeze()
    return run.finish()
