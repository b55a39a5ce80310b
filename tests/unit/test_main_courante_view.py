"""The full main courante over HTTP: the picture API asks a token, the console a session."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from schemas.events import DecisionTaken, MainCouranteEntryRecorded, TaskAssigned
from services.cell.app import PeopleFile
from services.cell.people import Role, add_person
from services.console.auth import COOKIE, Sessions
from services.console.http import STATIC
from services.console.http import build_api as console_api
from services.eventlog.core import LogRecord
from services.picture.http import MAIN_COURANTE_MAX_PAGE, build_api, main_courante_item
from services.runtime.settings import Settings
from tests.store_fixtures import chained
from tests.unit.samples import sample_event
from tests.unit.test_console_http import PASSWORD, Clock, FakeBackend, _log_in
from tests.unit.test_read_access import FEED, OBSERVER, bearer, live_pictures, verifier

pytestmark = pytest.mark.unit

CRISIS = "alex-06-2020"
PATH = f"/crises/{CRISIS}/main-courante"


def _records(count: int) -> list[LogRecord]:
    events = [
        sample_event(
            MainCouranteEntryRecorded, event_id=uuid4(), entry_id=f"mc-{n:04d}", text=f"n {n}"
        )
        for n in range(1, count + 1)
    ]
    return chained(events)[::-1]


class FakeLog:
    """The event log's main courante, faked: newest first, and what each call asked."""

    def __init__(self, records: Sequence[LogRecord]) -> None:
        self.records = list(records)
        self.asked: list[dict[str, Any]] = []

    async def main_courante(self, crisis_id: str, **asked: Any) -> list[LogRecord]:
        self.asked.append({"crisis_id": crisis_id, **asked})
        after = asked["after"]
        kept = [r for r in self.records if after is None or r.position < after]
        return kept[: asked["limit"]]


def picture_client(log: FakeLog) -> TestClient:
    return TestClient(build_api(live_pictures(), log, None, verifier()))  # type: ignore[arg-type]


# -- the picture API -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, bearer("not-a-token"), {"Authorization": "Basic eDp5"}])
def test_the_api_refuses_without_a_valid_token_and_reads_nothing(headers: dict[str, str]) -> None:
    log = FakeLog(_records(3))
    reply = picture_client(log).get(PATH, headers=headers)
    assert reply.status_code == 401
    assert set(reply.json()) == {"detail"}
    assert log.asked == []


def test_a_feed_token_may_not_read_the_main_courante() -> None:
    log = FakeLog(_records(3))
    assert picture_client(log).get(PATH, headers=bearer(FEED)).status_code == 403
    assert log.asked == []


def test_an_observer_pages_through_with_the_next_cursor() -> None:
    log = FakeLog(_records(7))
    test = picture_client(log)
    first = test.get(PATH, params={"limit": 3}, headers=bearer(OBSERVER)).json()
    assert [e["number"] for e in first["entries"]] == [7, 6, 5]
    assert first["next"] == first["entries"][-1]["position"]
    numbers = [e["number"] for e in first["entries"]]
    after = first["next"]
    while after is not None:
        page = test.get(PATH, params={"limit": 3, "after": after}, headers=bearer(OBSERVER)).json()
        numbers += [e["number"] for e in page["entries"]]
        after = page["next"]
    assert numbers == [7, 6, 5, 4, 3, 2, 1]
    entry = first["entries"][0]
    assert {"number", "recorded_at", "occurred_at", "actor", "direction", "sender"} <= set(entry)
    assert {"recipient", "medium", "priority", "text", "follow_up"} <= set(entry)
    assert entry["text"] == "n 7"


def test_the_filters_reach_the_log_and_the_page_is_capped() -> None:
    log = FakeLog([])
    params = {
        "type": "decision.taken,task.assigned",
        "actor": "op.martin",
        "q": "100%",
        "since": "2020-10-02T10:00:00+02:00",
        "until": "2020-10-02T12:00:00+02:00",
        "clock": "world",
        "after": "42",
        "order": "oldest",
        "limit": "100000",
    }
    reply = picture_client(log).get(PATH, params=params, headers=bearer(OBSERVER))
    assert reply.status_code == 200, reply.text
    [asked] = log.asked
    assert asked["types"] == ("decision.taken", "task.assigned")
    assert (asked["actor"], asked["search"], asked["clock"]) == ("op.martin", "100%", "world")
    assert asked["since"].utcoffset() == timedelta(hours=2)
    assert (asked["after"], asked["newest_first"]) == (42, False)
    assert asked["limit"] == MAIN_COURANTE_MAX_PAGE + 1  # one more: is there a next page?


