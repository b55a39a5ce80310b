"""Pure logic of the event log: decode what the bus delivered, chain it, verify a chain.

No broker and no database here: the recorder hands deliveries in and gets records back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import orjson

from schemas import subjects
from schemas.envelope import Envelope
from schemas.registry import DecodeError
from schemas.subjects import SubjectError
from schemas.wire import REGISTRY
from services.eventlog.hashing import (
    chain_hash,
    columns_text,
    event_columns,
    instant_column_text,
    payload_only_hash,
)
from services.runtime.streams import instant_text

GENESIS_HASH = "0" * 64
MAIN_COURANTE_ENTRY = "maincourante.entry_recorded"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as the bus handed it over, independent of the client library."""

    position: int
    recorded_at: datetime
    subject: str
    data: bytes
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Decoded:
    """A delivery that is a valid event; `payload` is the JSON kept in the log."""

    delivery: Delivery
    event: Envelope
    payload: str


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A delivery that is not a valid event, with the reason and the field at fault."""

    delivery: Delivery
    reason: str
    field: str | None
    source: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a crisis' chain stands: last sequence, last hash, last main-courante number."""

    crisis_seq: int = 0
    hash: str = GENESIS_HASH
    mc_number: int = 0


class LogRecord(NamedTuple):
    """One row of the event log.

    A named tuple, not a frozen dataclass: a log is read and written a record at a time, and a
    frozen dataclass of 18 fields took 4.3 µs to build against 0.7 µs (`bench/README.md`).
    """

    position: int
    event_id: UUID
    crisis_id: str
    crisis_seq: int
    type: str
    schema_version: int
    status: str
    occurred_at: datetime
    received_at: datetime
    recorded_at: datetime
    source: str
    actor: str
    correlation_id: UUID | None
    causation_id: UUID | None
    mc_number: int | None
    payload: str
    prev_hash: str
    hash: str

    def event(self) -> Envelope:
        """The event this record holds, decoded (and upcast to the current schema)."""
        return REGISTRY.decode(self.payload)

    @property
    def columns(self) -> bytes:
        """The record's columns as its hash covers them (`columns_text`)."""
        return columns_text(
            self.event_id,
            self.crisis_id,
            self.type,
            self.schema_version,
            self.status,
            self.occurred_at,
            self.received_at,
            self.recorded_at,
            self.source,
            self.actor,
            self.correlation_id,
            self.causation_id,
            self.mc_number,
        )


def _source_of(data: Any) -> str:
    """The sender's `source` if it is a usable token, else `bus`: for the dead-letter subject."""
    source = data.get("source") if isinstance(data, dict) else None
    try:
        return subjects.token(source) if isinstance(source, str) else "bus"
    except SubjectError:
        return "bus"


def _json_object(raw: bytes) -> dict[str, Any]:
    # The registry would parse a JSON string a second time, and raise TypeError on a list.
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise DecodeError("an event must be a JSON object")
    return data


def decode_delivery(delivery: Delivery) -> Decoded | Undecodable:
    """Validate one delivery against the catalogue and against the subject it came on."""
    data: Any = None
    try:
        data = _json_object(delivery.data)
        event = REGISTRY.decode(data)
        where = subjects.parse_live(delivery.subject)
    except (DecodeError, SubjectError) as exc:
        field = exc.field if isinstance(exc, DecodeError) else "subject"
        return Undecodable(delivery, str(exc), field, _source_of(data))
    except orjson.JSONDecodeError as exc:
        return Undecodable(delivery, f"not valid JSON: {exc}", None, "bus")
    if (where.crisis_id, where.event_type) != (event.crisis_id, event.type):
        reason = (
            f"subject {delivery.subject!r} does not match the event "
            f"(crisis {event.crisis_id!r}, type {event.type!r})"
        )
        return Undecodable(delivery, reason, "subject", _source_of(data))
    # Keep the event as sent (its own schema version), with the stream time filled in.
    payload = orjson.dumps({**data, "recorded_at": instant_text(delivery.recorded_at)}).decode()
    return Decoded(delivery, event, payload)


