"""The console's HTTP: login, sessions that expire, CSRF, read-only roles refused on the server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from services.cell.app import PeopleFile
from services.cell.people import Role, add_person, change_person
from services.console.auth import COOKIE, Sessions
from services.console.http import STATIC, build_api
from services.picture.fold import Picture, new_picture
from services.runtime.settings import Settings

pytestmark = pytest.mark.unit

PASSWORD = "correct horse battery"


class FakeBackend:
    """The running service, faked: pictures, acts recorded, no bus."""

    def __init__(self) -> None:
        self.pictures: dict[str, Picture] = {"crue-06": new_picture("crue-06")}
        self.acts: list[tuple[str, dict[str, Any]]] = []
        self.asked: list[str] = []

    def listen(self, _crisis_id: str) -> asyncio.Queue[None]:
        return asyncio.Queue(maxsize=1)

    def forget(self, _crisis_id: str, _queue: asyncio.Queue[None]) -> None:
        return None

    async def act(self, actor: str, command: dict[str, Any]) -> dict[str, Any]:
        self.acts.append((actor, command))
        return {"ok": True, "events": []}

    async def rejected(self, limit: int) -> list[dict[str, Any]]:
        return [{"id": 1, "reason": "DOCTYPE refused", "limit": limit}]

    async def sitrep_html(self, _crisis_id: str, number: int, _draft: bool) -> bytes | None:
        return b"<html>report</html>" if number == 1 else None

    async def span(self, crisis_id: str) -> dict[str, Any] | None:
        return {"first": "a", "last": "b", "events": 3} if crisis_id == "crue-06" else None

    async def picture_as_of(self, crisis_id: str, at: datetime) -> Picture:
        self.asked.append(at.isoformat())
        return new_picture(crisis_id)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2020, 10, 2, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.toml"
    add_person(path, "dircab", Role.DIRECTOR, "Directeur de cabinet", PASSWORD)
    add_person(path, "op.martin", Role.OPERATOR, "Paul Martin", PASSWORD)
    add_person(path, "obs.ars", Role.OBSERVER, "ARS", PASSWORD)
    add_person(path, "cli.only", Role.OPERATOR, "No password")
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(people: Path, clock: Clock, backend: FakeBackend) -> Iterator[TestClient]:
    sessions = Sessions(
        PeopleFile(people), idle=timedelta(minutes=60), longest=timedelta(hours=12), clock=clock
    )
    settings = Settings(_env_file=None, var_dir=people.parent)  # type: ignore[call-arg]
    with TestClient(build_api(backend, sessions, settings)) as test_client:
        yield test_client


def login_token(client: TestClient) -> str:
    """The CSRF token the login page embeds in its form (and sets as its cookie)."""
    page = client.get("/login").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def post_login(client: TestClient, ident: str, password: str = PASSWORD) -> Response:
    """The login form sent as a browser sends it, from the login page just loaded."""
    data = {"ident": ident, "password": password, "csrf": login_token(client)}
    return client.post("/login", data=data, follow_redirects=False)


def _log_in(client: TestClient, ident: str, password: str = PASSWORD) -> str:
    reply = post_login(client, ident, password)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/"
    csrf: str = client.get("/api/me").json()["csrf"]
    return csrf


def test_without_a_session_the_page_redirects_to_login_and_the_api_answers_401(
    client: TestClient,
) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/crises").status_code == 401
    assert client.post("/api/crises/crue-06/act", json={"act": "x"}).status_code == 401


def test_a_wrong_password_or_a_person_without_one_cannot_log_in(client: TestClient) -> None:
    for ident, password in (
        ("dircab", "wrong password!"),
        ("nobody", PASSWORD),
        ("cli.only", PASSWORD),
    ):
        reply = post_login(client, ident, password)
        assert reply.headers["location"] == "/login?error=1"
        assert COOKIE not in reply.cookies


def test_the_session_cookie_is_http_only_and_same_site_strict(client: TestClient) -> None:
    reply = post_login(client, "dircab")
    cookie = next(c for c in reply.headers.get_list("set-cookie") if c.startswith(COOKIE))
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http, and the deployment did not ask


def test_me_says_who_is_logged_in_and_what_their_role_may_do(client: TestClient) -> None:
    _log_in(client, "op.martin")
    me = client.get("/api/me").json()
    assert (me["ident"], me["role"], me["name"]) == ("op.martin", "operator", "Paul Martin")
    assert "report_incident" in me["can"]
    assert "activate_plan" not in me["can"]


def test_an_act_needs_the_csrf_token_and_is_made_as_the_person_logged_in(
    client: TestClient, backend: FakeBackend
) -> None:
    csrf = _log_in(client, "dircab")
    act = {"act": "activate_plan", "plan_code": "novi", "crisis_id": "forged"}
    assert client.post("/api/crises/crue-06/act", json=act).status_code == 403
    bad = client.post("/api/crises/crue-06/act", json=act, headers={"X-CSRF-Token": "forged"})
    assert bad.status_code == 403
    assert backend.acts == []
    done = client.post("/api/crises/crue-06/act", json=act, headers={"X-CSRF-Token": csrf})
    assert done.json() == {"ok": True, "events": []}
    # The actor is the session's, and the crisis the URL's, whatever the body says.
    assert backend.acts == [
        ("dircab", {"act": "activate_plan", "plan_code": "novi", "crisis_id": "crue-06"})
    ]


def test_an_observer_is_refused_on_the_server_and_nothing_reaches_the_cell(
    client: TestClient, backend: FakeBackend
) -> None:
    csrf = _log_in(client, "obs.ars")
    reply = client.post(
        "/api/crises/crue-06/act", json={"act": "record_entry"}, headers={"X-CSRF-Token": csrf}
    )
    assert reply.status_code == 403
    assert "read only" in reply.json()["error"]
    assert backend.acts == []
    assert client.get("/api/me").json()["can"] == []


def test_a_session_ends_after_an_idle_hour_or_twelve_hours_whatever_the_use(
    client: TestClient, clock: Clock
) -> None:
    _log_in(client, "op.martin")
    clock.now += timedelta(minutes=59)
    assert client.get("/api/me").status_code == 200
    clock.now += timedelta(minutes=61)
    assert client.get("/api/me").status_code == 401
    _log_in(client, "op.martin")
    for _ in range(13):
        clock.now += timedelta(minutes=59)
        client.get("/api/me")
    assert client.get("/api/me").status_code == 401


def test_a_person_disabled_loses_their_session_at_once(client: TestClient, people: Path) -> None:
    _log_in(client, "op.martin")
    change_person(people, "op.martin", enabled=False)
    assert client.get("/api/me").status_code == 401


def test_logout_needs_the_csrf_token_then_ends_the_session(client: TestClient) -> None:
    csrf = _log_in(client, "dircab")
    client.post("/logout", follow_redirects=False)
    assert client.get("/api/me").status_code == 200
    client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert client.get("/api/me").status_code == 401


def test_the_crises_include_the_standing_watch_and_pictures_and_reports_are_served(
    client: TestClient,
) -> None:
    _log_in(client, "obs.ars")
    ids = [c["crisis_id"] for c in client.get("/api/crises").json()]
    assert ids == ["crue-06", "veille"]
    assert client.get("/api/crises/crue-06").json()["crisis_id"] == "crue-06"
    assert client.get("/api/crises/crue-06/sitreps/1.html").text == "<html>report</html>"
    assert client.get("/api/crises/crue-06/sitreps/2.html").status_code == 404
    assert client.get("/api/rejected?limit=9999").json()[0]["limit"] == 500


def test_pages_carry_a_content_security_policy_that_allows_only_the_console_and_its_tiles(
    client: TestClient,
) -> None:
    policy = client.get("/login").headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "frame-ancestors 'none'" in policy


def test_the_review_slider_gets_a_crisis_span_and_its_picture_at_any_instant(
    client: TestClient, backend: FakeBackend
) -> None:
    _log_in(client, "obs.ars")
    assert client.get("/api/crises/crue-06/span").json()["events"] == 3
    assert client.get("/api/crises/nothing/span").status_code == 404
    shown = client.get("/api/crises/crue-06/as_of", params={"at": "2020-10-02T14:00:00+02:00"})
    assert shown.json()["shown_at"].startswith("2020-10-02T12:00:00")
    assert backend.asked == ["2020-10-02T14:00:00+02:00"]
    assert client.get("/api/crises/crue-06/as_of", params={"at": "14h"}).status_code == 400


def test_json_answers_tell_the_browser_not_to_sniff_them(client: TestClient) -> None:
    assert client.get("/api/me").headers["x-content-type-options"] == "nosniff"
    _log_in(client, "dircab")
    for path in ("/api/me", "/api/crises", "/api/crises/crue-06", "/api/rejected"):
        reply = client.get(path)
        assert reply.headers["content-type"].startswith("application/json"), path
        assert reply.headers["x-content-type-options"] == "nosniff", path


def test_the_console_scripts_never_hand_data_to_an_html_parser() -> None:
    # Leaflet parses a string tooltip or popup as HTML: they get elements (or functions) only.
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|srcdoc|DOMParser"
        r"|createContextualFragment|bind(Tooltip|Popup)\((?!\(\) =>)"
    )
    for script in sorted(STATIC.glob("*.js")):
        for number, line in enumerate(script.read_text(encoding="utf-8").splitlines(), 1):
            if sinks.search(line) and "HTML_SINKS" not in line:
                pytest.fail(f"{script.name}:{number} may parse data as HTML: {line.strip()}")
