"""A batch of new works as rows: the checks every backend applies before writing them,
and the ``COPY`` that writes them on PostgreSQL.

A registration's batch is written as one transaction. On PostgreSQL its works and
their fingerprints go in with one ``COPY`` each (and its events after them, see
``_leaves.bulk_events``); on SQLite row by row, as one writer at a time needs no more.
Either way the same rows, and a file the database would refuse is refused first, for
both alike, naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from consentry.errors import InputError
from consentry.store.bulk import copy_rows
from consentry.store.models import FingerprintRow, WorkRow

if TYPE_CHECKING:
    from consentry.registry.works import FileFingerprint

__all__ = ["BulkWorks", "check_fields"]

_WORK_COLUMNS = (
    "id", "owner_id", "collection_id", "digest", "content", "kind", "media_type", "path",
    "title", "size", "spdx", "created_at", "body", "key_id", "signature",
)  # fmt: skip
_FINGERPRINT_COLUMNS = ("work_id", "kind", "params_version", "value", "quality")
_HEX = frozenset("0123456789abcdef")


def check_fields(item: FileFingerprint) -> None:
    """Raise ``InputError`` for a digest that is none, or a field wider than its column.
    PostgreSQL would refuse the batch with a database error and SQLite keep it whole:
    both refuse it here, before any of the batch is written, naming the file and what
    to do."""
    fingerprint = item.fingerprint
    if len(fingerprint.digest) != 64 or not set(fingerprint.digest) <= _HEX:
        raise InputError(
            f"{item.path} has a digest that is not 64 lowercase hexadecimal characters; "
            "fingerprint it again with this version of consentry"
        )
    for what, value, width, remedy in (
        ("title", fingerprint.title, 200, "rename the file"),
        ("media type", fingerprint.media_type, 100, "rename the file"),
        ("licence expression", fingerprint.spdx or "", 200, "shorten its SPDX header"),
    ):
        if len(value) > width:
            raise InputError(
                f"{item.path} has a {what} of {len(value):,} characters, over the {width} "
                f"the registry keeps; {remedy} and register it again"
            )


class BulkWorks:
    """A batch's new works and their fingerprints, written with one ``COPY`` each once
    the batch is decided (before its events, which name them)."""

    def __init__(self) -> None:
        self.works: list[tuple[Any, ...]] = []
        self.fingerprints: list[tuple[Any, ...]] = []

    def add(self, row: WorkRow, printed: list[dict[str, Any]]) -> None:
        """Hold ``row`` (signed, not added to the session) and its fingerprints'
        columns for ``write``."""
        self.works.append(tuple(getattr(row, c) for c in _WORK_COLUMNS))
        self.fingerprints += [tuple(p[c] for c in _FINGERPRINT_COLUMNS) for p in printed]

    def write(self, session: Session) -> None:
        copy_rows(session, WorkRow.__tablename__, _WORK_COLUMNS, self.works)
        copy_rows(session, FingerprintRow.__tablename__, _FINGERPRINT_COLUMNS, self.fingerprints)
