"""A training run's life on the registry: its start, recorded on the log so that the
run is decided as of the registry's moment, not a clock its licensee sets, and its
signed manifest, checked against that start before it is logged (DESIGN.md §5.3)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.clock import format_time, parse_time, utc_now
from consentry.crypto import SignedEnvelope, Signer, canonical_json, verify_document
from consentry.errors import InputError, NotFoundError, StateConflictError, VerificationError
from consentry.log.leaf import Leaf
from consentry.registry._context import RegistryContext
from consentry.registry.ledger import event_bodies, grants_recorded, revocations_recorded
from consentry.registry.records import Actor, EventKind, PartyKind
from consentry.store.models import EventRow, LogEntryRow
from consentry.terms import Category

__all__ = ["RUN_BOUND", "Runs"]

# How old a run's consent may be when its manifest is recorded: a run decides as of its
# start, and a manifest resting on consent older than this is refused.
RUN_BOUND = timedelta(days=30)


class Runs:
    """Runs' starts and manifests, each signed by the run's licensee."""

    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    def start(
        self,
        licensee_id: str,
        signer: Signer,
        run_id: str,
        purpose: Category,
        *,
        at: datetime | None = None,
    ) -> datetime:
        """Record that ``run_id`` begins now, on the log: the run is decided as of the
        moment the registry records here, not a clock its licensee sets. Returns it.

        ``at``: for a run decided offline from a snapshot the registry signed, the
        moment of that snapshot (the caller has checked its signature); never in the
        future, and within ``RUN_BOUND``."""
        now = utc_now()
        if at is not None:
            if at > now:
                raise InputError(f"run {run_id} cannot start after now ({format_time(at)})")
            _within_bound(run_id, at)
        with self._context.transaction() as session:
            self._context.require_actor(session, licensee_id, PartyKind.LICENSEE, signer.public)
            found, _ = event_bodies(self._context, session, EventKind.RUN_STARTED, [run_id])
            if found:
                raise StateConflictError(f"run {run_id} has started already")
            started = at or now
            self._context.append_event(
                session,
                kind=EventKind.RUN_STARTED,
                actor_id=licensee_id,
                subject_id=run_id,
                signer=signer,
                payload={
                    "run_id": run_id,
                    "purpose": purpose.value,
                    "started_at": format_time(started),
                },
            )
        return started

    def started(self, licensee: Actor, run_id: str) -> datetime:
        """The moment the registry recorded ``run_id``'s start, for its licensee."""
        with self._context.reading() as session:
            self._context.require(session, licensee, PartyKind.LICENSEE, to="resume their runs")
            started = self._run_start(session, licensee.party_id, run_id)
        # Refused before a resume decides anything, not when its manifest comes back.
        _within_bound(run_id, started)
        return started

    def _run_start(self, session: Session, licensee_id: str, run_id: str) -> datetime:
        found, problems = event_bodies(self._context, session, EventKind.RUN_STARTED, [run_id])
        if run_id in problems:
            raise VerificationError(problems[run_id])
        events = found.get(run_id, [])
        if not events or events[0][1]["actor"] != licensee_id:
            raise NotFoundError(
                f"the registry recorded no start of run {run_id} by {licensee_id}; "
                "a run is started through the registry (gate run), not resumed from elsewhere"
            )
        return parse_time(str(events[0][1]["payload"]["started_at"]), what="a run's start")

    def _check_manifest(self, session: Session, licensee_id: str, body: dict[str, Any]) -> None:
        """Refuse a manifest whose run the registry did not start when it says, whose
        consent is older than ``RUN_BOUND``, or that bills under a grant revoked at or
        before the run began."""
        run_id = str(body["run_id"])
        started = self._run_start(session, licensee_id, run_id)
        if body.get("started_at") != format_time(started):
            raise VerificationError(
                f"the manifest of run {run_id} says it began at {body.get('started_at')}, "
                f"but the registry recorded its start at {format_time(started)}"
            )
        _within_bound(run_id, started)
        grant_ids = sorted({str(w["grant_id"]) for w in body.get("works", ()) if w.get("grant_id")})
        grants, why = grants_recorded(self._context, session, grant_ids)
        revoked, refused = revocations_recorded(self._context, session, list(grants.values()))
        for grant_id in grant_ids:
            if grant_id in why or grant_id in refused:
                raise VerificationError(
                    f"the manifest of run {run_id} bills under a grant the registry's "
                    f"events do not establish: {why.get(grant_id) or refused[grant_id]}"
                )
        for grant_id, revocation in sorted(revoked.items()):
            if revocation.effective_at <= started:
                raise VerificationError(
                    f"the manifest of run {run_id} bills under grant {grant_id}, revoked from "
                    f"{format_time(revocation.effective_at)}, before the run began"
                )

    def record_manifest(
        self, licensee_id: str, signer: Signer, body: dict[str, Any], signature_b64: str
    ) -> None:
        """Append a training run's manifest, signed by the licensee, to the events,
        once checked against the run's recorded start (``_check_manifest``)."""
        with self._context.transaction() as session:
            licensee_key = self._context.require_actor(
                session, licensee_id, PartyKind.LICENSEE, signer.public
            )
            try:
                signature = base64.b64decode(signature_b64, validate=True)
            except ValueError:  # binascii.Error
                raise InputError(
                    "the manifest's signature is not base64; send the signature "
                    "'consentry gate run' wrote in manifest.json"
                ) from None
            envelope = SignedEnvelope(
                "training-manifest", canonical_json(body), licensee_key.key_id, signature
            )
            verify_document(envelope, licensee_key)
            works = body.get("works", [])
            if (
                not isinstance(body.get("run_id"), str)
                or not isinstance(works, list)
                or not all(isinstance(w, dict) and isinstance(w.get("work_id"), str) for w in works)
            ):
                raise InputError(
                    "a training manifest needs a run_id and a list of works; this one is "
                    "malformed: write it with 'consentry gate run'"
                )
            run_id = str(body["run_id"])
            recorded_before, _ = event_bodies(
                self._context, session, EventKind.MANIFEST_RECORDED, [run_id]
            )
            for _, event in recorded_before.get(run_id, []):
                if event["payload"].get("signature") == signature_b64:
                    return  # recorded already, by a run that stopped before it could say so
                raise StateConflictError(
                    f"run {run_id} has a manifest on the log already; a run is recorded once"
                )
            self._check_manifest(session, licensee_id, body)
            self._context.append_event(
                session,
                kind=EventKind.MANIFEST_RECORDED,
                actor_id=licensee_id,
                subject_id=str(body["run_id"]),
                signer=signer,
                payload={"manifest": body, "signature": signature_b64},
            )

    def of_licensee(self, licensee: Actor) -> tuple[list[dict[str, Any]], list[str]]:
        """The signed events of the licensee's runs (each start and each manifest),
        oldest first, each verified against the licensee's key; and a sentence for each
        such event that does not verify (set aside, not shown as the licensee's)."""
        kinds = (EventKind.RUN_STARTED.value, EventKind.MANIFEST_RECORDED.value)
        with self._context.reading() as session:
            key = self._context.require(session, licensee, PartyKind.LICENSEE, to="list their runs")
            rows = session.scalars(
                select(EventRow)
                .where(EventRow.actor_id == licensee.party_id, EventRow.kind.in_(kinds))
                .order_by(EventRow.seq)
            )
            found: list[dict[str, Any]] = []
            problems: list[str] = []
            for row in rows:
                try:
                    body = self._context.verified_event(session, row, signer=key)
                except VerificationError as exc:
                    problems.append(f"event {row.seq} ({row.kind}) is refused: {exc}")
                    continue
                found.append(body)
        return found, problems

    def events_of_run(self, run_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The signed events of ``run_id``, its start then its manifest once recorded,
        each as (its log index, the event's body), verified against the run's licensee's
        registered key: the stored event and its log leaf. Anyone holding the run's id
        may ask; the caller shows of the manifest only what is public.

        Raises ``NotFoundError`` for a run the registry did not start, and
        ``VerificationError`` naming the event that does not verify."""
        kinds = (EventKind.RUN_STARTED.value, EventKind.MANIFEST_RECORDED.value)
        with self._context.reading() as session:
            rows = session.execute(
                select(EventRow, LogEntryRow.idx, LogEntryRow.data)
                .join(LogEntryRow, LogEntryRow.event_seq == EventRow.seq)
                .where(EventRow.subject_id == run_id, EventRow.kind.in_(kinds))
                .order_by(EventRow.seq)
            ).all()
            if not rows or rows[0][0].kind != EventKind.RUN_STARTED.value:
                raise NotFoundError(f"the registry started no run {run_id}")
            licensee_id = rows[0][0].actor_id
            key = self._context.party_key(session, licensee_id, PartyKind.LICENSEE)
            found: list[tuple[int, dict[str, Any]]] = []
            for row, idx, data in rows:
                where = f"the {row.kind} event of run {run_id} (log entry {idx})"
                if row.actor_id != licensee_id:
                    raise VerificationError(
                        f"{where} is by {row.actor_id}, not the run's {licensee_id}"
                    )
                try:
                    body = self._context.verified_body(session, "event", row, signer=key)
                    # The leaf is what the log proves: it too must be the licensee's.
                    Leaf.parse(bytes(data)).verify(key)
                except VerificationError as exc:
                    raise VerificationError(f"{where} does not verify: {exc}") from exc
                if (body["event"], body["subject"], body["actor"]) != (
                    row.kind,
                    run_id,
                    licensee_id,
                ):
                    raise VerificationError(f"{where} differs from what its licensee signed")
                found.append((int(idx), body))
        return found


def _within_bound(run_id: str, started: datetime) -> None:
    """Raise unless a run that began at ``started`` is within ``RUN_BOUND``."""
    age = utc_now() - started
    if age > RUN_BOUND:
        raise InputError(
            f"run {run_id} began {age.days} days ago, past the registry's bound of "
            f"{RUN_BOUND.days} days for a run's consent: start a new run"
        )
