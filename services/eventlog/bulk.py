"""The event log's two hot paths, run on the database driver itself: batch insert and bulk read.

SQLAlchemy's per-row parameter and result processing costs more than the database does on these
two paths. The statements are still written with SQLAlchemy Core and compiled once per dialect;
only the values are handed to the driver, converted the way SQLAlchemy would store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID, SafeUUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.eventlog.core import LogRecord
from services.eventlog.hashing import HASHED_COLUMNS
from services.eventlog.tables import events

FIELDS = LogRecord._fields
MAX_POSITION = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement in the driver's own SQL, with its positional parameters in order."""

    sql: str
    order: tuple[str, ...]
    # Parameters the dialect adds by itself, such as SQLite's `OFFSET 0`.
    defaults: dict[str, Any]

    def args(self, values: dict[str, Any]) -> list[Any]:
        """The positional arguments for `values`."""
        return [values[name] if name in values else self.defaults[name] for name in self.order]


def _compiled(query: Select[Any], dialect: Dialect) -> Compiled:
    compiled = query.compile(dialect=dialect)
    return Compiled(str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))


def _position_range(columns: Sequence[ColumnElement[Any]], *, with_crisis: bool) -> Select[Any]:
    """`columns` of a position range (after, until], optionally of one crisis, in position order,
    at most `chunk` rows."""
    query = select(*columns).where(
        events.c.position > bindparam("after", type_=BigInteger),
        events.c.position <= bindparam("until", type_=BigInteger),
    )
    if with_crisis:
        query = query.where(events.c.crisis_id == bindparam("crisis", type_=String))
    return query.order_by(events.c.position).limit(bindparam("chunk", type_=Integer))


@cache
def payload_statement(dialect: Dialect, *, with_crisis: bool, as_bytes: bool = False) -> Compiled:
    """`(position, payload)` of a position range, optionally of one crisis, in position order;
    the payload as text, or as its UTF-8 bytes (`as_bytes`: the driver does not decode it)."""
    columns = (events.c.position, _payload_bytes(dialect) if as_bytes else events.c.payload)
    return _compiled(_position_range(columns, with_crisis=with_crisis), dialect)


def _payload_bytes(dialect: Dialect) -> ColumnElement[Any]:
    """The stored JSON as its UTF-8 bytes, as the driver hands them over undecoded."""
    if dialect.name == "postgresql":
        return func.convert_to(events.c.payload, literal_column("'UTF8'"))
    return cast(events.c.payload, LargeBinary)


@cache
def record_statement(dialect: Dialect, *, with_crisis: bool) -> Compiled:
    """Whole `events` rows (LogRecord field order) of a position range, in position order."""
    columns = [events.c[name] for name in FIELDS]
    return _compiled(_position_range(columns, with_crisis=with_crisis), dialect)


_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def uuid_from_hex(text: str) -> UUID:
    """The UUID of 32 hex digits as SQLAlchemy stores it on SQLite, built as `UUID(hex=...)`
    builds it (its two slots) without its checks for other spellings: 0.6 µs against 1.6. The
    stored text is what `UUID.hex` wrote; a test holds the two equal."""
    made = _new(UUID)
    _set(made, "int", int(text, 16))
    _set(made, "is_safe", _UNKNOWN)
    return made


