"""Running the gate for a licensee: the index refreshed from the registry, consent
read as of the run's moment, the manifest signed with the licensee's own key.

``plan_gate`` is what every way of running the gate shares (the CLI's file runs, the
datatrove step's ranks); ``run_gate`` drives a plan over a corpus file or folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from consentry.app.index import index_folder, workspace_index
from consentry.app.snapshots import snapshot_moment
from consentry.app.workspace import Workspace
from consentry.clock import parse_time
from consentry.crypto import Signer, parse_json_object
from consentry.errors import InputError
from consentry.gate import DEFAULT_OPEN_LICENCES, Gate, GateMode, GatePolicy
from consentry.gate.engines import EngineName
from consentry.gate.gate import DEFAULT_MIN_SPAN
from consentry.gate.parts import STATE, merge_parts
from consentry.gate.readers.warc import is_warc, warc_site_files
from consentry.gate.reservations import SITE_FILES, SiteSignals
from consentry.gate.run import (
    Describe,
    GateRun,
    RunMoment,
    RunSettings,
    RunStats,
    registry_hooks,
    work_names,
)
from consentry.gate.run import run_gate as run_gate_over
from consentry.gate.shards import DEFAULT_SHARD_BYTES, splittable
from consentry.index import MatchIndex
from consentry.registry import PartyKind
from consentry.terms import Category

__all__ = [
    "LabRun",
    "PlannedGate",
    "gate_policy",
    "merge_gate_parts",
    "plan_gate",
    "record_manifest",
    "run_gate",
    "run_started",
    "runs_of",
    "start_run",
]


def gate_policy(
    mode: GateMode,
    *,
    open_licences: Iterable[str] = (),
    own_sources: Iterable[str] = (),
    agent: str | None = None,
) -> GatePolicy:
    """What a licensee accepts as a basis for unregistered items: ``open_licences``
    (SPDX ids; none given means the default list) and its own data, by
    ``metadata.source`` or URL prefix; ``agent``: the crawler token whose robots.txt
    rules bind it (None: every AI crawler's)."""
    return GatePolicy(
        mode=mode,
        open_licences=frozenset(open_licences) or DEFAULT_OPEN_LICENCES,
        own_sources=frozenset(own_sources),
        agent=agent.strip() or None if agent is not None else None,
    )


@dataclass(frozen=True, slots=True)
class PlannedGate:
    """A gate ready to decide for one licensee and purpose."""

    licensee_id: str
    purpose: Category
    policy: GatePolicy
    index: MatchIndex
    index_folder: Path
    signer: Signer
    gate_for: Callable[[datetime], Gate]
    record_manifest: Callable[[dict[str, Any], str], None]
    describe: Describe | None = None
    moment: RunMoment | None = None

    def settings(self, corpus: Path | str, out: Path, **options: Any) -> RunSettings:
        """The run settings for this plan over ``corpus`` into ``out``."""
        return RunSettings(corpus, out, self.licensee_id, self.purpose, self.policy.mode, **options)

    def open_run(self, settings: RunSettings, *, started: bool = False) -> GateRun:
        """A run that a pipeline feeds item by item (``decide_chunk``, ``finish``);
        ``started``: one part of a run whose start is recorded already (under
        ``settings.run_id``), which it joins at that moment."""
        moment = self.moment
        if started and self.moment is not None:
            recorded = self.moment

            def joined(run_id: str, resuming: bool) -> datetime:
                return recorded(run_id, True)  # the moment recorded, never a new start

            moment = joined
        return GateRun(
            settings,
            gate_for=self.gate_for,
            key=self.signer,
            index_digest=self.index.digest(),
            record_manifest=self.record_manifest,
            describe=self.describe,
            moment=moment,
        )

    def start(self, run_id: str) -> None:
        """Record on the registry that run ``run_id`` begins now (its parts join it)."""
        if self.moment is not None:
            self.moment(run_id, False)

    def merge(self, parts: Sequence[Path], settings: RunSettings) -> dict[str, Any]:
        """One signed, recorded manifest for the run whose finished ``parts`` these are
        (``consentry.gate.parts.merge_parts``); the summary."""
        return merge_parts(
            parts,
            settings,
            key=self.signer,
            record_manifest=self.record_manifest,
            describe=self.describe,
        )


def plan_gate(
    ws: Workspace,
    *,
    licensee_id: str,
    purpose: Category,
    policy: GatePolicy,
    save_index: bool = True,
    min_span: int = DEFAULT_MIN_SPAN,
    site_signals: SiteSignals | None = None,
) -> PlannedGate:
    """Refresh the index and prepare the gate. ``save_index`` False for processes that
    run side by side (pipeline ranks): they read the saved index and write none.

    Raises ``NotFoundError`` for an unknown licensee and ``KeyStoreError`` when this
    machine does not hold its key: only the licensee signs its manifest. ``min_span``
    is the one evidence rule of the gate and the check (normalised characters);
    ``site_signals`` the corpus's sites' signal files, held locally."""
    signer = ws.signer(licensee_id, PartyKind.LICENSEE)
    # One purpose for the run: the one consent is asked for is the one signals bind.
    policy = replace(policy, purpose=purpose)
    index = workspace_index(ws, save=save_index)
    gate_for, record, moment = registry_hooks(
        ws.registry,
        index,
        licensee_id=licensee_id,
        key=signer,
        purpose=purpose,
        policy=policy,
        min_span=min_span,
        site_signals=site_signals,
    )
    return PlannedGate(
        licensee_id,
        purpose,
        policy,
        index,
        index_folder(ws),
        signer,
        gate_for,
        record,
        work_names(ws.registry),
        moment,
    )


def run_gate(
    ws: Workspace,
    corpus: Path,
    out: Path,
    *,
    licensee_id: str,
    purpose: Category,
    policy: GatePolicy,
    on_progress: Callable[[RunStats], None] | None = None,
    min_span: int = DEFAULT_MIN_SPAN,
    signals: Path | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run the gate over ``corpus`` into ``out`` (DESIGN.md §5.3); returns the summary.
    ``signals``: a mirror of the corpus's sites' signal files (``DIR/<host>/robots.txt``
    and so on); a WARC corpus's own responses for those files are read too.
    ``options``: ``RunSettings``' (``compress``, ``resume``, ``checkpoint_every``,
    ``workers``), and ``shard_bytes``, ``engine`` (an ``EngineName``), ``address``
    (a Ray cluster's) and ``index_shards`` (Ray actors holding the index, a shard
    each) for a run decided in shards."""
    site = site_signals_for(corpus, signals)
    plan = plan_gate(
        ws,
        licensee_id=licensee_id,
        purpose=purpose,
        policy=policy,
        min_span=min_span,
        site_signals=site or None,
    )
    shard_bytes = int(options.pop("shard_bytes", DEFAULT_SHARD_BYTES))
    engine = EngineName(options.pop("engine", EngineName.LOCAL))
    address = options.pop("address", None)
    index_shards = int(options.pop("index_shards", 0))
    if index_shards and engine is not EngineName.RAY:
        # Refused here, not by the sharded run: a small corpus on the local engine never
        # reaches it, and the option would be ignored without a word.
        raise InputError(
            f"--index-shards {index_shards} holds the index on Ray actors: use it with --engine ray"
        )
    if _in_shards(ws, corpus, out, options, shard_bytes, engine):
        # Imported here: it imports this module.
        from consentry.app.sharded_gating import run_sharded  # noqa: PLC0415

        return run_sharded(
            ws,
            plan,
            corpus,
            out,
            workers=int(options["workers"]),
            min_span=min_span,
            compress=bool(options.get("compress", False)),
            resume=bool(options.get("resume", False)),
            checkpoint_every=int(options.get("checkpoint_every", 1000)),
            shard_bytes=shard_bytes,
            on_progress=on_progress,
            engine=engine,
            address=None if address is None else str(address),
            site_signals=site or None,
            index_shards=index_shards,
        )
    return run_gate_over(
        plan.settings(corpus, out, **options),
        gate_for=plan.gate_for,
        key=plan.signer,
        index_digest=plan.index.digest(),
        record_manifest=plan.record_manifest,
        on_progress=on_progress,
        index_folder=plan.index_folder,
        describe=plan.describe,
        moment=plan.moment,
    )


def _in_shards(
    ws: Workspace,
    corpus: Path,
    out: Path,
    options: dict[str, Any],
    shard_bytes: int,
    engine: EngineName,
) -> bool:
    """Whether the run is decided shard by shard by an engine's workers: always on Ray;
    locally, several workers over a plain JSON Lines, Parquet or WARC file larger
    than one shard, against a registry each worker can open itself (not a served one, nor a
    snapshot's); and a run begun so resumes so. Raises ``InputError`` for a corpus
    the Ray engine cannot cut into shards."""
    if (out / "run.json").is_file() or (out / STATE).is_file():
        return (out / "run.json").is_file()
    match engine:
        case EngineName.RAY:
            if not splittable(corpus):
                raise InputError(
                    f"--engine ray decides a file it can cut into shards, plain JSON Lines "
                    f"(.jsonl, .json, .ndjson), Parquet or WARC (.warc, .warc.gz), and "
                    f"{corpus} is none of them; decompress or convert it, or use "
                    "--engine local"
                )
            return True
        case EngineName.LOCAL:
            return (
                int(options.get("workers", 1)) > 1
                and splittable(corpus)
                and corpus.stat().st_size > shard_bytes
                and type(ws) is Workspace
            )


def site_signals_for(corpus: Path, mirror: Path | None) -> SiteSignals:
    """The signal files of a corpus's sites: from ``mirror``, and from the corpus's
    own responses for them when it is a WARC (the mirror's copy wins).

    Raises ``InputError`` for a mirror that is not a folder."""
    if mirror is not None and not mirror.is_dir():
        raise InputError(
            f"--signals {mirror} is not a folder; give a folder holding <host>/robots.txt, "
            "<host>/.well-known/tdmrep.json or <host>/ai.txt files"
        )
    site = SiteSignals.from_mirror(mirror) if mirror is not None else SiteSignals()
    if is_warc(corpus):
        found = SiteSignals.from_responses(warc_site_files(corpus, SITE_FILES.values()))
        site = SiteSignals({**found.files, **site.files})
    return site


def start_run(
    ws: Workspace,
    *,
    licensee_id: str,
    run_id: str,
    purpose: Category,
    snapshot_note: str | None = None,
) -> datetime:
    """Record on the registry that the licensee's run begins now, or, for a run made
    offline from a snapshot, as of the snapshot its signed ``snapshot_note`` names (the
    log key's signature on it is checked here); returns that moment."""
    signer = ws.signer(licensee_id, PartyKind.LICENSEE)
    at = None
    if snapshot_note is not None:
        at = snapshot_moment(ws, snapshot_note, licensee_id=licensee_id)
    return ws.registry.runs.start(licensee_id, signer, run_id, purpose, at=at)


def run_started(ws: Workspace, *, licensee_id: str, run_id: str) -> datetime:
    """The moment the registry recorded the licensee's run ``run_id`` began."""
    return ws.registry.runs.started(ws.actor(licensee_id, PartyKind.LICENSEE), run_id)


def merge_gate_parts(ws: Workspace, folder: Path, *, licensee_id: str) -> dict[str, Any]:
    """Finish a run decided in parts whose last part did not merge them (a pipeline
    job stopped after its ranks finished): the parts in ``folder`` merged into one
    manifest, signed by the licensee and recorded; the summary. Raises ``InputError``
    when ``folder`` holds no such run, a part is unfinished, or the run is another
    licensee's."""
    named = folder / "run.json"
    if not named.is_file():
        raise InputError(
            f"{folder} holds no run decided in parts (no run.json); give the pipeline "
            "step's output_folder"
        )
    run = parse_json_object(named.read_bytes(), what=f"run file {named}")
    count, run_id = run.get("parts"), run.get("run_id")
    if not isinstance(count, int) or count < 1 or not isinstance(run_id, str):
        raise InputError(f"{named} does not name a run and its parts; it was edited or cut")
    if (folder / "manifest.json").exists():
        raise InputError(f"run {run_id} in {folder} is merged already: see its manifest.json")
    parts = [folder / f"rank-{number:05d}" for number in range(count)]
    missing = [p.name for p in parts if not (p / STATE).is_file()]
    if missing:
        raise InputError(
            f"part(s) {', '.join(missing)} of run {run_id} never started; run the pipeline "
            "again to decide them, then merge"
        )
    first = json.loads((parts[0] / STATE).read_text())
    if first.get("licensee") != licensee_id:
        raise InputError(f"run {run_id} is licensee {first.get('licensee')}'s, not {licensee_id}'s")
    signer = ws.signer(licensee_id, PartyKind.LICENSEE)

    def recorded(manifest: dict[str, Any], signature: str) -> None:
        ws.registry.runs.record_manifest(licensee_id, signer, manifest, signature)

    settings = RunSettings(
        f"datatrove:{folder.resolve()}",
        folder,
        licensee_id,
        Category(first["purpose"]),
        GateMode(first["mode"]),
        admitted_content=False,
        run_id=run_id,
    )
    summary = merge_parts(
        parts, settings, key=signer, record_manifest=recorded, describe=work_names(ws.registry)
    )
    (folder / ".merge-claim").unlink(missing_ok=True)
    return summary


def record_manifest(
    ws: Workspace, *, licensee_id: str, manifest: dict[str, Any], signature: str
) -> None:
    """Put the licensee's signed manifest of a finished run on the log."""
    signer = ws.signer(licensee_id, PartyKind.LICENSEE)
    ws.registry.runs.record_manifest(licensee_id, signer, manifest, signature)


@dataclass(frozen=True, slots=True)
class LabRun:
    """One of a licensee's runs as its signed events record it: when it started, for
    what purpose, and the manifest it recorded (None until it has)."""

    run_id: str
    purpose: str
    started_at: datetime | None
    manifest: dict[str, Any] | None
    recorded_at: datetime | None


def runs_of(ws: Workspace, *, licensee_id: str) -> tuple[list[LabRun], list[str]]:
    """The licensee's runs, newest first, read from the events it signed (each
    verified against its key); and a sentence for each event that does not verify."""
    events, problems = ws.registry.runs.of_licensee(ws.actor(licensee_id, PartyKind.LICENSEE))
    started: dict[str, tuple[str, datetime]] = {}
    recorded: dict[str, tuple[dict[str, Any], datetime]] = {}
    for event in events:
        payload, run_id = event["payload"], str(event["subject"])
        if event["event"] == "run.started":
            when = parse_time(str(payload["started_at"]), what="a run's start")
            started.setdefault(run_id, (str(payload["purpose"]), when))
        elif isinstance(payload.get("manifest"), dict):
            when = parse_time(str(event["at"]), what="a manifest's recording")
            recorded.setdefault(run_id, (payload["manifest"], when))
    runs = []
    for run_id in dict.fromkeys([*started, *recorded]):
        purpose, start = started.get(run_id, ("", None))
        manifest, at = recorded.get(run_id, (None, None))
        if manifest is not None and not purpose:
            purpose = str(manifest.get("purpose", ""))
        runs.append(LabRun(run_id, purpose, start, manifest, at))
    newest = [r.started_at or r.recorded_at for r in runs]
    order = sorted(range(len(runs)), key=lambda i: newest[i] or datetime.min, reverse=True)
    return [runs[i] for i in order], problems
