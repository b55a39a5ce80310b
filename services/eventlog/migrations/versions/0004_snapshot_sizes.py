"""The size of each stored snapshot, for thinning a crisis' snapshots to a budget of bytes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `stored_bytes`, filled for the rows already there."""
    with op.batch_alter_table("picture_snapshots") as batch:
        batch.add_column(sa.Column("stored_bytes", sa.BigInteger(), nullable=True))
    op.execute("UPDATE picture_snapshots SET stored_bytes = length(picture)")


def downgrade() -> None:
    """Drop `stored_bytes`."""
    with op.batch_alter_table("picture_snapshots") as batch:
        batch.drop_column("stored_bytes")
