"""Sessions: the credentials issued to people (`crisis login`) and services, by digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.eventlog.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the sessions table."""
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("ident", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_stamp", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("client", sa.String(200), nullable=False),
    )
    op.create_index("ix_sessions_ident", "sessions", ["ident"])


def downgrade() -> None:
    """Drop the sessions table."""
    op.drop_index("ix_sessions_ident", "sessions")
    op.drop_table("sessions")
