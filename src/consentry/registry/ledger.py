"""What the signed events establish: the grants, revocations and terms a decision
rests on (DESIGN.md §3: the log is the record of consent).

Every change is an event, signed by its actor, append-only and a leaf of the log; the
state tables (``grants``, ``revocations``, ``terms``, ...) are indexes to find things
by. A decision reads the document the event recorded, verified, never the row: a row
added, changed or deleted behind the services' back changes no decision, and
``state_problems`` (run by ``consentry log verify``) replays the events and names every
row that disagrees with them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.crypto import PublicKey, SignedEnvelope, canonical_json
from consentry.errors import InputError, NotFoundError, VerificationError
from consentry.registry._context import RegistryContext
from consentry.registry.grants import verify_grant, verify_revocation
from consentry.registry.records import EventKind, Grant, PartyKind, Revocation
from consentry.store.models import (
    DisputeRow,
    EventRow,
    GrantRow,
    LicenseeRow,
    LicenseRequestRow,
    OwnerRow,
    PublicKeyRow,
    RevocationRow,
    TermsRow,
    WorkRow,
)

__all__ = [
    "Recorded",
    "event_bodies",
    "grants_recorded",
    "recorded",
    "revocations_recorded",
    "state_problems",
]

# Subjects looked up per query: far under every backend's limit on bound parameters.
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Recorded:
    """A signed document as an event recorded it: its body and the signature over it,
    the event's number, and the event's actor (who signed both)."""

    seq: int
    actor_id: str
    subject_id: str
    body: dict[str, Any]
    signature: str

    def envelope(self, document: str, key: PublicKey) -> SignedEnvelope:
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VerificationError(
                f"event {self.seq}: its {document} signature is not base64"
            ) from exc
        return SignedEnvelope(document, canonical_json(self.body), key.key_id, signature)


def _event_rows(session: Session, kind: EventKind, subjects: Collection[str]) -> Iterator[EventRow]:
    ordered = sorted(subjects)
    for first in range(0, len(ordered), _BATCH):
        yield from session.scalars(
            select(EventRow)
            .where(EventRow.subject_id.in_(ordered[first : first + _BATCH]), EventRow.kind == kind)
            .order_by(EventRow.seq)
        )


def event_bodies(
    context: RegistryContext, session: Session, kind: EventKind, subjects: Collection[str]
) -> tuple[dict[str, list[tuple[int, dict[str, Any]]]], dict[str, str]]:
    """The signed body of each ``kind`` event about one of ``subjects``, oldest first
    per subject, each checked against its actor's key; and, per subject, a sentence
    for its first event that does not verify."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    problems: dict[str, str] = {}
    for row in _event_rows(session, kind, subjects):
        try:
            key = context.party_key(session, row.actor_id, PartyKind.of(row.actor_id))
            body = context.verified_event(session, row, signer=key)
        except (VerificationError, NotFoundError, InputError) as exc:
            # An actor that is no party, or none this registry knows, signed nothing.
            problems.setdefault(row.subject_id, f"event {row.seq} ({kind.value}) is refused: {exc}")
            continue
        found.setdefault(row.subject_id, []).append((row.seq, body))
    return found, problems


def recorded(
    context: RegistryContext,
    session: Session,
    kind: EventKind,
    document: str,
    subjects: Collection[str],
) -> tuple[dict[str, list[Recorded]], dict[str, str]]:
    """The ``document`` each ``kind`` event about one of ``subjects`` recorded, oldest
    first per subject, each event's signature checked against its actor's key; and,
    per subject, a sentence for its first event that does not verify."""
    bodies, problems = event_bodies(context, session, kind, subjects)
    found: dict[str, list[Recorded]] = {}
    for subject, events in bodies.items():
        for seq, body in events:
            try:
                document_body, signature = body["payload"][document], body["payload"]["signature"]
            except (KeyError, TypeError):
                problems.setdefault(subject, f"event {seq} ({kind.value}) has no {document}")
                continue
            found.setdefault(subject, []).append(
                Recorded(seq, str(body["actor"]), subject, document_body, str(signature))
            )
    return found, problems


