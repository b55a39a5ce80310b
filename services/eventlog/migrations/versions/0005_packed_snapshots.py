"""Snapshots packed as binary: an index, then each entry's JSON, compressed with zstd.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `packed`; `picture` (the text of the rows written before) may now be empty."""
    with op.batch_alter_table("picture_snapshots") as batch:
        batch.add_column(sa.Column("packed", sa.LargeBinary(), nullable=True))
        batch.alter_column("picture", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    """Drop the packed snapshots (derived data: the log rebuilds them), then `packed`."""
    op.execute("DELETE FROM picture_snapshots WHERE packed IS NOT NULL")
    with op.batch_alter_table("picture_snapshots") as batch:
        batch.drop_column("packed")
        batch.alter_column("picture", existing_type=sa.Text(), nullable=False)