def chain(
    batch: Iterable[Decoded], heads: Mapping[str, ChainHead]
) -> tuple[list[LogRecord], dict[str, ChainHead]]:
    """Records for `batch` in stream order, chained onto `heads`; return them and the new heads."""
    new_heads = dict(heads)
    records: list[LogRecord] = []
    for item in sorted(batch, key=lambda d: d.delivery.position):
        event, position = item.event, item.delivery.position
        head = new_heads.get(event.crisis_id, ChainHead())
        seq = head.crisis_seq + 1
        mc_number = head.mc_number + 1 if event.type == MAIN_COURANTE_ENTRY else None
        recorded_at = item.delivery.recorded_at
        columns = event_columns(event, recorded_at, mc_number)
        digest = chain_hash(head.hash, seq, position, columns, item.payload)
        records.append(
            LogRecord(
                position=position,
                event_id=event.event_id,
                crisis_id=event.crisis_id,
                crisis_seq=seq,
                type=event.type,
                schema_version=event.schema_version,
                status=event.status.value,
                occurred_at=event.occurred_at,
                received_at=event.received_at,
                recorded_at=recorded_at,
                source=event.source,
                actor=event.actor,
                correlation_id=event.correlation_id,
                causation_id=event.causation_id,
                mc_number=mc_number,
                payload=item.payload,
                prev_hash=head.hash,
                hash=digest,
            )
        )
        new_heads[event.crisis_id] = ChainHead(seq, digest, mc_number or head.mc_number)
    return records, new_heads


def first_of_each_id(batch: Sequence[Decoded], known: set[UUID]) -> list[Decoded]:
    """Drop events the log already holds, and repeats of one event within the batch."""
    seen = set(known)
    fresh = []
    for item in sorted(batch, key=lambda d: d.delivery.position):
        if item.event.event_id not in seen:
            seen.add(item.event.event_id)
            fresh.append(item)
    return fresh


@dataclass(frozen=True, slots=True)
class ChainFault:
    """The first record of a crisis whose chain does not hold, and what is wrong with it.

    `kind`: `changed` (the record's hash does not cover what it holds), `columns` (a record
    hashed before 0007 whose columns differ from its payload), `missing`, `order`, or `end`
    (records missing at the end)."""

    crisis_id: str
    crisis_seq: int
    position: int | None
    problem: str
    kind: str = "changed"


@dataclass(frozen=True, slots=True)
class ChainCursor:
    """How far a verification has walked a crisis' chain."""

    head: ChainHead = ChainHead()
    last_position: int = 0


