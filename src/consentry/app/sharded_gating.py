"""A gate run over a plain JSON Lines corpus decided shard by shard by an engine's
workers, and merged into the run one process would have made: the same decisions, the
same outputs in the same order, one manifest over every item.

``OUT/run.json`` holds the run's id and its shards (byte ranges of the corpus); each
shard is decided into ``OUT/parts/shard-NNNNN`` and marked done when it is whole. An
interrupted or killed run resumes shard by shard (``--resume``): done shards are kept,
the others decided again. Workers plan the gate as a pipeline rank does, from the same
registry and the saved index, and join the run at the moment the registry recorded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from consentry.app.gating import PlannedGate, plan_gate
from consentry.app.workspace import Workspace
from consentry.errors import InputError, WorkInterruptedError
from consentry.gate import GatePolicy
from consentry.gate.engines.local import LocalEngine
from consentry.gate.gate import CHUNK
from consentry.gate.item import CHUNK_BYTES, chunked, held_bytes
from consentry.gate.parts import STATE, merged_state, part_is_done
from consentry.gate.readers import read_jsonl
from consentry.gate.run import RunSettings, RunStats
from consentry.gate.shards import DEFAULT_SHARD_BYTES, Shard, plan_shards
from consentry.gate.sources import SourceTally
from consentry.ids import IdKind, new_id
from consentry.interrupts import stop_on_interrupt
from consentry.settings import Settings
from consentry.terms import Category

__all__ = ["ShardJob", "run_sharded"]

_PLAN = "run.json"


@dataclass(frozen=True, slots=True)
class ShardJob:
    """What a worker needs to decide a shard of the run, sent to it once per shard."""

    settings: Settings
    corpus: Path
    out: Path
    run_id: str
    licensee_id: str
    purpose: Category
    policy: GatePolicy
    min_span: int
    compress: bool
    checkpoint_every: int

    def part(self, shard: Shard) -> Path:
        return self.out / "parts" / f"shard-{shard.number:05d}"


# One planned gate per worker process and run, made at its first shard.
_PLANNED: dict[str, tuple[Workspace, PlannedGate]] = {}


def _planned(job: ShardJob) -> PlannedGate:
    held = _PLANNED.get(job.run_id)
    if held is None:
        ws = Workspace(job.settings)
        plan = plan_gate(
            ws,
            licensee_id=job.licensee_id,
            purpose=job.purpose,
            policy=job.policy,
            save_index=False,
            min_span=job.min_span,
        )
        held = _PLANNED[job.run_id] = (ws, plan)
    return held[1]


def decide_shard(job: ShardJob, shard: Shard) -> dict[str, Any]:
    """Decide ``shard`` into its part, as of the run's recorded moment; its counts."""
    plan = _planned(job)
    part = job.part(shard)
    if part.exists():
        shutil.rmtree(part)  # an unfinished part: decided again, whole
    run = plan.open_run(
        RunSettings(
            f"{job.corpus.resolve()}#shard-{shard.number}",
            part,
            job.licensee_id,
            job.purpose,
            job.policy.mode,
            compress=job.compress,
            checkpoint_every=job.checkpoint_every,
            run_id=job.run_id,
        ),
        started=True,
    )
    try:
        items = read_jsonl(job.corpus, lines=shard.lines)
        for chunk in chunked(items, held=held_bytes, max_items=CHUNK, max_bytes=CHUNK_BYTES):
            run.decide_chunk(chunk)
    except BaseException:
        run.close()
        raise
    run.finish_part()
    stats = run.stats
    return {"items": stats.items, "bytes": stats.bytes, "rejected": stats.rejected}


def _plan_of(
    plan: PlannedGate, corpus: Path, out: Path, *, resume: bool, shard_bytes: int
) -> dict[str, Any]:
    """The run's plan: taken up from ``out`` with ``resume``, else made, its start
    recorded on the registry. Refuses a folder holding something else."""
    named = out / _PLAN
    expected = {
        "corpus": str(corpus.resolve()),
        "size": corpus.stat().st_size,
        "licensee": plan.licensee_id,
        "purpose": plan.purpose.value,
        "mode": plan.policy.mode.value,
    }
    if (out / "manifest.json").exists():
        raise InputError(f"{out} already holds a finished run; choose another --out")
    if named.exists():
        if not resume:
            raise InputError(
                f"{out} holds an unfinished run; pass --resume to finish it or choose another --out"
            )
        held: dict[str, Any] = json.loads(named.read_text())
        for name, value in expected.items():
            if held.get(name) != value:
                raise InputError(
                    f"--resume: the unfinished run in {out} had {name} {held.get(name)!r}, "
                    f"not {value!r}"
                )
        return held
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} is not empty; give the run an empty or new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    run_id = new_id(IdKind.RUN)
    plan.start(run_id)
    made = {
        **expected,
        "run_id": run_id,
        "shards": [s.to_json() for s in plan_shards(corpus, target_bytes=shard_bytes)],
    }
    partial_plan = out / f".{_PLAN}.partial"
    partial_plan.write_text(json.dumps(made, indent=2))
    partial_plan.replace(named)
    return made


def _stats(parts: list[Path]) -> RunStats:
    """What the done ``parts`` add up to, for the progress shown."""
    states = [json.loads((p / STATE).read_text()) for p in parts]
    if not states:
        return RunStats()
    merged = merged_state(states)
    return RunStats(
        merged["items"],
        merged["admitted"],
        merged["rejected"],
        merged["bytes"],
        sources=SourceTally.from_state(merged["sources"]),
    )


def run_sharded(
    ws: Workspace,
    plan: PlannedGate,
    corpus: Path,
    out: Path,
    *,
    workers: int,
    min_span: int,
    compress: bool = False,
    resume: bool = False,
    checkpoint_every: int = 1000,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    on_progress: Callable[[RunStats], None] | None = None,
) -> dict[str, Any]:
    """Decide ``corpus`` (plain JSON Lines) shard by shard on ``workers`` processes
    and merge the parts into ``out``; the summary, as ``run_gate`` returns it."""
    held = _plan_of(plan, corpus, out, resume=resume, shard_bytes=shard_bytes)
    shards = [Shard.from_json(s) for s in held["shards"]]
    job = ShardJob(
        ws.settings,
        corpus,
        out,
        str(held["run_id"]),
        plan.licensee_id,
        plan.purpose,
        plan.policy,
        min_span,
        compress,
        checkpoint_every,
    )
    parts = [job.part(s) for s in shards]
    todo = [s for s, p in zip(shards, parts, strict=True) if not part_is_done(p)]

    def done(shard: Shard, counts: dict[str, Any]) -> None:
        if on_progress is not None:
            on_progress(_stats([p for p in parts if part_is_done(p)]))

    with stop_on_interrupt() as stop:
        LocalEngine(workers).run(
            todo, partial(decide_shard, job), on_done=done, stop=lambda: stop.asked
        )
        if stop.asked:
            finished = sum(part_is_done(p) for p in parts)
            raise WorkInterruptedError(
                f"interrupted: {finished:,} of {len(parts):,} shards decided and saved in {out}",
                resume=True,
            )
    summary = plan.merge(
        parts,
        plan.settings(corpus, out, compress=compress, run_id=str(held["run_id"])),
    )
    shutil.rmtree(out / "parts", ignore_errors=True)
    (out / _PLAN).unlink()
    return summary
