"""Snapshots that complete another: a snapshot may hold only what changed since a whole one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `base_position`: the whole snapshot a partial one completes (null for a whole one)."""
    with op.batch_alter_table("picture_snapshots") as batch:
        batch.add_column(sa.Column("base_position", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop the partial snapshots (derived data: the log rebuilds them), then `base_position`."""
    op.execute("DELETE FROM picture_snapshots WHERE base_position IS NOT NULL")
    with op.batch_alter_table("picture_snapshots") as batch:
        batch.drop_column("base_position")
