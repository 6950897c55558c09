"""How a worker decides one shard of a run into its part, whichever engine runs it.

Two ways to get the gate there. On the local engine each worker process plans it from
the registry, as a pipeline rank does (``PlannedInWorker``). On a cluster the workers
need no registry: the driver reads consent for every indexed work once, as of the run's
moment, and the index, that consent table and the policy travel with the decider
(``CarriedGate``), sent once to each worker; or, with the index held by actors of its
own, a shard each, a router to them in the index's place (``CarriedGate.routed_to``).
Either way the part is the one ``GateRun.finish_part`` writes, so merging and resuming
do not know which it was.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from consentry.app.gating import PlannedGate, plan_gate
from consentry.app.workspace import Workspace
from consentry.clock import format_time, parse_time
from consentry.crypto import PublicKey
from consentry.errors import InputError
from consentry.gate import Gate, GatePolicy, SiteSignals
from consentry.gate.consent import ConsentTable
from consentry.gate.gate import CHUNK
from consentry.gate.item import CHUNK_BYTES, chunked, held_bytes
from consentry.gate.run import GateRun, RunSettings
from consentry.gate.shards import Shard, read_shard
from consentry.index import MatchIndex
from consentry.index.sharded import ShardedIndex
from consentry.settings import Settings
from consentry.terms import Category

__all__ = ["CarriedGate", "PlannedInWorker", "ShardJob", "carried_gate", "decide_into_part"]


@dataclass(frozen=True, slots=True)
class ShardJob:
    """What a worker needs to know of the run to decide any of its shards."""

    corpus: Path
    out: Path
    run_id: str
    licensee_id: str
    purpose: Category
    policy: GatePolicy
    min_span: int
    compress: bool
    checkpoint_every: int
    site_signals: SiteSignals | None = None

    def part(self, shard: Shard) -> Path:
        return self.out / "parts" / f"shard-{shard.number:05d}"

    def settings(self, shard: Shard) -> RunSettings:
        return RunSettings(
            f"{self.corpus.resolve()}#shard-{shard.number}",
            self.part(shard),
            self.licensee_id,
            self.purpose,
            self.policy.mode,
            compress=self.compress,
            checkpoint_every=self.checkpoint_every,
            run_id=self.run_id,
        )


def decide_into_part(
    job: ShardJob, shard: Shard, open_run: Callable[[RunSettings], GateRun]
) -> dict[str, Any]:
    """Decide ``shard`` into its part with the run ``open_run`` opens; its counts."""
    part = job.part(shard)
    if part.exists():
        shutil.rmtree(part)  # an unfinished part: decided again, whole
    run = open_run(job.settings(shard))
    try:
        items = read_shard(job.corpus, shard)
        for chunk in chunked(items, held=held_bytes, max_items=CHUNK, max_bytes=CHUNK_BYTES):
            run.decide_chunk(chunk)
    except BaseException:
        run.close()
        raise
    run.finish_part()
    stats = run.stats
    return {"items": stats.items, "bytes": stats.bytes, "rejected": stats.rejected}


# One planned gate per worker process and run, made at its first shard.
_PLANNED: dict[str, tuple[Workspace, PlannedGate]] = {}


@dataclass(frozen=True, slots=True)
class PlannedInWorker:
    """Decides shards in a process that opens the registry itself (sent per shard)."""

    job: ShardJob
    settings: Settings

    def __call__(self, shard: Shard) -> dict[str, Any]:
        job = self.job
        held = _PLANNED.get(job.run_id)
        if held is None:
            ws = Workspace(self.settings)
            plan = plan_gate(
                ws,
                licensee_id=job.licensee_id,
                purpose=job.purpose,
                policy=job.policy,
                save_index=False,
                min_span=job.min_span,
                site_signals=job.site_signals,
            )
            held = _PLANNED[job.run_id] = (ws, plan)
        plan = held[1]

        def open_run(settings: RunSettings) -> GateRun:
            return plan.open_run(settings, started=True)

        return decide_into_part(job, shard, open_run)


class _NoKey:
    """A part is never signed (the merged manifest is, where the licensee's key is):
    the key does not travel to the workers."""

    @property
    def public(self) -> PublicKey:
        raise RuntimeError("a shard's worker holds no key: only the merged manifest is signed")

    def sign(self, message: bytes) -> bytes:
        raise RuntimeError("a shard's worker holds no key: only the merged manifest is signed")


def _not_recorded(manifest: dict[str, Any], signature: str) -> None:
    raise RuntimeError("a shard's worker records nothing: the merged manifest is recorded")


@dataclass(frozen=True, slots=True)
class CarriedGate:
    """Decides shards with the index and consent it carries: no registry needed where
    it runs. Sent once to each worker, which keeps it for all its shards. ``index``:
    the whole index, or a router to its shards held elsewhere (``routed_to``)."""

    job: ShardJob
    index: MatchIndex | ShardedIndex[Any]
    index_digest: str
    consent: ConsentTable

    def __call__(self, shard: Shard) -> dict[str, Any]:
        return decide_into_part(self.job, shard, self._open_run)

    def carried_index(self) -> MatchIndex:
        """The whole index this decider carries. Raises ``InputError`` for one that
        carries a router to its shards instead."""
        if not isinstance(self.index, MatchIndex):
            raise InputError(
                f"run {self.job.run_id}'s decider carries a router to the index's shards, "
                "not the index to cut into them"
            )
        return self.index

    def routed_to(self, index: ShardedIndex[Any]) -> CarriedGate:
        """This decider with ``index`` (its index, sharded) in its index's place; the
        digest named in the manifest stays the whole index's."""
        return replace(self, index=index)

    def _open_run(self, settings: RunSettings) -> GateRun:
        at = self.consent.at
        gate = Gate(
            index=self.index,
            consent=self.consent,
            policy=self.job.policy,
            min_span=self.job.min_span,
            site_signals=self.job.site_signals,
        )

        def gate_for(moment: datetime) -> Gate:
            if moment != at:
                raise InputError(
                    f"shard's run began at {format_time(moment)}, but its consent was read "
                    f"as of {format_time(at)}: the part belongs to another run; decide it "
                    "in a new --out"
                )
            return gate

        def joined(run_id: str, resuming: bool) -> datetime:
            return at  # the moment recorded when the run began, never a new start

        return GateRun(
            settings,
            gate_for=gate_for,
            key=_NoKey(),
            index_digest=self.index_digest,
            record_manifest=_not_recorded,
            moment=joined,
        )


def carried_gate(plan: PlannedGate, job: ShardJob) -> CarriedGate:
    """The decider for ``plan``'s run ``job.run_id``, whose start is recorded: consent
    for every work of the index read once, as of that moment. Raises ``InputError``
    for a plan that cannot say when the run began."""
    if plan.moment is None:
        raise InputError(
            f"run {job.run_id} has no recorded start to decide its shards as of; run it "
            "against a registry that records runs"
        )
    # The moment as a part's state keeps it (to the microsecond), so the workers'
    # gates are asked for exactly the moment the table was read at.
    at = parse_time(format_time(plan.moment(job.run_id, True)), what="the run's start")
    oracle = plan.gate_for(at).consent
    table = ConsentTable.read(oracle, plan.index.work_ids(), at=at)
    return CarriedGate(job, _shippable(plan.index), plan.index.digest(), table)


def _shippable(index: MatchIndex) -> MatchIndex:
    """``index`` without the lookup tables it built here (each worker builds its own
    from the arrays, which travel beside the pickle and are shared on a node)."""
    return MatchIndex(segments=list(index.segments), params=index.params)
