"""The RSL licence server (issue 23): the licence tokens it issued on grants and the
parties' client credentials, each kept only as the SHA-256 of its secret.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "licence_tokens",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("grant_id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(40), nullable=False),
        sa.Column("licensee_id", sa.String(40), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("uses", sa.String(200), nullable=False),
        sa.Column("licence", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_licence_tokens_grant_id_grants")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_licence_tokens_owner_id_owners")
        ),
        sa.ForeignKeyConstraint(
            ["licensee_id"],
            ["licensees.id"],
            name=op.f("fk_licence_tokens_licensee_id_licensees"),
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_licence_tokens")),
    )
    op.create_index(op.f("ix_licence_tokens_grant_id"), "licence_tokens", ["grant_id"])
    op.create_index(op.f("ix_licence_tokens_owner_id"), "licence_tokens", ["owner_id"])
    op.create_index(op.f("ix_licence_tokens_licensee_id"), "licence_tokens", ["licensee_id"])
    op.create_index(op.f("ix_licence_tokens_expires_at"), "licence_tokens", ["expires_at"])
    op.create_table(
        "olp_clients",
        sa.Column("party_id", sa.String(40), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("party_id", name=op.f("pk_olp_clients")),
    )


def downgrade() -> None:
    op.drop_table("olp_clients")
    op.drop_index(op.f("ix_licence_tokens_expires_at"), table_name="licence_tokens")
    op.drop_index(op.f("ix_licence_tokens_licensee_id"), table_name="licence_tokens")
    op.drop_index(op.f("ix_licence_tokens_owner_id"), table_name="licence_tokens")
    op.drop_index(op.f("ix_licence_tokens_grant_id"), table_name="licence_tokens")
    op.drop_table("licence_tokens")
