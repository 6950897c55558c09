"""The log leaf for each event, and the bulk write of a transaction's events.

The salts that make its commitments hiding are created here, one per identity (a party,
a work, a record) and one per event for its content, and kept in ``log_salts`` tagged
with the party whose data they protect, so that erasing that party deletes them.

A transaction's events are queued as they happen and written together when it commits:
one query for the salts they need, one multi-row insert each for events, their log
entries (each event is a leaf of the tree when its transaction commits), new salts and
manifest work lists, instead of round trips per row. That is what lets a
bulk registration append thousands of events a second; nothing inside a transaction
reads its own events back. A bulk registration on PostgreSQL (``bulk_events``) writes
its events, leaves and salts with ``COPY`` instead, their numbers drawn first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from consentry.crypto import Signer
from consentry.errors import StaleSigningError
from consentry.ids import IdKind, kind_of
from consentry.log.leaf import Commitment, Domain, new_salt, sign_leaf
from consentry.log.tree import leaf_hash
from consentry.registry.records import EventKind
from consentry.replay import replay_base
from consentry.store.bulk import copy_rows, next_values, supports_copy
from consentry.store.models import (
    Base,
    EventRow,
    LogEntryRow,
    LogManifestWorksRow,
    LogSaltRow,
    LogStateRow,
)

__all__ = ["bulk_events", "domain_of", "queue_event", "write_events"]

_EVENTS = "consentry.events"
_BULK = "consentry.bulk_events"
_EVENT_COLUMNS = (
    "seq", "kind", "actor_id", "subject_id", "created_at", "body", "key_id", "signature"
)  # fmt: skip


def domain_of(identifier: str) -> Domain:
    """The commitment domain an id belongs to, read from its prefix."""
    match kind_of(identifier):
        case IdKind.OWNER | IdKind.LICENSEE:
            return Domain.PARTY
        case IdKind.WORK:
            return Domain.WORK
        case _:
            return Domain.RECORD


@dataclass(frozen=True, slots=True)
class _QueuedEvent:
    row: dict[str, Any]
    at: str
    body: bytes
    signer: Signer
    subject_party: str
    listed: tuple[tuple[str, str], ...] | None  # a manifest's (work id, owner id) pairs


def _salt_name(identifier: str) -> str:
    return f"{domain_of(identifier)}:{identifier}"


def _listed_works(payload: dict[str, Any], actor_id: str) -> tuple[tuple[str, str], ...] | None:
    manifest = payload.get("manifest")
    if not isinstance(manifest, dict):
        return None
    works = manifest.get("works")
    if not isinstance(works, list):
        return ()
    return tuple((str(w["work_id"]), str(w.get("owner_id") or actor_id)) for w in works)


def queue_event(
    session: Session,
    row: dict[str, Any],
    *,
    at: str,
    body: bytes,
    signer: Signer,
    payload: dict[str, Any],
) -> None:
    """Queue an event for ``write_events`` at commit, where its leaf is signed with
    the actor's signer once the salts of all the transaction's events are known.
    ``row``: the ``events`` columns."""
    actor_id, subject_id = row["actor_id"], row["subject_id"]
    subject_party = subject_id if domain_of(subject_id) is Domain.PARTY else actor_id
    queued = _QueuedEvent(row, at, body, signer, subject_party, _listed_works(payload, actor_id))
    session.info.setdefault(_EVENTS, []).append(queued)


class _Salts:
    """The salts a batch of events needs: read in one query per thousand, the missing
    ones made and remembered for insertion."""

    def __init__(self, session: Session, owners: dict[str, str]) -> None:
        names = list(owners)
        self.known: dict[str, bytes] = {}
        for first in range(0, len(names), 1000):
            chunk = names[first : first + 1000]
            rows = session.execute(
                select(LogSaltRow.name, LogSaltRow.salt).where(LogSaltRow.name.in_(chunk))
            )
            self.known.update({str(name): bytes(salt) for name, salt in rows})
        self.new: list[dict[str, Any]] = []
        for name, party in owners.items():
            if name not in self.known:
                self.known[name] = new_salt()
                self.new.append({"name": name, "salt": self.known[name], "party_id": party})

    def commitment(self, identifier: str) -> Commitment:
        return Commitment(domain_of(identifier), self.known[_salt_name(identifier)], identifier)


def _salt_owners(queued: list[_QueuedEvent]) -> dict[str, str]:
    """Each salt name the events need, with the party whose data it protects (the
    first event to name an identity decides, as it would have created it)."""
    owners: dict[str, str] = {}
    for event in queued:
        actor_id = event.row["actor_id"]
        owners.setdefault(_salt_name(actor_id), actor_id)
        owners.setdefault(_salt_name(event.row["subject_id"]), event.subject_party)
        for work_id, owner_id in event.listed or ():
            owners.setdefault(_salt_name(work_id), owner_id)
    return owners


def _not_behind(session: Session, ours: Sequence[int]) -> None:
    """A change signed in rounds carries the moment of its first round. Refuse to
    commit it behind a revocation or new terms that committed since: a run would
    otherwise start, as of that moment, under consent already narrowed. (Other changes
    in between do not matter to it, and refusing them would stall a busy registry.) The
    log's row lock is held here, so nothing can commit in between."""
    moment = replay_base()
    if moment is None:
        return
    narrowed = session.scalar(
        select(EventRow.seq)
        .where(
            EventRow.created_at > moment,
            EventRow.kind.in_([EventKind.GRANT_REVOKED.value, EventKind.TERMS_SET.value]),
            EventRow.seq.not_in(list(ours)),
        )
        .limit(1)
    )
    if narrowed is not None:
        raise StaleSigningError(
            "a revocation or new terms were recorded while this change was being signed; "
            "it is signed anew, as of now (send the request again without signatures)"
        )


