"""What a lab needs to run the gate on its own machine, as a registry of its own: every
party's public key, every work and its fingerprints, every owner's signed terms, the
lab's own requests, grants and revocations, and the signed events that establish them.
Nobody else's licences, runs or salts.

A snapshot is an SQLite registry of the same schema, so the gate reads it with the
code that reads the registry itself, signatures verified as they are there. An update
holds the events after the lab's last one, the works they registered, and the small
tables whole; ``merge`` lays it over the snapshot the lab holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, and_, func, insert, or_, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from consentry.errors import InputError
from consentry.registry._context import RegistryContext
from consentry.registry.records import EventKind
from consentry.store import migrate, open_engine
from consentry.store.models import (
    CollectionRow,
    EventRow,
    FingerprintRow,
    GrantRow,
    LicenseeRow,
    LicenseRequestRow,
    LogCheckpointRow,
    LogEntryRow,
    LogIdentityRow,
    OwnerRow,
    PublicKeyRow,
    RevocationRow,
    TermsRow,
    WorkRow,
)

__all__ = ["SnapshotFacts", "Snapshots"]

# Events anyone may read: who the parties are, what is registered, on what terms.
PUBLIC_EVENTS = (
    EventKind.OWNER_CREATED,
    EventKind.LICENSEE_CREATED,
    EventKind.COLLECTION_CREATED,
    EventKind.WORK_REGISTERED,
    EventKind.TERMS_SET,
)
_BATCH = 5000
# In the order their foreign keys need them.
_TABLES: tuple[Table, ...] = tuple(
    row.__table__  # type: ignore[misc]
    for row in (
        PublicKeyRow,
        OwnerRow,
        LicenseeRow,
        CollectionRow,
        WorkRow,
        FingerprintRow,
        TermsRow,
        LicenseRequestRow,
        GrantRow,
        RevocationRow,
        EventRow,
        LogIdentityRow,
        LogCheckpointRow,
    )
)


@dataclass(frozen=True, slots=True)
class SnapshotFacts:
    """What a snapshot (or an update) holds: for ``licensee_id``, the events after
    log entry ``since`` up to (not including) ``through``, and how many rows of each
    table."""

    licensee_id: str
    since: int
    through: int
    rows: dict[str, int]


class Snapshots:
    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    def export(self, path: Path, licensee_id: str, *, since: int = 0) -> SnapshotFacts:
        """Write the snapshot for ``licensee_id`` (the events after ``since`` only, and
        the works they registered, when ``since`` is above 0) as a new SQLite registry
        at ``path``."""
        if path.exists():
            raise InputError(f"{path} exists; a snapshot is written to a new file")
        target = open_engine(f"sqlite:///{path}")
        try:
            migrate(target)
            with self._context.reading() as session:
                # By the log's index, not the events' sequence: indexes are handed out
                # in commit order under the log's lock, so none can commit later below
                # one already seen (a sequence number can, on PostgreSQL).
                newest = session.scalar(select(func.max(LogEntryRow.idx)))
                through = 0 if newest is None else int(newest) + 1
                chosen = _Choice(licensee_id, since, through)
                counts = {
                    table.name: _copy(session, target, table, chosen.rows(table))
                    for table in _TABLES
                }
        finally:
            target.dispose()
        return SnapshotFacts(licensee_id, since, through, counts)

    def merge(self, update: Path) -> None:
        """Lay the update at ``update`` over this (snapshot) registry, in one
        transaction: its rows replace those with the same keys, the rest stay."""
        source = open_engine(f"sqlite:///{update}")
        try:
            with source.connect() as reading, self._context.transaction() as session:
                for table in _TABLES:
                    rows = reading.execute(select(table).execution_options(yield_per=_BATCH))
                    for batch in _batches(rows):
                        session.execute(_upsert(table), [dict(row._mapping) for row in batch])
        finally:
            source.dispose()


class _Choice:
    """Which rows of each table go into one snapshot: the events of log entries
    ``since`` up to ``through``, public ones and the licensee's own."""

    def __init__(self, licensee_id: str, since: int, through: int) -> None:
        self.licensee_id = licensee_id
        self.since = since
        self.through = through
        self.requests = select(LicenseRequestRow.id).where(
            LicenseRequestRow.licensee_id == licensee_id
        )
        self.grants = select(GrantRow.id).where(GrantRow.licensee_id == licensee_id)

    def _logged(self) -> Any:
        return select(LogEntryRow.event_seq).where(
            LogEntryRow.idx >= self.since, LogEntryRow.idx < self.through
        )

    def _events(self) -> Any:
        mine = or_(
            EventRow.actor_id == self.licensee_id,
            EventRow.subject_id.in_(self.requests),
            EventRow.subject_id.in_(self.grants),
        )
        return and_(
            EventRow.seq.in_(self._logged()),
            or_(EventRow.kind.in_([k.value for k in PUBLIC_EVENTS]), mine),
        )

    def _new_works(self) -> Any:
        return select(EventRow.subject_id).where(
            EventRow.kind == EventKind.WORK_REGISTERED.value,
            EventRow.seq.in_(self._logged()),
        )

    def rows(self, table: Table) -> Any:
        """The query for ``table``'s rows in this snapshot."""
        filters: dict[str, Callable[[Any], Any]] = {
            "events": lambda c: self._events(),
            "license_requests": lambda c: c.licensee_id == self.licensee_id,
            "grants": lambda c: c.licensee_id == self.licensee_id,
            "revocations": lambda c: c.grant_id.in_(self.grants),
            "log_checkpoints": lambda c: (
                c.size == select(func.max(LogCheckpointRow.size)).scalar_subquery()
            ),
        }
        if self.since:
            filters["works"] = lambda c: c.id.in_(self._new_works())
            filters["fingerprints"] = lambda c: c.work_id.in_(self._new_works())
        chosen = filters.get(table.name)
        query = select(table) if chosen is None else select(table).where(chosen(table.c))
        return query.order_by(table.c.seq) if table.name == "events" else query


def _upsert(table: Table) -> Any:
    """Insert, or where the key is there already, take the update's values (a request's
    state moves on; the rest never changes once written)."""
    statement = sqlite_insert(table)
    keys = [c.name for c in table.primary_key.columns]
    changed = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    if not changed:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(index_elements=keys, set_=changed)


def _copy(session: Session, target: Engine, table: Table, query: Any) -> int:
    copied = 0
    with target.begin() as connection:
        for batch in _batches(session.execute(query.execution_options(yield_per=_BATCH))):
            connection.execute(insert(table), [dict(row._mapping) for row in batch])
            copied += len(batch)
    return copied


def _batches(rows: Any) -> Iterator[Sequence[Any]]:
    while batch := rows.fetchmany(_BATCH):
        yield batch
