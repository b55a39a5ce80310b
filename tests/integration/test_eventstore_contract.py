"""The event store's contract: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, delete, update
from sqlalchemy.exc import IntegrityError

from schemas.envelope import Envelope
from schemas.events import IncidentReported, MainCouranteEntryRecorded
from services.eventlog.archive import ImportResult, export_log, import_log, verify_log
from services.eventlog.archive_key import SigningKey
from services.eventlog.core import ChainHead, ChainLink, LogRecord, chain
from services.eventlog.store import CrisisLog, EventStore, RejectedInput
from services.eventlog.tables import events, metadata
from tests.store_fixtures import (
    BACKENDS,
    backend_of,
    chained,
    delivered,
    open_store,
    recorded_at,
)
from tests.unit.samples import PARIS_SUMMER, incident_reported, sample_event

pytestmark = pytest.mark.integration

ALEX = "alex-06-2020"
ROYA = "roya-2020"


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    """An empty, migrated store on each database."""
    async with open_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
async def other_store(store: EventStore, tmp_path: Path) -> AsyncIterator[EventStore]:
    """A second empty store, on the same database as `store`."""
    async with open_store(backend_of(store), tmp_path) as opened:
        yield opened


def _main_courante(crisis_id: str = ALEX) -> MainCouranteEntryRecorded:
    return sample_event(MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=crisis_id)


def _mixed(count: int) -> list[Envelope]:
    """Two crises interleaved: ALEX incident, ROYA incident, ALEX main-courante entry, again."""
    crises = [ALEX, ROYA, ALEX]
    return [
        _main_courante(crises[i % 3]) if i % 3 == 2 else incident_reported(crisis_id=crises[i % 3])
        for i in range(count)
    ]


async def _all(records: AsyncIterator[LogRecord]) -> list[LogRecord]:
    return [record async for record in records]


async def _filled(store: EventStore, count: int) -> list[LogRecord]:
    records = chained(_mixed(count))
    await store.append(records)
    return records


# -- appending and reading ---------------------------------------------------------------------


async def test_records_read_back_equal_to_what_was_appended_in_position_order(
    store: EventStore,
) -> None:
    first = chained(_mixed(5))
    heads = await store.heads([ALEX, ROYA])
    assert heads == {}
    await store.append(first)
    second = chained(_mixed(4), first=6, heads=await store.heads([ALEX, ROYA]))
    await store.append(second)
    assert await _all(store.read()) == first + second
    assert await store.last_position() == 9
    assert await store.count() == 9


async def test_read_keeps_within_the_position_and_time_bounds_given(store: EventStore) -> None:
    records = await _filled(store, 10)
    assert await _all(store.read(after=3)) == records[3:]
    assert await _all(store.read(until_position=5)) == records[:5]
    assert await _all(store.read(until_recorded=recorded_at(7))) == records[:7]
    bounded = await _all(store.read(after=2, until_position=8, until_recorded=recorded_at(6)))
    assert bounded == records[2:6]
    assert await _all(store.read(after=10)) == []


async def test_read_of_one_crisis_returns_only_its_records(store: EventStore) -> None:
    records = await _filled(store, 12)
    roya = [r for r in records if r.crisis_id == ROYA]
    assert await _all(store.read(ROYA)) == roya
    assert await _all(store.read(ROYA, after=roya[0].position)) == roya[1:]
    assert await store.count(ROYA) == len(roya)
    assert await _all(store.read("unknown-crisis")) == []


async def test_a_small_chunk_pages_through_every_record_in_order(store: EventStore) -> None:
    records = await _filled(store, 100)
    assert await _all(store.read(chunk=7)) == records
    alex = [r for r in records if r.crisis_id == ALEX]
    assert await _all(store.read(ALEX, chunk=7)) == alex
    links = [link async for chunk in store.read_links(ALEX, chunk=7) for link in chunk]
    assert links == [
        ChainLink(r.crisis_seq, r.position, r.prev_hash, r.hash, r.payload.encode(), r.columns)
        for r in alex
    ]
    assert [chunk async for chunk in store.read_links("unknown-crisis")] == []


async def _payloads(store: EventStore, *args: str, **bounds: Any) -> list[tuple[int, str]]:
    return [row async for rows in store.read_payloads(*args, **bounds) for row in rows]


async def test_the_bulk_reader_gives_positions_and_stored_json_within_the_same_bounds(
    store: EventStore,
) -> None:
    records = await _filled(store, 30)
    pairs = [(r.position, r.payload) for r in records]
    assert await _payloads(store) == pairs
    assert await _payloads(store, chunk=4) == pairs
    assert await _payloads(store, after=3, until_position=20) == pairs[3:20]
    assert await _payloads(store, until_recorded=recorded_at(7)) == pairs[:7]
    roya = [(r.position, r.payload) for r in records if r.crisis_id == ROYA]
    assert await _payloads(store, ROYA, chunk=3) == roya
    assert await _payloads(store, "unknown-crisis") == []
    # As the UTF-8 bytes of the stored text, undecoded (what the picture's folds read).
    as_bytes = [(position, payload.encode()) for position, payload in roya]
    assert [row async for rows in store.read_payloads(ROYA, as_bytes=True) for row in rows] == (
        as_bytes
    )
    assert await store.position_at(recorded_at(12)) == 12
    assert await store.position_at(recorded_at(0)) == 0


async def test_an_event_appended_twice_is_refused_and_the_log_left_unchanged(
    store: EventStore,
) -> None:
    records = await _filled(store, 4)
    heads_before, crises_before = await store.heads([ALEX, ROYA]), await store.crises()
    again = sample_event(IncidentReported, event_id=records[1].event_id, crisis_id=ALEX)
    batch = chained([incident_reported(crisis_id=ROYA), again], first=5, heads=heads_before)
    with pytest.raises(IntegrityError):
        await store.append(batch)
    assert await _all(store.read()) == records
    assert await store.heads([ALEX, ROYA]) == heads_before
    assert await store.crises() == crises_before


async def test_heads_and_crises_follow_the_appends(store: EventStore) -> None:
    records = await _filled(store, 6)  # ALEX ROYA ALEX(mc) ALEX ROYA ALEX(mc)
    alex = [r for r in records if r.crisis_id == ALEX]
    roya = [r for r in records if r.crisis_id == ROYA]
    assert await store.heads([ALEX, ROYA, "unknown"]) == {
        ALEX: ChainHead(4, alex[-1].hash, 2),
        ROYA: ChainHead(2, roya[-1].hash, 0),
    }
    more = chained([incident_reported(crisis_id=ALEX)], first=7, heads=await store.heads([ALEX]))
    await store.append(more)
    assert await store.crises() == [
        CrisisLog(ALEX, 5, 2, 1, 7, recorded_at(1), recorded_at(7), more[0].hash),
        CrisisLog(ROYA, 2, 0, 2, 5, recorded_at(2), recorded_at(5), roya[-1].hash),
    ]


async def test_known_event_ids_are_those_the_log_holds(store: EventStore) -> None:
    records = await _filled(store, 3)
    stranger = uuid4()
    asked = [records[0].event_id, records[2].event_id, stranger]
    assert await store.known_event_ids(asked) == {records[0].event_id, records[2].event_id}
    assert await store.known_event_ids([]) == set()


async def test_instants_come_back_aware_and_equal_to_the_microsecond(store: EventStore) -> None:
    moment = datetime(2020, 10, 2, 16, 45, 12, 123456, tzinfo=PARIS_SUMMER)
    event = incident_reported(occurred_at=moment, received_at=moment + timedelta(microseconds=1))
    at = moment + timedelta(seconds=3, microseconds=7)
    records, _ = chain([delivered(event, 1, at=at)], {})
    await store.append(records)
    [back] = await _all(store.read(until_recorded=at))
    for name in ("occurred_at", "received_at", "recorded_at"):
        value = getattr(back, name)
        assert value.utcoffset() == timedelta(0), name
        assert value == getattr(records[0], name), name
    assert back.occurred_at.microsecond == 123456
    assert back.recorded_at.microsecond == 123463
    assert back.event().occurred_at == moment
    assert await _all(store.read(until_recorded=at - timedelta(microseconds=1))) == []
    [crisis] = await store.crises()
    assert crisis.first_recorded_at == at


# -- rejected inputs ---------------------------------------------------------------------------


REFUSED_CAP = RejectedInput(
    source="cap-meteo-france",
    reason="<area> missing",
    raw=b"\xff\x00<alert>",
    rejected_at=datetime(2020, 10, 2, 14, 0, 0, 500, tzinfo=PARIS_SUMMER),
    field="/alert/info[0]/area",
    subject="deadletter.cap-meteo-france",
    stream="DEADLETTER",
    position=3,
    content_type="application/cap+xml",
    headers={"Nats-Msg-Id": "abc"},
)


async def test_a_rejected_input_is_kept_raw_with_its_reason(store: EventStore) -> None:
    kept_id = await store.add_rejected(REFUSED_CAP)
    assert await store.rejected_one(kept_id) == replace(REFUSED_CAP, id=kept_id)
    assert await store.rejected_one(kept_id + 1000) is None


async def test_the_same_stream_message_rejected_twice_is_kept_once(store: EventStore) -> None:
    first = await store.add_rejected(REFUSED_CAP)
    second = await store.add_rejected(replace(REFUSED_CAP, rejected_at=recorded_at(99)))
    assert first == second
    assert await store.count_rejected() == 1


async def test_rejected_inputs_are_listed_newest_first(store: EventStore) -> None:
    console = replace(REFUSED_CAP, source="console", raw=b"two", position=None, headers=None)
    ids = [
        await store.add_rejected(replace(REFUSED_CAP, raw=b"one", position=1)),
        await store.add_rejected(console),
        await store.add_rejected(replace(REFUSED_CAP, raw=b"three", position=2)),
    ]
    assert await store.count_rejected() == 3
    assert [r.raw for r in await store.rejected()] == [b"three", b"two", b"one"]
    assert [r.id for r in await store.rejected(limit=2)] == ids[:0:-1]
    assert [r.raw for r in await store.rejected(source="cap-meteo-france")] == [b"three", b"one"]
    assert await store.rejected_one(ids[1]) == replace(console, id=ids[1])


# -- export, import, verification --------------------------------------------------------------


async def _exported(store: EventStore) -> list[bytes]:
    out = io.BytesIO()
    await export_log(store, out, key=SigningKey.generate())
    return out.getvalue().splitlines(keepends=True)


async def test_an_exported_log_imports_into_an_empty_store_as_identical_records(
    store: EventStore, other_store: EventStore
) -> None:
    records = await _filled(store, 30)
    result = await import_log(other_store, await _exported(store), chunk=7)
    assert result == ImportResult(read=30, added=30, already_held=0)
    assert await _all(other_store.read()) == records == await _all(store.read())
    assert await other_store.crises() == await store.crises()
    assert await verify_log(store) == []
    assert await verify_log(other_store) == []


async def test_importing_the_same_archive_twice_adds_nothing_the_second_time(
    store: EventStore, other_store: EventStore
) -> None:
    records = await _filled(store, 10)
    archive = await _exported(store)
    await import_log(other_store, archive, chunk=4)
    again = await import_log(other_store, archive, chunk=4)
    assert again == ImportResult(read=10, added=0, already_held=10)
    assert await _all(other_store.read()) == records


async def test_verify_log_hashes_the_stored_bytes_of_escapes_and_accents_as_written(
    store: EventStore,
) -> None:
    # Verification reads payloads as bytes (CAST on SQLite, convert_to on PostgreSQL, where a
    # cast to bytea would read backslashes as escapes).
    text = 'Message "urgent" de C:\\CODIS\\06 : évacuation \\n à Saint-Martin-Vésubie 🚒'
    entry = sample_event(MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=ALEX, text=text)
    [record] = chained([entry])
    await store.append([record])

    [links] = [chunk async for chunk in store.read_links(ALEX)]
    assert links[0].payload == record.payload.encode()
    assert await verify_log(store) == []


async def test_verify_log_reports_a_payload_changed_in_the_database(store: EventStore) -> None:
    records = await _filled(store, 9)
    target = [r for r in records if r.crisis_id == ALEX][2]
    forged = target.payload.replace("op.dupont", "op.durand")
    async with store.engine.begin() as conn:
        await conn.execute(
            update(events).where(events.c.position == target.position).values(payload=forged)
        )
    [fault] = await verify_log(store)
    assert (fault.crisis_id, fault.crisis_seq, fault.position) == (ALEX, 3, target.position)
    assert "changed" in fault.problem
    assert await verify_log(store, crisis_id=ROYA) == []


async def test_verify_log_reports_a_record_deleted_in_the_middle(store: EventStore) -> None:
    records = await _filled(store, 9)
    alex = [r for r in records if r.crisis_id == ALEX]
    async with store.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.position == alex[2].position))
    [fault] = await verify_log(store)
    assert (fault.crisis_id, fault.crisis_seq, fault.position) == (ALEX, 3, alex[3].position)
    assert "missing" in fault.problem


async def test_verify_log_reports_records_deleted_at_the_end(store: EventStore) -> None:
    records = await _filled(store, 9)
    roya = [r for r in records if r.crisis_id == ROYA]
    async with store.engine.begin() as conn:
        await conn.execute(delete(events).where(events.c.position == roya[-1].position))
    [fault] = await verify_log(store, crisis_id=ROYA)
    assert (fault.crisis_id, fault.crisis_seq, fault.position) == (ROYA, len(roya), None)
    assert "missing at the end" in fault.problem
    assert await verify_log(store, crisis_id=ALEX) == []


# -- schema ------------------------------------------------------------------------------------


async def test_the_migration_creates_exactly_the_tables_of_the_metadata(
    store: EventStore,
) -> None:
    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []
