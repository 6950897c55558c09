"""What the signals on each work said when its owner registered it from a site.

``consentry work register --site`` reads every page's and image's reservation signals
(its meta tags, its embedded metadata, the site's robots.txt, tdmrep.json and ai.txt)
and records them here beside the work, so that the owner, and later the gate, can see
what the site said. The record is the owner's: only their key, registering, writes it,
and each registration replaces a work's record as a whole. It is a record of what was
read, not consent: it grants and reserves nothing (terms do, signed by the owner).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consentry.clock import format_time, utc_now
from consentry.crypto import Signer
from consentry.errors import NotFoundError, PermissionDeniedError, StorageError
from consentry.registry._context import RegistryContext
from consentry.registry.records import PartyKind
from consentry.signals import Problem, Reservation, Signal, Source, Statement
from consentry.store.models import WorkRow, WorkSignalRow
from consentry.terms import Category, Permission, Price

__all__ = ["RecordedSignals", "WorkSignals"]


@dataclass(frozen=True, slots=True)
class RecordedSignals:
    """A work's recorded signals: what they said (every statement and unreadable signal,
    in the order they were read) and when; empty, with ``recorded_at`` None, where
    none was recorded."""

    work_id: str
    reservation: Reservation
    recorded_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        at = None if self.recorded_at is None else format_time(self.recorded_at)
        return {"work": self.work_id, "recorded_at": at, **self.reservation.to_json()}


def _rows(work_id: str, reservation: Reservation, now: datetime) -> list[WorkSignalRow]:
    rows = [
        WorkSignalRow(
            work_id=work_id,
            position=position,
            signal=s.source.signal.value,
            place=s.source.place,
            category=s.category.value,
            permission=s.permission.value,
            label=s.label,
            outdated=s.outdated,
            agent=s.agent,
            licence=s.licence,
            price=None if s.price is None else json.dumps(s.price.to_json(), sort_keys=True),
            recorded_at=now,
        )
        for position, s in enumerate(reservation.statements)
    ]
    first = len(rows)
    rows.extend(
        WorkSignalRow(
            work_id=work_id,
            position=first + offset,
            signal=p.source.signal.value,
            place=p.source.place,
            category=None,
            permission=None,
            label=p.message,
            outdated=False,
            recorded_at=now,
        )
        for offset, p in enumerate(reservation.problems)
    )
    return rows


def _reservation(work_id: str, rows: Sequence[WorkSignalRow]) -> Reservation:
    statements: list[Statement] = []
    problems: list[Problem] = []
    try:
        for row in rows:
            source = Source(Signal(row.signal), row.place)
            if row.category is None or row.permission is None:
                problems.append(Problem(source, row.label))
                continue
            price = None if row.price is None else Price.from_json(json.loads(row.price))
            statements.append(
                Statement(
                    Category(row.category),
                    Permission(row.permission),
                    source,
                    row.label,
                    outdated=row.outdated,
                    agent=row.agent,
                    licence=row.licence,
                    price=price,
                )
            )
    except (ValueError, TypeError) as exc:
        # A value this version does not know: written by a newer one, or by hand.
        raise StorageError(
            f"the recorded signals of work {work_id} cannot be read ({exc}); register the "
            "work again to record them anew"
        ) from exc
    return Reservation(tuple(statements), tuple(problems))


class WorkSignals:
    """Recording the signals found on works at registration, and reading them back."""

    def __init__(self, context: RegistryContext) -> None:
        self._context = context

    def record(self, owner_id: str, signer: Signer, found: Mapping[str, Reservation]) -> None:
        """Replace, in one transaction, the recorded signals of each work of ``found``
        (work id to what its signals say; an empty reservation clears the record).

        Raises ``PermissionDeniedError`` unless ``signer`` is ``owner_id``'s key and
        every work is ``owner_id``'s (no one records signals on another's work), and
        ``NotFoundError`` for a work that does not exist; then nothing is recorded."""
        if not found:
            return
        with self._context.transaction() as session:
            self._context.require_actor(session, owner_id, PartyKind.OWNER, signer.public)
            self._require_owned(session, owner_id, list(found))
            now = utc_now()
            ids = list(found)
            for first in range(0, len(ids), 1000):
                batch = ids[first : first + 1000]
                session.execute(delete(WorkSignalRow).where(WorkSignalRow.work_id.in_(batch)))
            session.add_all(
                row for work_id, said in found.items() for row in _rows(work_id, said, now)
            )

    @staticmethod
    def _require_owned(session: Session, owner_id: str, work_ids: list[str]) -> None:
        owners: dict[str, str] = {}
        for first in range(0, len(work_ids), 1000):
            owners.update(
                (str(w), str(o))
                for w, o in session.execute(
                    select(WorkRow.id, WorkRow.owner_id).where(
                        WorkRow.id.in_(work_ids[first : first + 1000])
                    )
                )
            )
        for work_id in work_ids:
            if work_id not in owners:
                raise NotFoundError(f"no work {work_id!r}; register it before its signals")
            if owners[work_id] != owner_id:
                raise PermissionDeniedError(
                    f"work {work_id} belongs to {owners[work_id]}; only its owner records "
                    "the signals found on it"
                )

    def get(self, work_id: str) -> RecordedSignals:
        """The signals recorded on ``work_id`` (public, as the work's metadata is); an
        empty record where none were. Raises ``NotFoundError`` for no such work."""
        with self._context.reading() as session:
            if session.get(WorkRow, work_id) is None:
                raise NotFoundError(f"no work {work_id!r}; list works with 'consentry work list'")
        found = self.many([work_id])
        return found.get(work_id, RecordedSignals(work_id, Reservation()))

    def many(self, work_ids: Sequence[str]) -> dict[str, RecordedSignals]:
        """The recorded signals of those works of ``work_ids`` that have any, by work id
        (one query per thousand works)."""
        rows: dict[str, list[WorkSignalRow]] = {}
        with self._context.reading() as session:
            for first in range(0, len(work_ids), 1000):
                query = (
                    select(WorkSignalRow)
                    .where(WorkSignalRow.work_id.in_(list(work_ids[first : first + 1000])))
                    .order_by(WorkSignalRow.work_id, WorkSignalRow.position)
                )
                for row in session.scalars(query):
                    rows.setdefault(row.work_id, []).append(row)
        return {
            work_id: RecordedSignals(
                work_id, _reservation(work_id, found), max(r.recorded_at for r in found)
            )
            for work_id, found in rows.items()
        }
