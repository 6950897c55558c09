"""One owner per content: ``works.content``, unique, holds the exact digest of the
content a work owns, so that the database itself refuses a second owner's work of the
same content, however closely two registrations race.

A registry made before this may hold such pairs: two owners' works of one content,
registered at the same moment, each signed by its owner and on the log. Nothing signed
is changed or removed (no key is at hand here, and the log is append-only): the work
registered first (by its registration's place on the log) holds the content; each
later one stays as its owner signed it, holding none, and is named in a warning. A work
whose content normalises to nothing (registered before that was refused) holds none.

Revision ID: 0004
Revises: 0003
"""

import hashlib
import logging

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The exact digest of content that normalises to nothing (SHA-256 of no bytes).
_NOTHING = hashlib.sha256(b"").hexdigest()

_works = sa.table(
    "works",
    sa.column("id", sa.String),
    sa.column("owner_id", sa.String),
    sa.column("digest", sa.String),
    sa.column("kind", sa.String),
    sa.column("content", sa.String),
    sa.column("created_at", sa.DateTime),
)
_events = sa.table(
    "events",
    sa.column("seq", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("subject_id", sa.String),
)


def _clashes(connection: sa.Connection) -> list[list[tuple[str, str, str]]]:
    """For each content more than one work holds, its works' (digest, id, owner) in the
    order they were registered: by their registration event's sequence (the log's
    order), then time and id."""
    digests = list(
        connection.scalars(
            sa.select(_works.c.digest)
            .where(_works.c.content.is_not(None))
            .group_by(_works.c.digest)
            .having(sa.func.count() > 1)
        )
    )
    clashes: list[list[tuple[str, str, str]]] = []
    for first in range(0, len(digests), 500):
        chunk = digests[first : first + 500]
        registered = (
            sa.select(_events.c.subject_id, sa.func.min(_events.c.seq).label("seq"))
            .where(_events.c.kind == "work.registered")
            .where(
                _events.c.subject_id.in_(sa.select(_works.c.id).where(_works.c.digest.in_(chunk)))
            )
            .group_by(_events.c.subject_id)
            .subquery()
        )
        rows = connection.execute(
            sa.select(_works.c.digest, _works.c.id, _works.c.owner_id)
            .outerjoin(registered, registered.c.subject_id == _works.c.id)
            .where(_works.c.digest.in_(chunk))
            .order_by(
                _works.c.digest,
                registered.c.seq.is_(None),
                registered.c.seq,
                _works.c.created_at,
                _works.c.id,
            )
        )
        by_digest: dict[str, list[tuple[str, str, str]]] = {}
        for digest, work_id, owner_id in rows:
            by_digest.setdefault(digest, []).append((digest, work_id, owner_id))
        clashes.extend(by_digest.values())
    return clashes


def upgrade() -> None:
    op.add_column("works", sa.Column("content", sa.String(length=64), nullable=True))
    op.execute(
        _works.update()
        .where((_works.c.digest != _NOTHING) | (_works.c.kind == "image"))
        .values(content=_works.c.digest)
    )
    connection = op.get_bind()
    clashes = _clashes(connection)
    for _, *later in clashes:
        connection.execute(
            _works.update()
            .where(_works.c.id.in_([work_id for _, work_id, _ in later]))
            .values(content=None)
        )
    op.create_index("uq_works_content", "works", ["content"], unique=True)
    if clashes:
        named = "; ".join(
            f"content {first[0][:16]} is held by {first[1]} (owner {first[2]}), not by "
            + ", ".join(f"{w} (owner {o})" for _, w, o in later)
            for first, *later in clashes
        )
        logging.getLogger("consentry.store").warning(
            "%d contents were registered by two owners at once before one owner per "
            "content was enforced; each is held by the work registered first, and the "
            "later works stay as their owners signed them: %s",
            len(clashes),
            named,
        )


def downgrade() -> None:
    op.drop_index("uq_works_content", table_name="works")
    op.drop_column("works", "content")
