"""The event log's tables. Changed only through a migration under `migrations/versions/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware instants, stored in UTC on every database (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: the log stores aware instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    # The signature is SQLAlchemy's; results come back the same way from every dialect.
    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# On SQLite only INTEGER PRIMARY KEY is the rowid itself; BIGINT would add one more index to
# maintain on every insert. Both are 64-bit.
Position = BigInteger().with_variant(Integer(), "sqlite")

# Append-only: one row per event, its stream sequence as position. Never updated, never deleted.
events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("crisis_id", String(64), nullable=False),
    Column("crisis_seq", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("source", String(64), nullable=False),
    Column("actor", String(500), nullable=False),
    Column("correlation_id", Uuid, nullable=True),
    Column("causation_id", Uuid, nullable=True),
    Column("mc_number", Integer, nullable=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("crisis_id", "crisis_seq"),
    UniqueConstraint("crisis_id", "mc_number"),
    Index(None, "crisis_id", "position"),
    Index(None, "recorded_at", "position"),
)

# The head of each crisis' chain, kept in the same transaction as the events it sums up.
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("crisis_id", String(64), primary_key=True),
    Column("crisis_seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("mc_number", Integer, nullable=False),
    Column("first_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("first_recorded_at", UTCDateTime, nullable=False),
    Column("last_recorded_at", UTCDateTime, nullable=False),
    # Since 0007: the last record hashed over its payload only (those recorded before 0007);
    # their columns are checked against their payload instead. 0 for a crisis begun since.
    Column("payload_only_until", Integer, nullable=False, server_default="0"),
)

# Inputs that were refused, kept raw with the reason, for an operator to see.
rejected_inputs = Table(
    "rejected_inputs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rejected_at", UTCDateTime, nullable=False),
    Column("source", String(64), nullable=False),
    Column("subject", String(255), nullable=True),
    Column("stream", String(64), nullable=True),
    Column("position", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("field", String(255), nullable=True),
    Column("content_type", String(255), nullable=True),
    Column("raw", LargeBinary, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("raw_size", BigInteger, nullable=False),
    Column("headers", Text, nullable=True),
    UniqueConstraint("stream", "position"),
    Index(None, "source", "rejected_at"),
)

# Pictures of a crisis as they stood at a position: what makes "as of" fast on long crises.
# Derived data: it can be dropped and rebuilt from `events` at any time.
picture_snapshots = Table(
    "picture_snapshots",
    metadata,
    Column("crisis_id", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("events", Integer, nullable=False),
    # Rows written before 0005: the picture's JSON, plain or `z1:` (base64 of zlib).
    Column("picture", Text, nullable=True),
    # The length of what is stored (`packed`, or `picture`): thinning weighs snapshots without
    # reading them.
    Column("stored_bytes", BigInteger, nullable=True),
    # Since 0005: an index, then each entry's JSON, compressed with zstd (snapshots.pack).
    Column("packed", LargeBinary, nullable=True),
    # Since 0006: the position of the whole snapshot this one completes (it holds only what
    # changed since); null for a whole snapshot.
    Column("base_position", BigInteger, nullable=True),
)

# Credentials issued by `crisis login` (people) and `crisis token issue` (services). Only the
# SHA-256 of a token is kept: the table gives no one a working credential.
sessions = Table(
    "sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("ident", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_stamp", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("client", String(200), nullable=False),
    Index("ix_sessions_ident", "ident"),
)