def grants_recorded(
    context: RegistryContext, session: Session, grant_ids: Collection[str]
) -> tuple[dict[str, Grant], dict[str, str]]:
    """The grants the events issued, by id, each verified against its owner's key; and
    for each id with no grant so established, why."""
    found, problems = recorded(context, session, EventKind.GRANT_ISSUED, "grant", grant_ids)
    grants: dict[str, Grant] = {}
    why: dict[str, str] = {}
    for grant_id in grant_ids:
        issued = found.get(grant_id, [])
        if grant_id in problems:
            why[grant_id] = f"grant {grant_id} is refused: {problems[grant_id]}"
            continue
        if not issued:
            why[grant_id] = (
                f"grant {grant_id} was never issued on the registry's record of events "
                "(a row without its event); run 'consentry log verify'"
            )
            continue
        first = issued[0]
        try:
            owner_key = context.party_key(session, first.actor_id, PartyKind.OWNER)
            grant = verify_grant(
                first.envelope("grant", owner_key), owner_id=first.actor_id, owner_key=owner_key
            )
        except VerificationError as exc:
            why[grant_id] = f"grant {grant_id} is refused: {exc}"
            continue
        if grant.id != grant_id:
            why[grant_id] = f"the event issuing {grant_id} holds grant {grant.id}"
            continue
        grants[grant_id] = grant
    return grants, why


def revocations_recorded(
    context: RegistryContext, session: Session, grants: Collection[Grant]
) -> tuple[dict[str, Revocation], dict[str, str]]:
    """The revocation in force for each grant the events revoked: the earliest of those
    its owner signed for that very grant; and, for a grant whose revocation events do
    not verify, why it is refused (such a grant is never read as unrevoked)."""
    by_id = {grant.id: grant for grant in grants}
    found, problems = recorded(context, session, EventKind.GRANT_REVOKED, "revocation", by_id)
    out: dict[str, Revocation] = {}
    refused = {g: f"grant {g} is refused: its revocation {why}" for g, why in problems.items()}
    for grant_id, events in found.items():
        grant = by_id[grant_id]
        owner_key = context.party_key(session, grant.owner_id, PartyKind.OWNER)
        for event in events:
            try:
                revocation = verify_revocation(
                    event.envelope("revocation", owner_key),
                    owner_id=grant.owner_id,
                    owner_key=owner_key,
                )
            except VerificationError as exc:
                refused.setdefault(grant_id, f"grant {grant_id} is refused: its revocation {exc}")
                continue
            if revocation.grant_id != grant_id:
                # Signed for another grant, recorded against this one: not this
                # grant's to lose, and refused rather than guessed at.
                refused.setdefault(
                    grant_id,
                    f"grant {grant_id} is refused: event {event.seq} records a revocation "
                    f"of grant {revocation.grant_id} against it",
                )
                continue
            kept = out.get(grant_id)
            if kept is None or revocation.effective_at < kept.effective_at:
                out[grant_id] = revocation
    return out, refused


# -- replaying the whole record -------------------------------------------------------

# The signed state tables: the document their event records, and the table. Each row
# is compared on its body, its signature and the party column its event's actor fills.
_SIGNED_STATE: dict[EventKind, tuple[str, type[WorkRow | GrantRow | LicenseRequestRow], str]] = {
    EventKind.WORK_REGISTERED: ("work", WorkRow, "works"),
    EventKind.GRANT_ISSUED: ("grant", GrantRow, "grants"),
    EventKind.REQUEST_CREATED: ("license-request", LicenseRequestRow, "license_requests"),
}


def _actor_column(model: type[WorkRow | GrantRow | LicenseRequestRow]) -> Any:
    return LicenseRequestRow.licensee_id if model is LicenseRequestRow else model.owner_id


@dataclass
class _Expected:
    """The state the events establish, row by row: (body, signature) of each signed
    row by id, revocations by id, terms by (target, version), disputes by id, and each
    request's state."""

    signed: dict[str, dict[str, tuple[str, str, str]]]
    revocations: dict[str, tuple[str, str, str]]
    terms: dict[tuple[str, int], tuple[str, str]]
    disputes: dict[str, tuple[str, str, str]]
    request_states: dict[str, str]
    party_keys: dict[str, str]


