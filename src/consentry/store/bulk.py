"""Writing many rows at once with PostgreSQL's ``COPY``, inside a session's transaction.

A multi-row ``INSERT`` costs a round trip and a parse per statement, and the ORM's
flushes one per row; ``COPY ... FROM STDIN`` streams every row of a table in one
command, which is what registering a large catalogue spends most of its time on.
SQLite has no ``COPY`` and one writer at a time: its callers keep their inserts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import exc, text
from sqlalchemy.orm import Session

__all__ = ["copy_rows", "next_values", "refresh_statistics", "supports_copy"]


def supports_copy(session: Session) -> bool:
    """Whether the session's database takes ``COPY`` from its driver (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Append ``rows`` (values in the order of ``columns``) to table ``table`` with one
    ``COPY``, in the session's transaction; returns how many were written.

    Constraints hold as for an ``INSERT``, and a row the database refuses raises what
    an ``INSERT`` would (SQLAlchemy's ``IntegrityError``, ``DataError``, ... with the
    driver's error as ``orig``), so callers translate both alike.
    """
    # Only PostgreSQL gets here, and it is reached through psycopg.
    import psycopg  # noqa: PLC0415

    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table}" ({names}) FROM STDIN'
    # The driver's own connection, inside the session's transaction.
    connection = cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)
    written = 0
    try:
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
    except psycopg.Error as error:
        # The subclass an INSERT's failure would have raised (IntegrityError, DataError).
        raise exc.DBAPIError.instance(statement, None, error, psycopg.Error) from error
    return written


def next_values(session: Session, table: str, column: str, count: int) -> list[int]:
    """``count`` new values of ``table.column``'s sequence, ascending: the keys rows
    written by ``copy_rows`` take where an ``INSERT`` would have drawn them itself."""
    if count == 0:
        return []
    drawn = session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, :column)) FROM generate_series(1, :n)"),
        {"table": table, "column": column, "n": count},
    )
    return sorted(int(v) for v in drawn)


def refresh_statistics(session: Session, tables: Sequence[str]) -> list[str]:
    """ANALYZE those of ``tables`` that more than half their rows (and a thousand) came
    to since their statistics were gathered; returns their names. PostgreSQL only:
    SQLite plans by its indexes alone, and nothing is done there.

    Until a table is analysed the planner takes each value of an ``IN`` list to match
    half a percent of it, and reads it whole for a batch's lookup of 500 digests (the
    manual's "Populating a Database": run ANALYZE after loading). Autovacuum would, where
    it runs, but a bulk load outpaces it. The halving keeps the work logarithmic in the
    tables' size.
    """
    if not supports_copy(session):
        return []
    stale = [
        str(name)
        for name in session.scalars(
            text(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE relid = ANY(CAST(:tables AS regclass[])) "
                "AND n_mod_since_analyze >= 1000 AND n_mod_since_analyze * 2 > n_live_tup"
            ),
            {"tables": list(tables)},
        )
    ]
    if stale:
        session.execute(text("ANALYZE " + ", ".join(f'"{t}"' for t in stale)))
    return stale
