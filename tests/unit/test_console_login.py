"""Logging in to the console against an attacker: guessing throttled, nobody told who exists,
no login from another site, cookies for TLS only, and sessions that end with the password."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import Type, extract_parameters
from fastapi.testclient import TestClient

from services.auth.passwords import Throttle, dummy_hash, verify_password
from services.cell.app import PeopleFile
from services.cell.people import People, Role, add_person, change_person
from services.console import http as console_http
from services.console.auth import COOKIE, Sessions
from services.console.http import LOGIN_CSRF, build_api
from services.runtime.settings import Settings
from tests.unit.test_console_http import PASSWORD, Clock, FakeBackend, login_token, post_login

pytestmark = pytest.mark.unit

NEW_PASSWORD = "another horse battery"


class CountingVerifier:
    """The real argon2 check, counting the hashes it was asked to check against."""

    def __init__(self) -> None:
        self.hashes: list[str] = []

    def __call__(self, hashed: str, password: str) -> bool:
        self.hashes.append(hashed)
        return verify_password(hashed, password)


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "people.toml"
    add_person(path, "dircab", Role.DIRECTOR, "Directeur de cabinet", PASSWORD)
    add_person(path, "op.martin", Role.OPERATOR, "Paul Martin", PASSWORD)
    add_person(path, "op.gone", Role.OPERATOR, "Parti", PASSWORD)
    add_person(path, "cli.only", Role.OPERATOR, "No password")
    add_person(path, "capteur.crue", Role.FEED, "Capteur de crue", PASSWORD)
    change_person(path, "op.gone", enabled=False)
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier() -> CountingVerifier:
    return CountingVerifier()


def _serve(
    people: Path,
    clock: Clock,
    verifier: CountingVerifier,
    *,
    base_url: str = "http://testserver",
    settings: dict[str, Any] | None = None,
    addresses: Throttle | None = None,
) -> TestClient:
    sessions = Sessions(
        PeopleFile(people),
        idle=timedelta(minutes=60),
        longest=timedelta(hours=12),
        clock=clock,
        verify=verifier,
        addresses=addresses,
    )
    config = Settings(_env_file=None, var_dir=people.parent, **(settings or {}))  # type: ignore[call-arg]
    return TestClient(build_api(FakeBackend(), sessions, config), base_url=base_url)


@pytest.fixture
def client(people: Path, clock: Clock, verifier: CountingVerifier) -> Iterator[TestClient]:
    with _serve(people, clock, verifier) as test_client:
        yield test_client


def _touched(path: Path) -> None:
    """Make the people file's change visible whatever the file system's mtime granularity."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def _cookie(reply: Any, name: str) -> str:
    return next(c for c in reply.headers.get_list("set-cookie") if c.startswith(f"{name}="))


def test_after_five_wrong_passwords_an_account_waits_longer_each_time_without_a_check(
    client: TestClient, clock: Clock, verifier: CountingVerifier
) -> None:
    for _ in range(5):
        assert post_login(client, "dircab", "wrong password!").headers["location"].endswith("=1")
    checked = len(verifier.hashes)
    refused = post_login(client, "dircab")  # even the right password
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert COOKIE not in refused.cookies
    assert len(verifier.hashes) == checked  # refused before the password was looked at
    clock.now += timedelta(seconds=2)
    assert post_login(client, "dircab", "wrong password!").status_code == 303
    assert post_login(client, "DirCab").headers["retry-after"] == "4"  # doubled; any spelling
    clock.now += timedelta(seconds=4)
    assert post_login(client, "dircab").headers["location"] == "/"


def test_a_success_resets_the_accounts_count_of_failures(client: TestClient) -> None:
    for _ in range(4):
        post_login(client, "dircab", "wrong password!")
    assert post_login(client, "dircab").headers["location"] == "/"
    for _ in range(4):
        assert post_login(client, "dircab", "wrong password!").status_code == 303
    assert post_login(client, "dircab").headers["location"] == "/"


def test_an_address_that_guesses_across_accounts_is_refused_too(
    people: Path, clock: Clock, verifier: CountingVerifier
) -> None:
    with _serve(people, clock, verifier, addresses=Throttle(free=3)) as client:
        for ident in ("a.dupont", "b.dupont", "c.dupont"):
            assert post_login(client, ident).status_code == 303
        refused = post_login(client, "op.martin")  # an account that has not failed once
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert len(verifier.hashes) == 3


def test_an_unknown_disabled_or_passwordless_person_costs_the_same_argon2_check(
    client: TestClient, people: Path, verifier: CountingVerifier
) -> None:
    known = People.load(people).people["dircab"].password
    assert known is not None
    post_login(client, "dircab", "wrong password!")
    for ident in ("nobody", "op.gone", "cli.only"):
        reply = post_login(client, ident)
        assert reply.headers["location"] == "/login?error=1"
    assert verifier.hashes == [known, dummy_hash(), dummy_hash(), dummy_hash()]
    # The dummy is an argon2id hash made with the people file's own parameters.
    assert extract_parameters(dummy_hash()) == extract_parameters(known)
    assert extract_parameters(dummy_hash()).type is Type.ID