@pytest.mark.parametrize(
    "params",
    [
        {"type": "incident.reported"},
        {"since": "2020-10-02T10:00:00"},  # no time zone
        {"clock": "moon"},
        {"limit": "0"},
        {"after": "-1"},
    ],
)
def test_a_bad_query_is_refused(params: dict[str, str]) -> None:
    log = FakeLog([])
    reply = picture_client(log).get(PATH, params=params, headers=bearer(OBSERVER))
    assert reply.status_code == 422
    assert log.asked == []


def test_decisions_and_tasks_read_as_lines_of_the_main_courante() -> None:
    decision, task = chained(
        [
            sample_event(DecisionTaken, event_id=uuid4()),
            sample_event(TaskAssigned, event_id=uuid4()),
        ]
    )
    shown = main_courante_item(decision)
    assert (shown["type"], shown["number"]) == ("decision.taken", None)
    assert (shown["text"], shown["sender"]) == (
        "Fermeture des écoles de la vallée.",
        "Directeur de cabinet",
    )
    given = main_courante_item(task)
    assert (given["text"], given["recipient"]) == (
        "Ouvrir un centre d'hébergement",
        "Mairie de Lantosque",
    )
    assert given["follow_up"]["owner"] == "Mairie de Lantosque"


# -- the console -----------------------------------------------------------------------------------


class BackendWithLog(FakeBackend):
    def __init__(self, log: FakeLog) -> None:
        super().__init__()
        self.store = log


@pytest.fixture
def log() -> FakeLog:
    return FakeLog(_records(4))


@pytest.fixture
def console(tmp_path: Path, log: FakeLog) -> Iterator[TestClient]:
    people = tmp_path / "people.toml"
    add_person(people, "obs.ars", Role.OBSERVER, "ARS", PASSWORD)
    sessions = Sessions(
        PeopleFile(people), idle=timedelta(minutes=60), longest=timedelta(hours=12), clock=Clock()
    )
    settings = Settings(_env_file=None, var_dir=tmp_path)  # type: ignore[call-arg]
    with TestClient(console_api(BackendWithLog(log), sessions, settings)) as client:  # type: ignore[arg-type]
        yield client


@pytest.mark.parametrize("query", ["", "?type=incident.reported", "?since=nonsense"])
def test_the_console_route_refuses_without_a_session(
    console: TestClient, log: FakeLog, query: str
) -> None:
    reply = console.get(f"/api/crises/{CRISIS}/main-courante{query}")
    assert reply.status_code == 401
    assert log.asked == []
    console.cookies.set(COOKIE, "forged-session-token")
    assert console.get(f"/api/crises/{CRISIS}/main-courante{query}").status_code == 401
    assert log.asked == []


def test_a_signed_in_reader_gets_the_main_courante_and_bad_filters_are_400(
    console: TestClient, log: FakeLog
) -> None:
    _log_in(console, "obs.ars")
    page = console.get(
        f"/api/crises/{CRISIS}/main-courante",
        params=[
            ("type", "maincourante.entry_recorded"),
            ("type", "decision.taken"),
            ("limit", "2"),
        ],
    ).json()
    assert [e["number"] for e in page["entries"]] == [4, 3]
    assert page["next"] == page["entries"][-1]["position"]
    assert log.asked[-1]["types"] == ("maincourante.entry_recorded", "decision.taken")
    for bad in ("type=incident.reported", "since=nonsense", "limit=x", "clock=moon", "order=up"):
        reply = console.get(f"/api/crises/{CRISIS}/main-courante?{bad}")
        assert reply.status_code == 400, bad
        assert "error" in reply.json()


def test_the_view_builds_text_nodes_and_has_its_words_in_both_languages() -> None:
    script = (STATIC / "journal.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)
    words = (STATIC / "i18n.js").read_text(encoding="utf-8")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'"(journal\.[a-z_.]+)"', script))
    used |= set(re.findall(r'data-i18n="(journal\.[a-z_.]+)"', page))
    used |= {
        f"journal.type.{t}"
        for t in re.findall(r'"((?:maincourante|decision|task)\.[a-z_]+)"', script)
    }
    fr, en = words.split("\n  en: {", 1)
    for key in used:
        assert f'"{key}":' in fr, key
        assert f'"{key}":' in en.split("\nconst WORDS", 1)[0], key
