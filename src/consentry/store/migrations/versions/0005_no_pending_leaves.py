"""No event outside the log: every event is a leaf when its transaction commits, so the
queue of leaves waiting for ``log checkpoint`` goes. Leaves still waiting in a registry
made before are given their indexes now, oldest event first, as the sequencer would
have; the queue's table is then dropped.

Revision ID: 0005
Revises: 0004
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _leaf_hash(data: bytes) -> bytes:
    # RFC 9162's leaf hash, as consentry.log.tree computes it (a migration runs on the
    # schema of its day, not on the code of today).
    return hashlib.sha256(b"\x00" + data).digest()


def upgrade() -> None:
    connection = op.get_bind()
    pending = connection.execute(
        sa.text("SELECT event_seq, data FROM log_pending ORDER BY event_seq")
    ).all()
    if pending:
        size = connection.execute(sa.text("SELECT size FROM log_state WHERE id = 1")).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO log_entries (idx, event_seq, data, leaf_hash) "
                "VALUES (:idx, :event_seq, :data, :leaf_hash)"
            ),
            [
                {
                    "idx": size + n,
                    "event_seq": seq,
                    "data": bytes(data),
                    "leaf_hash": _leaf_hash(bytes(data)),
                }
                for n, (seq, data) in enumerate(pending)
            ],
        )
        connection.execute(
            sa.text("UPDATE log_state SET size = :size WHERE id = 1"),
            {"size": size + len(pending)},
        )
    op.drop_table("log_pending")


def downgrade() -> None:
    op.create_table(
        "log_pending",
        sa.Column("event_seq", _SEQ, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_log_pending_event_seq_events")
        ),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_log_pending")),
    )
