"""A registry served over HTTP: the nonces of signed requests (a replay is refused by
every worker, not only the one that saw the request first), invitations to register
when the registry is served invite-only (only each token's SHA-256 is kept), and works
indexed in the order they were registered, which their list is paged in.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_nonces",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("nonce", sa.String(100), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_request_nonces_seen_at", "request_nonces", ["seen_at"])
    op.create_table(
        "invitations",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.String(40), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_works_registered", "works", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_works_registered", table_name="works")
    op.drop_table("invitations")
    op.drop_index("ix_request_nonces_seen_at", table_name="request_nonces")
    op.drop_table("request_nonces")
