"""The transparency log: pending leaves, the append-only entries, the sequenced size,
signed checkpoints and the erasable commitment salts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_pending",
        sa.Column("event_seq", _SEQ, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_log_pending_event_seq_events")
        ),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_log_pending")),
    )
    op.create_table(
        "log_entries",
        sa.Column("idx", _SEQ, autoincrement=False, nullable=False),
        sa.Column("event_seq", _SEQ, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_log_entries_event_seq_events")
        ),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_entries")),
        sa.UniqueConstraint("event_seq", name=op.f("uq_log_entries_event_seq")),
    )
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.execute("INSERT INTO log_state (id, size) VALUES (1, 0)")
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_log_checkpoints")),
    )
    op.create_table(
        "log_salts",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_log_salts")),
    )
    with op.batch_alter_table("log_salts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_salts_party_id"), ["party_id"], unique=False)
    op.create_table(
        "log_manifest_works",
        sa.Column("event_seq", _SEQ, nullable=False),
        sa.Column("commitments", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_seq"], ["events.seq"], name=op.f("fk_log_manifest_works_event_seq_events")
        ),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_log_manifest_works")),
    )
    _make_entries_append_only()


def _make_entries_append_only() -> None:
    # As with the events: a past entry changed would rewrite the log's history.
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION consentry_log_entries_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'log entries are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries "
            "FOR EACH ROW EXECUTE FUNCTION consentry_log_entries_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER log_entries_no_{action.lower()} BEFORE {action} "
                "ON log_entries BEGIN SELECT RAISE(ABORT, 'log entries are append-only'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS log_entries_append_only ON log_entries")
        op.execute("DROP FUNCTION IF EXISTS consentry_log_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS log_entries_no_delete")
    op.drop_table("log_manifest_works")
    with op.batch_alter_table("log_salts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_salts_party_id"))
    op.drop_table("log_salts")
    op.drop_table("log_checkpoints")
    op.drop_table("log_state")
    op.drop_table("log_entries")
    op.drop_table("log_pending")
