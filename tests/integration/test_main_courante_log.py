"""The full main courante read from the log: paged, searched, filtered, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from schemas.envelope import Envelope
from schemas.events import (
    DecisionTaken,
    FollowUpDone,
    MainCouranteEntryRecorded,
    TaskAssigned,
    TaskCompleted,
)
from services.cli.main import app
from services.eventlog.core import LogRecord
from services.eventlog.schema import upgrade
from services.eventlog.store import MAIN_COURANTE_TYPES, EventStore
from services.picture.http import MainCouranteQuery
from services.runtime.database import make_engine
from tests.store_fixtures import BACKENDS, T0, chained, open_store, recorded_at
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.integration

ALEX = "alex-06-2020"
ROYA = "roya-2020"
ENTRIES = 23
ACTORS = ("op.martin", "op.durand", "dircab")
TEXTS = {
    4: "Pont de la VÉSUBIE emporté",
    9: "Taux de 100% atteint au barrage",
    12: "Route_D2565 fermée",
    17: "pont de Lantosque fragilisé",
}


def _entry(n: int, crisis: str = ALEX) -> MainCouranteEntryRecorded:
    return sample_event(
        MainCouranteEntryRecorded,
        event_id=uuid4(),
        crisis_id=crisis,
        entry_id=f"mc-{n:04d}",
        actor=ACTORS[n % 3],
        sender="SDIS 06" if n == 20 else f"Poste {n}",
        text=TEXTS.get(n, f"Message ordinaire {n}"),
        # The world's clock runs backwards here, to tell it from the cell's.
        occurred_at=T0 - timedelta(minutes=n),
    )


def _crisis() -> list[Envelope]:
    """ALEX: 23 entries, with decisions, tasks, follow-ups, incidents and ROYA entries between."""
    events: list[Envelope] = []
    for n in range(1, ENTRIES + 1):
        events.append(_entry(n))
        if n % 5 == 0:
            events.append(incident_reported(crisis_id=ALEX))
            events.append(_entry(100 + n, ROYA))
        if n == 6:
            events.append(
                sample_event(DecisionTaken, event_id=uuid4(), text="Fermeture des écoles")
            )
            events.append(sample_event(TaskAssigned, event_id=uuid4()))
        if n == 8:
            events.append(sample_event(FollowUpDone, event_id=uuid4(), entry_id="mc-0004"))
            events.append(sample_event(TaskCompleted, event_id=uuid4()))
    return events


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    """A store on each database holding `_crisis()`."""
    async with open_store(request.param, tmp_path) as opened:
        await opened.append(chained(_crisis()))
        yield opened


async def _every_page(store: EventStore, size: int, **filters: Any) -> list[list[LogRecord]]:
    pages, after = [], None
    while True:
        page = await store.main_courante(ALEX, after=after, limit=size, **filters)
        if not page:
            return pages
        pages.append(page)
        after = page[-1].position


@pytest.mark.parametrize("newest_first", [True, False])
async def test_paging_gives_every_entry_once_in_order(
    store: EventStore, newest_first: bool
) -> None:
    pages = await _every_page(store, 5, newest_first=newest_first)
    numbers = [record.mc_number for page in pages for record in page]
    expected = list(range(1, ENTRIES + 1))
    assert numbers == (expected[::-1] if newest_first else expected)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert {record.crisis_id for page in pages for record in page} == {ALEX}


async def test_the_related_types_come_when_asked(store: EventStore) -> None:
    everything = await store.main_courante(ALEX, types=MAIN_COURANTE_TYPES, limit=500)
    assert len(everything) == ENTRIES + 4
    positions = [record.position for record in everything]
    assert positions == sorted(positions, reverse=True)
    decisions = await store.main_courante(ALEX, types=["decision.taken"])
    assert [record.type for record in decisions] == ["decision.taken"]
    assert await store.main_courante(ALEX, types=[]) == []


async def test_paging_over_several_types_is_exact(store: EventStore) -> None:
    pages = await _every_page(store, 4, types=MAIN_COURANTE_TYPES, newest_first=False)
    positions = [record.position for page in pages for record in page]
    assert len(positions) == len(set(positions)) == ENTRIES + 4
    assert positions == sorted(positions)


async def test_an_actor_filter_keeps_only_their_entries(store: EventStore) -> None:
    found = await store.main_courante(ALEX, actor="dircab", limit=100)
    assert [r.mc_number for r in found] == [n for n in range(ENTRIES, 0, -1) if n % 3 == 2]
    assert {r.actor for r in found} == {"dircab"}


@pytest.mark.parametrize(
    ("search", "numbers"),
    [
        ("PONT", [17, 4]),  # any case
        ("pont de", [17, 4]),
        ("100%", [9]),  # % is a character, not a wildcard
        ("0%", [9]),
        ("%", [9]),
        ("route_d", [12]),  # _ likewise
        ("_", [12]),
        ("sdis", [20]),  # the sender too
        ("nothing like it", []),
    ],
)
async def test_search_is_case_insensitive_and_literal(
    store: EventStore, search: str, numbers: list[int]
) -> None:
    found = await store.main_courante(ALEX, search=search, limit=100)
    assert [r.mc_number for r in found] == numbers


async def test_search_reads_the_related_types_too(store: EventStore) -> None:
    found = await store.main_courante(ALEX, types=MAIN_COURANTE_TYPES, search="écoles")
    assert [r.type for r in found] == ["decision.taken"]


async def test_the_cell_clock_bounds_recorded_at_and_the_world_clock_occurred_at(
    store: EventStore,
) -> None:
    entries = await store.main_courante(ALEX, limit=100, newest_first=False)
    by_number = {r.mc_number: r for r in entries}
    since, until = by_number[5].recorded_at, by_number[9].recorded_at
    cell = await store.main_courante(ALEX, since=since, until=until, newest_first=False)
    assert [r.mc_number for r in cell] == [5, 6, 7, 8, 9]
    world = await store.main_courante(
        ALEX, since=T0 - timedelta(minutes=9), until=T0 - timedelta(minutes=5), clock="world"
    )
    assert sorted(r.mc_number or 0 for r in world) == [5, 6, 7, 8, 9]


async def test_filters_combine_and_page_together(store: EventStore) -> None:
    since = recorded_at(1)
    pages = await _every_page(store, 2, actor="op.martin", since=since, search="message")
    numbers = [r.mc_number for page in pages for r in page]
    assert numbers == [n for n in range(ENTRIES, 0, -1) if n % 3 == 0 and n not in TEXTS]


async def test_the_query_is_read_through_the_crisis_index(store: EventStore) -> None:
    async with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in await conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT position FROM events WHERE crisis_id = :c "
                        "AND type IN ('maincourante.entry_recorded') AND position < 100 "
                        "ORDER BY position DESC LIMIT 51"
                    ),
                    {"c": ALEX},
                )
            )
            assert "ix_events_crisis_id_position" in plan, plan
        else:
            await conn.execute(text("SET enable_seqscan = off"))
            rows = await conn.execute(
                text(
                    "EXPLAIN SELECT position FROM events WHERE crisis_id = :c "
                    "AND type IN ('maincourante.entry_recorded') AND position < 100 "
                    "ORDER BY position DESC LIMIT 51"
                ),
                {"c": ALEX},
            )
            plan = " ".join(str(row[0]) for row in rows)
            assert "ix_events_crisis_id_position" in plan, plan


async def test_a_query_pages_with_a_next_cursor_until_the_last_page(store: EventStore) -> None:
    seen: list[int] = []
    after = None
    for _ in range(10):
        page = await MainCouranteQuery(ALEX, after=after, limit=10).page(store)
        seen += [entry["number"] for entry in page["entries"]]
        after = page["next"]
        if after is None:
            break
    assert seen == list(range(ENTRIES, 0, -1))
    first = (await MainCouranteQuery(ALEX, limit=1).page(store))["entries"][0]
    assert first["sender"] == "Poste 23"
    assert first["text"] == "Message ordinaire 23"
    assert first["follow_up"] == {"owner": "Cellule moyens", "due": first["follow_up"]["due"]}


# -- the command line ----------------------------------------------------------------------------


def test_crisis_log_list_reads_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "log.db"

    async def fill() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        await upgrade(engine)
        await EventStore(engine).append(chained(_crisis()))
        await engine.dispose()

    asyncio.run(fill())
    monkeypatch.setenv("CRISIS_DB_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    listed = runner.invoke(app, ["log", "list", "-c", ALEX, "--search", "pont", "--json"])
    assert listed.exit_code == 0, listed.output
    page = orjson.loads(listed.stdout)
    assert [e["number"] for e in page["entries"]] == [17, 4]
    assert page["next"] is None
    paged = runner.invoke(app, ["log", "list", "-c", ALEX, "--limit", "3", "--oldest"])
    assert paged.exit_code == 0, paged.output
    assert "Message ordinaire 3" in paged.stdout
    assert "Message ordinaire 5" not in paged.stdout
    assert "more: add --after" in paged.stderr
    refused = runner.invoke(app, ["log", "list", "-c", ALEX, "--type", "incident.reported"])
    assert refused.exit_code != 0