def _replay(context: RegistryContext, session: Session, problems: list[str]) -> _Expected:
    expected = _Expected({table: {} for _, _, table in _SIGNED_STATE.values()}, {}, {}, {}, {}, {})
    keys: dict[str, PublicKey] = {}
    rows = session.execute(
        select(EventRow).order_by(EventRow.seq).execution_options(yield_per=5000)
    )
    for (row,) in rows:
        try:
            if row.actor_id not in keys:
                keys[row.actor_id] = context.party_key(
                    session, row.actor_id, PartyKind.of(row.actor_id)
                )
            body = context.verified_body(session, "event", row, signer=keys[row.actor_id])
        except (VerificationError, NotFoundError, InputError) as exc:
            problems.append(f"event {row.seq} ({row.kind} of {row.subject_id}) is refused: {exc}")
            continue
        try:
            _expect(expected, row, EventKind(row.kind), body["payload"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"event {row.seq} ({row.kind} of {row.subject_id}) is malformed")
    return expected


def _expect(expected: _Expected, row: EventRow, kind: EventKind, payload: Any) -> None:
    """What one verified event establishes, added to ``expected``."""
    signed = _SIGNED_STATE.get(kind)
    if signed is not None:
        document, _, table = signed
        text = canonical_json(payload[document]).decode("utf-8")
        expected.signed[table][row.subject_id] = (text, str(payload["signature"]), row.actor_id)
    if kind is EventKind.GRANT_ISSUED:
        expected.request_states[str(payload["grant"]["request"])] = "granted"
    elif kind is EventKind.GRANT_REVOKED:
        revocation = payload["revocation"]
        expected.revocations[str(revocation["id"])] = (
            row.subject_id,
            canonical_json(revocation).decode("utf-8"),
            str(payload["signature"]),
        )
    elif kind is EventKind.TERMS_SET:
        terms = payload["terms"]
        expected.terms[(row.subject_id, int(terms["terms_version"]))] = (
            canonical_json(terms).decode("utf-8"),
            str(payload["signature"]),
        )
    elif kind is EventKind.DISPUTE_OPENED:
        expected.disputes[str(payload["dispute"])] = (
            str(payload["work"]),
            row.actor_id,
            str(payload["digest"]),
        )
    elif kind in _REQUEST_STATES:
        expected.request_states[row.subject_id] = _REQUEST_STATES[kind]
    elif kind in (EventKind.OWNER_CREATED, EventKind.LICENSEE_CREATED):
        # A party's key is the one its own first event was signed with and names.
        expected.party_keys[row.subject_id] = str(payload["public_key"])


_REQUEST_STATES = {
    EventKind.REQUEST_CREATED: "pending",
    EventKind.REQUEST_COUNTERED: "countered",
    EventKind.REQUEST_ACCEPTED: "accepted",
    EventKind.REQUEST_DENIED: "denied",
}


def _compare(
    what: str, expected: dict[Any, Any], found: dict[Any, Any], problems: list[str]
) -> None:
    for key in sorted(expected.keys() - found.keys(), key=str):
        problems.append(f"{what} {_name(key)} is recorded by its event but has no row")
    for key in sorted(found.keys() - expected.keys(), key=str):
        problems.append(f"{what} {_name(key)} has a row that no event recorded")
    for key in sorted(expected.keys() & found.keys(), key=str):
        if expected[key] != found[key]:
            problems.append(f"{what} {_name(key)} differs from what its event recorded")


def _name(key: Any) -> str:
    return f"{key[0]} v{key[1]}" if isinstance(key, tuple) else str(key)


def state_problems(context: RegistryContext, session: Session) -> list[str]:
    """Replay every event and compare each state row with what the events establish:
    one sentence per row missing, added or changed outside the services, naming it."""
    problems: list[str] = []
    expected = _replay(context, session, problems)
    for _, model, table in _SIGNED_STATE.values():
        found = {
            str(row_id): (str(body), str(signature), str(actor))
            for row_id, body, signature, actor in session.execute(
                select(
                    model.id, model.body, model.signature, _actor_column(model)
                ).execution_options(yield_per=5000)
            )
        }
        _compare(f"{table} row", expected.signed[table], found, problems)
    _compare(
        "revocation",
        expected.revocations,
        {
            row.id: (row.grant_id, row.body, row.signature)
            for row in session.scalars(select(RevocationRow))
        },
        problems,
    )
    _compare(
        "terms of",
        expected.terms,
        {
            (row.target_id, row.version): (row.body, row.signature)
            for row in session.scalars(select(TermsRow))
        },
        problems,
    )
    _compare(
        "dispute",
        expected.disputes,
        {
            row.id: (row.work_id, row.claimant_id, row.digest)
            for row in session.scalars(select(DisputeRow))
        },
        problems,
    )
    states = {
        str(request_id): str(state)
        for request_id, state in session.execute(
            select(LicenseRequestRow.id, LicenseRequestRow.state)
        )
    }
    _compare("licence request state of", expected.request_states, states, problems)
    keys: dict[str, str] = {}
    for party in (OwnerRow, LicenseeRow):
        keys.update(
            (str(party_id), str(public_key))
            for party_id, public_key in session.execute(
                select(party.id, PublicKeyRow.public_key).join(
                    PublicKeyRow, PublicKeyRow.key_id == party.key_id
                )
            )
        )
    _compare("the key of party", expected.party_keys, keys, problems)
    return problems
