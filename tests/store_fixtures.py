"""Building blocks of the event store's contract tests: a migrated store per database, and
records chained the way the recorder chains them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.schema import CreateSchema, DropSchema

from schemas import subjects
from schemas.envelope import Envelope
from schemas.wire import encode
from services.eventlog.core import ChainHead, Decoded, Delivery, LogRecord, chain, decode_delivery
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.database import make_engine

POSTGRES_URL_VARIABLE = "CRISIS_TEST_POSTGRES_URL"

# The databases every contract test runs on; PostgreSQL only where a server is configured.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Stream time of position 0; position N is recorded N seconds later.
T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)


def recorded_at(position: int) -> datetime:
    """The stream time the helpers give to `position`."""
    return T0 + timedelta(seconds=position)


def delivered(event: Envelope, position: int, *, at: datetime | None = None) -> Decoded:
    """`event` as the recorder decodes it when the bus delivers it at `position`."""
    delivery = Delivery(
        position=position,
        recorded_at=recorded_at(position) if at is None else at,
        subject=subjects.live(event.crisis_id, event.type),
        data=encode(event),
    )
    decoded = decode_delivery(delivery)
    assert isinstance(decoded, Decoded), decoded
    return decoded


def chained(
    events: Sequence[Envelope], *, first: int = 1, heads: Mapping[str, ChainHead] | None = None
) -> list[LogRecord]:
    """Records of `events` at positions `first`, `first + 1`, ..., chained onto `heads`."""
    records, _ = chain(
        [delivered(event, first + offset) for offset, event in enumerate(events)], heads or {}
    )
    return records


def backend_of(store: EventStore) -> str:
    """Which of BACKENDS `store` runs on."""
    return "postgres" if store.engine.dialect.name == "postgresql" else "sqlite"


def postgres_url() -> str:
    """The test server's URL, or a skip saying how to give one."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server to test on "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
        )
    return url


@asynccontextmanager
async def open_store(backend: str, folder: Path) -> AsyncIterator[EventStore]:
    """An empty, migrated store of its own on `backend`, removed afterwards."""
    if backend == "sqlite":
        store = EventStore(make_engine(f"sqlite+aiosqlite:///{folder / uuid4().hex}.db"))
        try:
            await upgrade(store.engine)
            yield store
        finally:
            await store.close()
        return
    url = postgres_url()
    # A schema per store keeps tests apart on one database; search_path makes it the default.
    schema = f"t_{uuid4().hex}"
    admin = make_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(CreateSchema(schema))
        engine = make_engine(url, connect_args={"server_settings": {"search_path": schema}})
        store = EventStore(engine)
        try:
            await upgrade(store.engine)
            yield store
        finally:
            await store.close()
            async with admin.begin() as conn:
                await conn.execute(DropSchema(schema, cascade=True))
    finally:
        await admin.dispose()
