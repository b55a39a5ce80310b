"""The event log: events, chain heads, rejected inputs.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.eventlog.tables import Position, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "events",
        sa.Column("position", Position, autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("crisis_id", sa.String(64), nullable=False),
        sa.Column("crisis_seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(500), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=True),
        sa.Column("causation_id", sa.Uuid(), nullable=True),
        sa.Column("mc_number", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.UniqueConstraint("crisis_id", "crisis_seq", name="uq_events_crisis_id_crisis_seq"),
        sa.UniqueConstraint("crisis_id", "mc_number", name="uq_events_crisis_id_mc_number"),
    )
    op.create_index("ix_events_crisis_id_position", "events", ["crisis_id", "position"])
    op.create_index("ix_events_recorded_at_position", "events", ["recorded_at", "position"])
    op.create_table(
        "chain_heads",
        sa.Column("crisis_id", sa.String(64), nullable=False),
        sa.Column("crisis_seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("mc_number", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("first_recorded_at", UTCDateTime(), nullable=False),
        sa.Column("last_recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("crisis_id", name="pk_chain_heads"),
    )
    op.create_table(
        "rejected_inputs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rejected_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("stream", sa.String(64), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(255), nullable=True),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.Column("raw_size", sa.BigInteger(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_inputs"),
        sa.UniqueConstraint("stream", "position", name="uq_rejected_inputs_stream_position"),
    )
    op.create_index(
        "ix_rejected_inputs_source_rejected_at", "rejected_inputs", ["source", "rejected_at"]
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("rejected_inputs")
    op.drop_table("chain_heads")
    op.drop_table("events")
