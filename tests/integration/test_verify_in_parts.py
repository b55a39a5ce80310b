"""`crisis log verify` in two parts at once: the faults a walk from the start would report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import delete, update

from schemas.events import MainCouranteEntryRecorded
from services.eventlog import archive
from services.eventlog.archive import verify_log
from services.eventlog.core import LogRecord
from services.eventlog.store import EventStore
from services.eventlog.tables import events
from tests.store_fixtures import chained, open_store
from tests.unit.samples import sample_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ALEX = "alex-06-2020"
COUNT = 30
# With SECOND_SHARE a third, the worker process walks records 21 to 30.
SPLIT = COUNT - int(COUNT * archive.SECOND_SHARE)

Tamper = Callable[[EventStore, list[LogRecord]], Awaitable[None]]


@pytest.fixture
async def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EventStore]:
    monkeypatch.setattr(archive, "PARALLEL_FROM", 1)
    async with open_store("sqlite", tmp_path) as opened:
        yield opened


async def _filled(store: EventStore) -> list[LogRecord]:
    entries = [
        sample_event(MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=ALEX)
        for _ in range(COUNT)
    ]
    records = chained(entries)
    await store.append(records)
    return records


def _url(store: EventStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


async def test_an_intact_chain_verifies_in_two_parts_with_every_record_counted(
    store: EventStore,
) -> None:
    await _filled(store)
    counted: list[int] = []

    assert await verify_log(store, progress=counted.append, database_url=_url(store)) == []
    assert sum(counted) == COUNT


async def _payload_changed(store: EventStore, records: list[LogRecord]) -> None:
    target = records[24]
    async with store.engine.begin() as conn:
        await conn.execute(
            update(events)
            .where(events.c.position == target.position)
            .values(payload=target.payload.replace("op.dupont", "op.durand"))
        )


def _deleted(seq: int) -> Tamper:
    async def tamper(store: EventStore, _records: list[LogRecord]) -> None:
        async with store.engine.begin() as conn:
            await conn.execute(delete(events).where(events.c.crisis_seq == seq))

    return tamper


async def _swapped_at_the_join(store: EventStore, records: list[LogRecord]) -> None:
    # The last record of the first part and the first of the second trade positions.
    before, after = records[SPLIT - 1], records[SPLIT]
    async with store.engine.begin() as conn:
        for record, position in ((before, -1), (after, before.position), (before, after.position)):
            await conn.execute(
                update(events)
                .where(events.c.crisis_seq == record.crisis_seq)
                .values(position=position)
            )


async def _prev_hash_changed_at_the_join(store: EventStore, _records: list[LogRecord]) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            update(events).where(events.c.crisis_seq == SPLIT + 1).values(prev_hash="0" * 64)
        )


@pytest.mark.parametrize(
    "tamper",
    [
        _payload_changed,
        _deleted(SPLIT),
        _deleted(SPLIT + 1),
        _deleted(COUNT),
        _swapped_at_the_join,
        _prev_hash_changed_at_the_join,
    ],
    ids=[
        "payload changed in the second part",
        "last record of the first part deleted",
        "first record of the second part deleted",
        "last record deleted",
        "positions swapped at the join",
        "link broken at the join",
    ],
)
async def test_two_parts_report_the_fault_a_walk_from_the_start_reports(
    store: EventStore, tamper: Tamper
) -> None:
    await tamper(store, await _filled(store))

    walked = await verify_log(store)
    in_parts = await verify_log(store, database_url=_url(store))

    assert len(walked) == 1
    assert in_parts == walked
