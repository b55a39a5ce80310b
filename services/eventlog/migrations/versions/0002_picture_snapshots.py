"""Snapshots of the operational picture.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.eventlog.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the snapshot table."""
    op.create_table(
        "picture_snapshots",
        sa.Column("crisis_id", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("picture", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("crisis_id", "position", name="pk_picture_snapshots"),
    )


def downgrade() -> None:
    """Drop the snapshot table."""
    op.drop_table("picture_snapshots")
