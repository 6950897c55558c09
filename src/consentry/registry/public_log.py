"""Who did what on the public log: the actor and subject of the log's public events
(parties made, collections and works registered, terms set), read only after each
event verifies against its actor's registered key.

``TransparencyLog`` offers this read (``registry.log.public_events``); it lives here to
keep ``transparency.py`` about the tree, its checkpoints and its proofs. Every other
event says on the log only its kind and moment: the log commits to the rest and only
its parties may open it (guarantee 7).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from consentry.errors import InputError, NotFoundError, VerificationError
from consentry.registry._context import RegistryContext
from consentry.registry.records import EventKind, PartyKind

# The events a snapshot carries for anyone are the ones the log names for anyone.
from consentry.registry.snapshot import PUBLIC_EVENTS
from consentry.store.models import EventRow, LogEntryRow

__all__ = ["PUBLIC_EVENTS", "PublicEvent", "PublicLog"]


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """A public event at log entry ``index``: who acted on what, as the actor signed."""

    index: int
    kind: EventKind
    actor_id: str
    subject_id: str


class PublicLog:
    """The log's public reads: what of ``TransparencyLog`` anyone may read."""

    _context: RegistryContext

    def public_events(self, start: int, end: int) -> tuple[dict[int, PublicEvent], dict[int, str]]:
        """The public events among log entries ``start`` up to ``end`` (not included),
        by log index, each event's signature checked against its actor's registered key
        and its row against what the actor signed; and, by log index, a sentence for
        each public event that is set aside (its party erased or unknown here, or its
        event not what its party signed), so no one is shown doing what they did not
        sign. The other entries' events are not read at all."""
        found: dict[int, PublicEvent] = {}
        refused: dict[int, str] = {}
        if end <= start:
            return found, refused
        with self._context.reading() as session:
            rows = session.execute(
                select(EventRow, LogEntryRow.idx)
                .join(LogEntryRow, LogEntryRow.event_seq == EventRow.seq)
                .where(
                    LogEntryRow.idx >= start,
                    LogEntryRow.idx < end,
                    EventRow.kind.in_([k.value for k in PUBLIC_EVENTS]),
                )
                .order_by(LogEntryRow.idx)
            ).all()
            for row, idx in rows:
                index = int(idx)
                try:
                    key = self._context.party_key(session, row.actor_id, PartyKind.of(row.actor_id))
                except (NotFoundError, InputError):
                    refused[index] = "its party has been erased or is not registered here"
                    continue
                try:
                    body = self._context.verified_event(session, row, signer=key)
                except VerificationError as exc:
                    refused[index] = f"its event is not what its party's key signed ({exc})"
                    continue
                found[index] = PublicEvent(
                    index, EventKind(row.kind), str(body["actor"]), str(body["subject"])
                )
        return found, refused
