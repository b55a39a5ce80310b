"""What a record's hash covers: the previous hash, its place, its columns and its payload.

Pure: the recorder hashes with it when it appends, a verification when it walks the log, the
archive when it checks a file. The text of the columns is also written in SQL
(`bulk.columns_expression`), from the stored values, byte for byte as here.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import UUID

import orjson

from schemas.envelope import Envelope

# The columns of a record that its hash covers besides the payload, in the order it covers them.
# `bulk.columns_expression` writes the same text in SQL from the stored values.
HASHED_COLUMNS = (
    "event_id",
    "crisis_id",
    "type",
    "schema_version",
    "status",
    "occurred_at",
    "received_at",
    "recorded_at",
    "source",
    "actor",
    "correlation_id",
    "causation_id",
    "mc_number",
)


def instant_column_text(moment: datetime) -> str:
    """An instant as its column text: UTC, `YYYY-MM-DD HH:MM:SS.ffffff` (SQLite stores it so)."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]


def _column_value(value: object) -> object:
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime):
        return instant_column_text(value)
    return value


def columns_text(*values: object) -> bytes:
    """The values of `HASHED_COLUMNS` as one text the hash covers: a compact JSON array, UUIDs
    as their 32 hex digits, instants as `instant_column_text`, a missing value as `null`.

    JSON because it is unambiguous (no value spills into the next; the array ends where the
    payload begins) and because SQLite's `json_array` and PostgreSQL's `to_json` write the same
    bytes from the stored values, at almost no cost on a verification's read
    (`bulk.columns_expression`; a test holds the three equal).
    """
    return orjson.dumps([_column_value(value) for value in values])


def event_columns(event: Envelope, recorded_at: datetime, mc_number: int | None) -> bytes:
    """`columns_text` of the record that holds `event`, as `chain` stores it."""
    return columns_text(
        event.event_id,
        event.crisis_id,
        event.type,
        event.schema_version,
        event.status.value,
        event.occurred_at,
        event.received_at,
        recorded_at,
        event.source,
        event.actor,
        event.correlation_id,
        event.causation_id,
        mc_number,
    )


def chain_hash(
    prev_hash: str, crisis_seq: int, position: int, columns: bytes, payload: str | bytes
) -> str:
    """The hash of a record: it covers the previous hash, so a change anywhere breaks the rest,
    the record's columns (`columns_text`) and its payload (the stored JSON, as text or as its
    UTF-8 bytes). The columns are self-delimiting, so where they end and the payload begins is
    never in doubt; `v2|` keeps these hashes apart from `payload_only_hash`'s."""
    digest = hashlib.sha256(f"v2|{prev_hash}|{crisis_seq}|{position}|".encode())
    digest.update(columns)
    digest.update(payload if isinstance(payload, bytes) else payload.encode())
    return digest.hexdigest()


def payload_only_hash(prev_hash: str, crisis_seq: int, position: int, payload: str | bytes) -> str:
    """The hash of a record written before migration 0007: over the payload only. Such a
    record's columns are checked against its payload instead (`legacy_problem`)."""
    digest = hashlib.sha256(f"{prev_hash}|{crisis_seq}|{position}|".encode())
    digest.update(payload if isinstance(payload, bytes) else payload.encode())
    return digest.hexdigest()
