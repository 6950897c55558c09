"""What a witness remembers: for each log origin, the latest checkpoint it cosigned.

The state lives in its own SQLite file, written with ``synchronous=FULL`` so that a
cosignature is never returned for a checkpoint the witness could forget in a crash.
Advancing it is a compare-and-swap in one statement: the row moves from the size and
root the request was checked against to the new ones, or not at all. Without that, two
requests checked side by side could roll the witness back (C2SP tlog-witness: "checking
the old size ... and persisting the new checkpoint must be performed atomically").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from consentry.errors import StorageError

__all__ = ["CosignedState", "WitnessState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witness_logs (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class CosignedState:
    """The size and root of the latest checkpoint a witness cosigned for one log."""

    size: int
    root: bytes


class WitnessState:
    """The witness's per-log state in a SQLite file (created on first use)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open the witness state {path} ({exc}); give a writable --state file"
            ) from exc

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # One connection per call: the HTTP server answers on many threads.
        with closing(sqlite3.connect(self._path, timeout=30, isolation_level=None)) as connection:
            connection.execute("PRAGMA synchronous=FULL")
            yield connection

    def latest(self, origin: str) -> CosignedState | None:
        """What the witness last cosigned for ``origin``; None if it never did."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT size, root FROM witness_logs WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else CosignedState(int(row[0]), bytes(row[1]))

    def advance(self, origin: str, old: CosignedState | None, new: CosignedState) -> bool:
        """Move ``origin`` from ``old`` to ``new``, durably; False when another request
        moved it first (the caller re-reads and answers 409)."""
        with self._connection() as connection:
            if old is None:
                cursor = connection.execute(
                    "INSERT INTO witness_logs (origin, size, root) VALUES (?, ?, ?) "
                    "ON CONFLICT (origin) DO NOTHING",
                    (origin, new.size, new.root),
                )
            else:
                cursor = connection.execute(
                    "UPDATE witness_logs SET size = ?, root = ? "
                    "WHERE origin = ? AND size = ? AND root = ?",
                    (new.size, new.root, origin, old.size, old.root),
                )
            return cursor.rowcount == 1

    def origins(self) -> dict[str, CosignedState]:
        """Every log the witness has cosigned, with its latest state."""
        with self._connection() as connection:
            rows = connection.execute("SELECT origin, size, root FROM witness_logs").fetchall()
        return {str(o): CosignedState(int(s), bytes(r)) for o, s, r in rows}
