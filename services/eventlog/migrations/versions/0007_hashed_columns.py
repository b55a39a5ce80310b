"""Record hashes that cover the columns: mark where each crisis' payload-only hashes end.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

From this revision a record's hash covers its columns (actor, status, the three times, type,
crisis_id...) as well as its payload. The records already held keep the hash they were given:
rewriting them would change every hash of every chain, and would bless whatever a row holds
today, a tampered one included. `payload_only_until` says, per crisis, up to which record the
hash covers the payload only; `crisis log verify` checks those records' columns against their
payload instead, so a column changed before or after this migration is found either way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `payload_only_until`, set to each crisis' last record as it stands."""
    with op.batch_alter_table("chain_heads") as batch:
        batch.add_column(
            sa.Column("payload_only_until", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("UPDATE chain_heads SET payload_only_until = crisis_seq")


def downgrade() -> None:
    """Drop `payload_only_until`. Records hashed since 0007 then no longer verify as before it."""
    with op.batch_alter_table("chain_heads") as batch:
        batch.drop_column("payload_only_until")