class Chained(Protocol):
    """What verifying a record needs of it: a `LogRecord`, or just a `ChainLink`."""

    @property
    def crisis_seq(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def payload(self) -> str | bytes: ...
    @property
    def columns(self) -> bytes: ...


class ChainLink(NamedTuple):
    """A record's place in its chain, its hashes, its payload (its UTF-8 bytes) and its columns
    (`columns_text`, written by the database from the stored values): all a verification reads."""

    crisis_seq: int
    position: int
    prev_hash: str
    hash: str
    payload: bytes
    columns: bytes


def verify_chain(
    crisis_id: str,
    records: Iterable[Chained],
    cursor: ChainCursor = ChainCursor(),
    *,
    payload_only_until: int = 0,
) -> tuple[ChainFault | None, ChainCursor]:
    """Walk records in chain order from `cursor`; report the first changed, missing or moved one.

    Records up to `payload_only_until` (hashed before migration 0007, over their payload only)
    have their columns checked against their payload instead; the cursor then counts main-courante
    entries, so such a walk starts at the crisis' first record.
    """
    head = cursor.head
    seq, last_hash, last_position, mc = (
        head.crisis_seq,
        head.hash,
        cursor.last_position,
        head.mc_number,
    )
    for record in records:
        problem = _link_problem(record, seq, last_hash, last_position)
        if problem is None:
            if record.crisis_seq > payload_only_until:
                if (
                    chain_hash(
                        record.prev_hash,
                        record.crisis_seq,
                        record.position,
                        record.columns,
                        record.payload,
                    )
                    != record.hash
                ):
                    problem = ("changed", "its content was changed after it was recorded")
            else:
                problem, mc = legacy_problem(record, mc)
        if problem is not None:
            seq_at = min(record.crisis_seq, seq + 1)
            kind, text = problem
            return ChainFault(crisis_id, seq_at, record.position, text, kind), ChainCursor(
                replace(head, crisis_seq=seq, hash=last_hash, mc_number=mc), last_position
            )
        seq, last_hash, last_position = record.crisis_seq, record.hash, record.position
    return None, ChainCursor(
        replace(head, crisis_seq=seq, hash=last_hash, mc_number=mc), last_position
    )


def _link_problem(
    record: Chained, seq: int, last_hash: str, last_position: int
) -> tuple[str, str] | None:
    """What is wrong with where `record` stands after record `seq`, if anything."""
    expected_seq = seq + 1
    if record.crisis_seq != expected_seq:
        return "missing", f"record {expected_seq} is missing (found {record.crisis_seq} next)"
    if record.prev_hash != last_hash:
        return "order", "does not follow the record before it (a record was removed or reordered)"
    if record.position <= last_position:
        return "order", f"position {record.position} is not after {last_position} (reordered)"
    return None


def legacy_problem(record: Chained, mc_before: int) -> tuple[tuple[str, str] | None, int]:
    """What is wrong with a record hashed before 0007 (its payload only), if anything, and the
    main-courante count after it: its payload must match its hash, and its columns must be what
    its payload says (as `chain` would store them)."""
    if (
        payload_only_hash(record.prev_hash, record.crisis_seq, record.position, record.payload)
        != record.hash
    ):
        return ("changed", "its content was changed after it was recorded"), mc_before
    try:
        event = REGISTRY.decode(record.payload)
    except DecodeError as exc:
        return ("changed", f"its payload is not a valid event: {exc}"), mc_before
    mc = mc_before + 1 if event.type == MAIN_COURANTE_ENTRY else None
    recorded_at = event.recorded_at
    if recorded_at is None or event_columns(event, recorded_at, mc) != record.columns:
        problem = "a column was changed after it was recorded: it differs from its payload"
        return ("columns", problem), mc_before if mc is None else mc
    return None, mc_before if mc is None else mc


@dataclass(frozen=True, slots=True)
class ColumnChange:
    """A stored column that differs from what the record's payload says."""

    column: str
    stored: object
    said: object


def column_changes(record: LogRecord) -> list[ColumnChange]:
    """The columns of `record` that differ from what its payload says (main-courante numbers
    aside: the payload does not hold them)."""
    try:
        event = REGISTRY.decode(record.payload)
    except DecodeError:
        return []
    said: dict[str, object] = {
        "event_id": event.event_id,
        "crisis_id": event.crisis_id,
        "type": event.type,
        "schema_version": event.schema_version,
        "status": event.status.value,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "recorded_at": event.recorded_at,
        "source": event.source,
        "actor": event.actor,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
    }
    stored = record._asdict()
    return [
        ColumnChange(name, stored[name], value)
        for name, value in said.items()
        if stored[name] != value
    ]


def describe_changes(changes: Sequence[ColumnChange]) -> str:
    """`its actor column says 'x' where its payload says 'y'`, for each change."""
    return "; ".join(
        f"its {c.column} column says {_shown(c.stored)} where its payload says {_shown(c.said)}"
        for c in changes
    )


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return instant_column_text(value)
    return repr(value) if isinstance(value, str) else str(value)