def test_a_feed_never_logs_in_to_read_the_console_even_with_its_password(
    client: TestClient, verifier: CountingVerifier
) -> None:
    reply = post_login(client, "capteur.crue")
    assert reply.headers["location"] == "/login?error=1"
    assert COOKIE not in reply.cookies
    assert verifier.hashes == [dummy_hash()]
    assert client.get("/api/crises").status_code == 401


def test_a_login_without_the_login_pages_token_is_refused_before_any_check(
    client: TestClient, people: Path, clock: Clock, verifier: CountingVerifier
) -> None:
    form = {"ident": "dircab", "password": PASSWORD}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 403
    token = login_token(client)
    forged = client.post("/login", data={**form, "csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    # The right token without its cookie (a form posted from another site's page) is refused.
    with _serve(people, clock, verifier) as other:
        stray = other.post("/login", data={**form, "csrf": token}, follow_redirects=False)
        assert stray.status_code == 403
        assert COOKIE not in stray.cookies
    assert verifier.hashes == []
    assert post_login(client, "dircab").headers["location"] == "/"


def test_a_login_posted_from_another_origin_is_refused(
    client: TestClient, verifier: CountingVerifier
) -> None:
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        form = {"ident": "dircab", "password": PASSWORD, "csrf": login_token(client)}
        reply = client.post("/login", data=form, headers={"Origin": origin}, follow_redirects=False)
        assert reply.status_code == 403, origin
    assert verifier.hashes == []
    form = {"ident": "dircab", "password": PASSWORD, "csrf": login_token(client)}
    reply = client.post(
        "/login", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert reply.headers["location"] == "/"


def test_the_login_page_sets_a_random_http_only_same_site_strict_token_cookie(
    client: TestClient, people: Path, clock: Clock, verifier: CountingVerifier
) -> None:
    page = client.get("/login")
    cookie = _cookie(page, LOGIN_CSRF).lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie
    token = page.cookies[LOGIN_CSRF]
    assert f'value="{token}"' in page.text
    assert login_token(client) == token  # a second tab keeps the first one's token valid
    with _serve(people, clock, verifier) as other:
        assert login_token(other) != token
        planted = f'{LOGIN_CSRF}=x"><script>alert(1)</script>'
        assert "<script>alert" not in other.get("/login", headers={"Cookie": planted}).text


@pytest.mark.parametrize(
    ("base_url", "settings"),
    [("http://testserver", {"console_secure_cookies": True}), ("https://testserver", {})],
    ids=["setting", "https"],
)
def test_cookies_are_secure_when_the_deployment_says_so_or_the_request_came_over_tls(
    people: Path,
    clock: Clock,
    verifier: CountingVerifier,
    base_url: str,
    settings: dict[str, Any],
) -> None:
    with _serve(people, clock, verifier, base_url=base_url, settings=settings) as client:
        page = client.get("/login")
        assert "secure" in _cookie(page, LOGIN_CSRF).lower()
        token = page.cookies[LOGIN_CSRF]
        form = {"ident": "dircab", "password": PASSWORD, "csrf": token}
        # httpx keeps Secure cookies for https only: send the token's cookie by hand over http.
        reply = client.post(
            "/login",
            data=form,
            headers={"Cookie": f"{LOGIN_CSRF}={token}"},
            follow_redirects=False,
        )
        assert reply.headers["location"] == "/"
        assert "secure" in _cookie(reply, COOKIE).lower()
        assert "secure" in _cookie(reply, "crisis_lang").lower()


def test_a_session_ends_when_the_persons_password_changes(client: TestClient, people: Path) -> None:
    assert post_login(client, "op.martin").headers["location"] == "/"
    assert client.get("/api/me").status_code == 200
    change_person(people, "op.martin", password=NEW_PASSWORD)
    _touched(people)
    assert client.get("/api/me").status_code == 401
    assert post_login(client, "op.martin", NEW_PASSWORD).headers["location"] == "/"
    assert client.get("/api/me").json()["ident"] == "op.martin"


def test_a_session_ends_when_the_person_is_disabled_or_removed(
    client: TestClient, people: Path
) -> None:
    post_login(client, "op.martin")
    change_person(people, "op.martin", enabled=False)
    _touched(people)
    assert client.get("/api/me").status_code == 401
    post_login(client, "dircab")
    assert client.get("/api/me").status_code == 200
    everyone = People.load(people)
    del everyone.people["dircab"]
    everyone.save(people)
    _touched(people)
    assert client.get("/api/me").status_code == 401


async def test_a_live_stream_ends_once_its_session_no_longer_holds() -> None:
    class Backend:
        pictures: dict[str, Any] = {}  # noqa: RUF012 (a stand-in, read only)

        def listen(self, _crisis_id: str) -> asyncio.Queue[None]:
            self.queue: asyncio.Queue[None] = asyncio.Queue()
            return self.queue

        def forget(self, _crisis_id: str, _queue: object) -> None:
            self.forgotten = True

    class Connected:
        async def is_disconnected(self) -> bool:
            return False

    backend = Backend()
    holds = [True]
    stream = console_http._changes(
        backend,  # type: ignore[arg-type]
        "crue",
        Connected(),  # type: ignore[arg-type]
        lambda: object() if holds[0] else None,
    )
    assert (await anext(stream)).startswith(b"event: picture")
    holds[0] = False  # logged out, disabled, or a new password
    backend.queue.put_nowait(None)
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert backend.forgotten
