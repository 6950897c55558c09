"""A gate run over a plain JSON Lines, Parquet or WARC corpus decided shard by shard by an
engine's workers, and merged into the run one process would have made: the same
decisions, the same outputs in the same order, one manifest over every item.

``OUT/run.json`` holds the run's id and its shards (``consentry.gate.shards``); each
shard is decided into ``OUT/parts/shard-NNNNN`` and marked done when it is whole. An
interrupted or killed run resumes shard by shard (``--resume``): done shards are kept,
the others decided again. The engine runs the shards (``consentry.gate.engines``): on
the local one, workers plan the gate as a pipeline rank does, from the same registry and
the saved index; on Ray, they get the index and the run's consent, read once here, and
need no registry (``consentry.app.shard_deciding``); with ``index_shards``, the index
is held by that many actors of its own, a shard each, and the workers' lookups are
routed to them. Either way they join the run at the moment the registry recorded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consentry.app.gating import PlannedGate
from consentry.app.shard_deciding import PlannedInWorker, ShardJob, carried_gate
from consentry.app.workspace import Workspace
from consentry.errors import InputError, WorkInterruptedError
from consentry.gate import SiteSignals
from consentry.gate.engines import Engine, EngineName
from consentry.gate.engines.local import LocalEngine
from consentry.gate.finish import write_json
from consentry.gate.parts import STATE, merged_state, part_is_done
from consentry.gate.run import RunStats
from consentry.gate.shards import DEFAULT_SHARD_BYTES, Shard, plan_shards
from consentry.gate.sources import SourceTally
from consentry.ids import IdKind, new_id
from consentry.interrupts import stop_on_interrupt

__all__ = ["run_sharded"]

_PLAN = "run.json"


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
    engine: EngineName = EngineName.LOCAL,
    address: str | None = None,
    site_signals: SiteSignals | None = None,
    index_shards: int = 0,
) -> dict[str, Any]:
    """Decide ``corpus`` (``splittable``) shard by shard on ``engine``'s ``workers``
    (Ray: on the cluster at ``address``, else one started for the run; with
    ``index_shards``, the index held by that many actors, a shard each, instead of
    whole on every node) and merge the parts into ``out``; the summary, as
    ``run_gate`` returns it, with the engine's figures under ``engine``. Raises
    ``EngineUnavailableError`` before anything is written when the engine cannot run
    here, ``InputError`` for index shards off Ray, ``ShardFailedError`` naming a shard
    whose decision failed (the shards decided are kept for ``--resume``)."""
    if index_shards and engine is not EngineName.RAY:
        raise InputError(
            f"--index-shards {index_shards} holds the index on Ray actors: use it with --engine ray"
        )
    if engine is EngineName.RAY:
        from consentry.gate.engines.ray import import_ray  # noqa: PLC0415 - Ray is optional

        import_ray(address)
    held = _plan_of(plan, corpus, out, resume=resume, shard_bytes=shard_bytes)
    shards = [Shard.from_json(s) for s in held["shards"]]
    job = ShardJob(
        corpus,
        out,
        str(held["run_id"]),
        plan.licensee_id,
        plan.purpose,
        plan.policy,
        min_span,
        compress,
        checkpoint_every,
        site_signals,
    )
    parts = [job.part(s) for s in shards]
    todo = [s for s, p in zip(shards, parts, strict=True) if not part_is_done(p)]

    def done(shard: Shard, counts: dict[str, Any]) -> None:
        if on_progress is not None:
            on_progress(_stats([p for p in parts if part_is_done(p)]))

    runner, decide, figures = _engine(
        engine, ws, plan, job, workers=workers, address=address, index_shards=index_shards
    )
    with stop_on_interrupt() as stop:
        runner.run(todo, decide, on_done=done, stop=lambda: stop.asked)
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
    summary["engine"] = {"name": engine.value, "workers": workers, **figures()}
    write_json(out / "summary.json", summary)
    return summary


def _engine(
    name: EngineName,
    ws: Workspace,
    plan: PlannedGate,
    job: ShardJob,
    *,
    workers: int,
    address: str | None,
    index_shards: int,
) -> tuple[Engine, Callable[[Shard], dict[str, Any]], Callable[[], dict[str, Any]]]:
    """The engine named, what it decides each shard with, and its figures once run."""
    match name:
        case EngineName.LOCAL:
            return LocalEngine(workers), PlannedInWorker(job, ws.settings), dict
        case EngineName.RAY:
            from consentry.gate.engines.ray import RayEngine  # noqa: PLC0415 - Ray is optional

            ray = RayEngine(workers, address=address, index_shards=index_shards)

            def shipped() -> dict[str, Any]:
                return {} if ray.shipped is None else dict(ray.shipped.to_json())

            return ray, carried_gate(plan, job), shipped