def bulk_events(session: Session) -> bool:
    """Have this transaction's events written with ``COPY`` where the database takes it
    (PostgreSQL); returns whether it does. The same rows as ``INSERT`` writes."""
    copying = supports_copy(session)
    if copying:
        session.info[_BULK] = True
    return copying


def _insert_events(session: Session, queued: list[_QueuedEvent], copying: bool) -> list[int]:
    """Write the events; their numbers, in the order queued."""
    if not copying:
        return list(
            session.scalars(
                insert(EventRow).returning(EventRow.seq, sort_by_parameter_order=True),
                [q.row for q in queued],
            ).all()
        )
    seqs = next_values(session, EventRow.__tablename__, "seq", len(queued))
    rows = [
        (seq, *(q.row[c] for c in _EVENT_COLUMNS[1:])) for seq, q in zip(seqs, queued, strict=True)
    ]
    copy_rows(session, EventRow.__tablename__, _EVENT_COLUMNS, rows)
    return seqs


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]], copying: bool) -> None:
    if not rows:
        return
    if not copying:
        session.execute(insert(model), rows)
        return
    columns = tuple(rows[0])
    copy_rows(session, model.__tablename__, columns, [tuple(r[c] for c in columns) for r in rows])


def write_events(session: Session) -> None:
    """Write the transaction's queued events, their signed leaves and new salts."""
    queued: list[_QueuedEvent] = session.info.pop(_EVENTS, [])
    copying = bool(session.info.pop(_BULK, False))
    if not queued:
        return
    session.flush()  # the rows the events are about go first
    salts = _Salts(session, _salt_owners(queued))
    seqs = _insert_events(session, queued, copying)
    leaves: list[tuple[int, bytes]] = []
    manifests, content_salts = [], []
    for seq, event in zip(seqs, queued, strict=True):
        works = (
            None
            if event.listed is None
            else [salts.commitment(work_id).digest for work_id, _ in event.listed]
        )
        content_salt = new_salt()
        leaf = sign_leaf(
            event=event.row["kind"],
            at=event.at,
            actor=salts.commitment(event.row["actor_id"]),
            subject=salts.commitment(event.row["subject_id"]),
            content=Commitment(Domain.CONTENT, content_salt, event.body.decode("utf-8")),
            key=event.signer,
            works=works,
        )
        leaves.append((seq, leaf.to_bytes()))
        content_salts.append(
            {"name": f"content:{seq}", "salt": content_salt, "party_id": event.row["actor_id"]}
        )
        if works is not None:
            manifests.append({"event_seq": seq, "commitments": b"".join(sorted(works))})
    # On the tree as the transaction commits: the log's size is read and moved on in
    # one statement, whose row lock is held to the commit, so writers queue here and
    # take consecutive indexes in commit order. No event waits outside the log.
    size = session.execute(
        update(LogStateRow)
        .where(LogStateRow.id == 1)
        .values(size=LogStateRow.size + len(leaves))
        .returning(LogStateRow.size)
    ).scalar_one()
    _not_behind(session, seqs)
    first = size - len(leaves)
    entries = [
        {"idx": first + n, "event_seq": seq, "data": data, "leaf_hash": leaf_hash(data)}
        for n, (seq, data) in enumerate(leaves)
    ]
    _insert(session, LogEntryRow, entries, copying)
    _insert(session, LogSaltRow, salts.new + content_salts, copying)
    _insert(session, LogManifestWorksRow, manifests, copying)