def sqlite_record(row: Sequence[Any]) -> LogRecord:
    """A LogRecord from a SQLite `events` row as the driver gives it: what SQLAlchemy's column
    types would make of it (UUIDs from hex, aware UTC instants), without their per-value cost."""
    return LogRecord(
        row[0],
        uuid_from_hex(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        _sqlite_read_instant(row[7]),
        _sqlite_read_instant(row[8]),
        _sqlite_read_instant(row[9]),
        row[10],
        row[11],
        None if row[12] is None else uuid_from_hex(row[12]),
        None if row[13] is None else uuid_from_hex(row[13]),
        row[14],
        row[15],
        row[16],
        row[17],
    )


def _sqlite_read_instant(text: str) -> datetime:
    # As UTCDateTime reads it back: stored naive UTC (the offset parsed is `UTC` itself, and
    # five times cheaper than `datetime.replace`).
    return datetime.fromisoformat(text + "+00:00")


def _pg_column_json(name: str) -> ColumnElement[Any]:
    """A stored column as a JSON value, on PostgreSQL (`null` for NULL)."""
    column = events.c[name]
    value: ColumnElement[Any] = column
    if name in ("occurred_at", "received_at", "recorded_at"):
        utc = func.timezone(literal_column("'UTC'"), column)
        value = func.to_char(utc, literal_column("'YYYY-MM-DD HH24:MI:SS.US'"), type_=String)
    elif name in ("event_id", "correlation_id", "causation_id"):
        value = func.replace(cast(column, Text), literal_column("'-'"), literal_column("''"))
    return func.coalesce(cast(func.to_json(value), Text), literal_column("'null'"), type_=String)


def columns_expression(dialect: Dialect) -> ColumnElement[Any]:
    """The columns a record's hash covers (`HASHED_COLUMNS`), as the UTF-8 bytes of the compact
    JSON array `hashing.columns_text` makes of them, written by the database from what it
    stores: one value more per record for a verification to read, not thirteen.

    SQLite's `json_array` takes the stored values as they are (UUIDs as hex, instants as naive
    UTC text, numbers as numbers); PostgreSQL writes each with `to_json`, in the same form.
    """
    if dialect.name != "postgresql":
        return cast(func.json_array(*(events.c[name] for name in HASHED_COLUMNS)), LargeBinary)
    text: ColumnElement[Any] = literal_column("'['", String)
    for index, name in enumerate(HASHED_COLUMNS):
        if index:
            text = text + literal_column("','", String)
        text = text + _pg_column_json(name)
    text = text + literal_column("']'", String)
    return func.convert_to(text, literal_column("'UTF8'"))


@cache
def archive_statement(dialect: Dialect, *, with_crisis: bool) -> Compiled:
    """`(position, crisis_id, crisis_seq, hash, payload)` of a position range, optionally of one
    crisis, in position order: what an export writes."""
    columns = (
        events.c.position,
        events.c.crisis_id,
        events.c.crisis_seq,
        events.c.hash,
        events.c.payload,
    )
    return _compiled(_position_range(columns, with_crisis=with_crisis), dialect)


@cache
def chain_statement(dialect: Dialect) -> Compiled:
    """What a verification reads of a crisis' records in a range of sequence numbers
    (after, until], in chain order.

    The payload comes as its UTF-8 bytes, which the hash covers: the driver does not decode it
    into text for the verification to encode it back; the columns the hash also covers come as
    one text the database writes from the stored values (`columns_expression`).
    """
    query = (
        select(
            events.c.crisis_seq,
            events.c.position,
            events.c.prev_hash,
            events.c.hash,
            _payload_bytes(dialect),
            columns_expression(dialect),
        )
        .where(
            events.c.crisis_id == bindparam("crisis", type_=String),
            events.c.crisis_seq > bindparam("after", type_=Integer),
            events.c.crisis_seq <= bindparam("until", type_=Integer),
        )
        .order_by(events.c.crisis_seq)
        .limit(bindparam("chunk", type_=Integer))
    )
    return _compiled(query, dialect)


@cache
def insert_statement(dialect: Dialect) -> Compiled:
    """INSERT of one `events` row, parameters in LogRecord field order."""
    compiled = events.insert().compile(dialect=dialect, column_keys=list(FIELDS))
    if tuple(compiled.positiontup or ()) != FIELDS:
        raise RuntimeError("the events INSERT does not take its columns in LogRecord order")
    return Compiled(str(compiled), FIELDS, {})


async def fetch(conn: AsyncConnection, statement: Compiled, values: dict[str, Any]) -> list[Any]:
    """Run a compiled SELECT on the driver; rows as the driver gives them."""
    driver = (await conn.get_raw_connection()).driver_connection
    args = statement.args(values)
    if conn.dialect.name == "postgresql":
        return list(await driver.fetch(statement.sql, *args))  # type: ignore[union-attr]
    cursor = await driver.execute(statement.sql, args)  # type: ignore[union-attr]
    try:
        return list(await cursor.fetchall())
    finally:
        await cursor.close()


def _sqlite_instant(moment: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, naive UTC (as UTCDateTime binds it): the
    # first 26 characters of the UTC instant's ISO text (`datetime.replace` costs 5 times more).
    # Pydantic's instants carry its own UTC zone, not `datetime.UTC`: asking for the offset is
    # cheaper than converting (0.45 µs of 4 per instant, three instants per event).
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]


def _hex(value: UUID | None) -> str | None:
    return None if value is None else value.hex


def _sqlite_row(r: LogRecord) -> tuple[Any, ...]:
    # Field by field in FIELDS order (checked below): generic per-value dispatch cost twice as much.
    return (
        r.position,
        r.event_id.hex,
        r.crisis_id,
        r.crisis_seq,
        r.type,
        r.schema_version,
        r.status,
        _sqlite_instant(r.occurred_at),
        _sqlite_instant(r.received_at),
        _sqlite_instant(r.recorded_at),
        r.source,
        r.actor,
        _hex(r.correlation_id),
        _hex(r.causation_id),
        r.mc_number,
        r.payload,
        r.prev_hash,
        r.hash,
    )


if FIELDS != (
    "position",
    "event_id",
    "crisis_id",
    "crisis_seq",
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
    "payload",
    "prev_hash",
    "hash",
):
    raise RuntimeError("LogRecord changed: update _sqlite_row to its fields, in order")


async def insert(conn: AsyncConnection, records: Sequence[LogRecord]) -> None:
    """Insert records in the connection's open transaction; a duplicate raises IntegrityError.

    The caller must have run a statement through SQLAlchemy on `conn` first, so that the
    transaction the driver joins is already open.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    try:
        if conn.dialect.name == "postgresql":
            # Records are tuples in FIELDS order already.
            await driver.copy_records_to_table(  # type: ignore[union-attr]
                events.name, records=records, columns=list(FIELDS)
            )
        else:
            sql = insert_statement(conn.dialect).sql
            rows = [_sqlite_row(record) for record in records]
            await driver.executemany(sql, rows)  # type: ignore[union-attr]
    except Exception as exc:
        if _is_integrity_error(exc):
            raise IntegrityError("INSERT INTO events", None, exc) from exc
        raise


def _is_integrity_error(exc: Exception) -> bool:
    # sqlite3.IntegrityError, or asyncpg's IntegrityConstraintViolationError family (23xxx).
    sqlstate = getattr(exc, "sqlstate", None)
    return type(exc).__name__ == "IntegrityError" or (
        isinstance(sqlstate, str) and sqlstate.startswith("23")
    )
