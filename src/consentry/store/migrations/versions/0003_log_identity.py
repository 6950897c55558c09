"""The log's identity: its origin and public key, kept with the registry so that every
machine using the database verifies the same log and none mints a second key.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_log_identity_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_identity")),
    )


def downgrade() -> None:
    op.drop_table("log_identity")
