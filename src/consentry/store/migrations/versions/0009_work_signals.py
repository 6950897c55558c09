"""The signals found on each work registered from a site (``work register --site``):
per work, each statement with its signal, place, category and permission, and each
signal that could not be read.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_signals",
        sa.Column("work_id", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("signal", sa.String(40), nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("category", sa.String(20), nullable=True),
        sa.Column("permission", sa.String(10), nullable=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("outdated", sa.Boolean, nullable=False),
        sa.Column("agent", sa.Text, nullable=True),
        sa.Column("licence", sa.Text, nullable=True),
        sa.Column("price", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(category IS NULL) = (permission IS NULL)",
            name=op.f("ck_work_signals_statement_or_problem"),
        ),
        sa.ForeignKeyConstraint(
            ["work_id"], ["works.id"], name=op.f("fk_work_signals_work_id_works")
        ),
        sa.PrimaryKeyConstraint("work_id", "position", name=op.f("pk_work_signals")),
    )


def downgrade() -> None:
    op.drop_table("work_signals")
