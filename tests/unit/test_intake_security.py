"""The intake cannot be turned against the cell: tokens, rates, links and markup, without a bus."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from nats.js.api import DiscardPolicy

from services.intake.core import Form, Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.errors import Rejection
from services.intake.feeds import FeedRegistry, add_feed, rotate_token, set_enabled
from services.intake.fetch import NOT_PUBLIC, OTHER_HOST, UPSTREAM_ERROR, LinkFetcher, is_public
from services.intake.geojson import Feature, map_feature
from services.intake.http import build_api
from services.intake.links import BUDGET_SPENT, LinkLimits, fetch_links
from services.intake.own_events import check_event
from services.intake.ratelimit import RateLimiter, retry_after
from services.intake.text import plain
from services.runtime.settings import Settings
from services.runtime.topology import DEADLETTER_STREAM, topology

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).parents[1] / "data" / "intake"
HOSTILE_TITLE = (
    '<img src=x onerror=alert(1)><meta http-equiv="refresh" content="0;url=https://example.org">'
    "Crue"
)


async def tarpit(link: str, base: str) -> bytes:
    """A fetcher that never answers."""
    await asyncio.Event().wait()
    return (base + link).encode()


class FakeClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# Rates


def test_a_feed_may_post_its_burst_at_once_then_waits_for_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.take("vigicrues") for _ in range(3)] == [None, None, None]
    wait = limiter.take("vigicrues")
    assert wait == pytest.approx(1.0)
    assert retry_after(wait or 0) == "1"
    assert limiter.take("meteoalarm") is None, "each feed has its own bucket"
    clock.now += 1.0
    assert limiter.take("vigicrues") is None
    assert limiter.take("vigicrues") is not None
    clock.now += 3600
    assert [limiter.take("vigicrues") for _ in range(4)] == [None, None, None, pytest.approx(1.0)]


class FakeIntake:
    """What the API hands inputs to, recording what it was given."""

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter or RateLimiter(per_minute=120, burst=30)
        self.submitted: list[bytes] = []
        self.refused: list[tuple[bytes, Rejection]] = []
        self.unauthorised_total = 0
        self.logged: list[dict[str, Any]] = []
        self.given: list[tuple[str, str, str | None, tuple[str, ...]]] = []

    async def submit(
        self,
        raw: bytes,
        *,
        name: str,
        feed: str,
        form: Form,
        content_type: str | None,
        allow_hosts: Sequence[str],
    ) -> list[Outcome]:
        self.submitted.append(raw)
        self.given.append((feed, form, content_type, tuple(allow_hosts)))
        return [Outcome(input=name, path="/", accepted=True)]

    async def refuse(
        self, raw: bytes, error: Rejection, *, name: str, feed: str, content_type: str | None
    ) -> None:
        self.refused.append((raw, error))
        self.given.append((feed, name, content_type, ()))

    def unauthorised(self, *, feed: str, client: str | None, declared_bytes: str | None) -> None:
        self.unauthorised_total += 1
        self.logged.append({"feed": feed, "client": client, "declared_bytes": declared_bytes})

    def admit(self, feed: str, *, client: str | None = None) -> float | None:
        self.logged.append({"feed": feed, "client": client})
        return self.limiter.take(feed)


class Body:
    """A request body that records whether the server read any of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        for _ in range(self.size // 65536):
            yield b"x" * 65536


@pytest.fixture
def feeds(tmp_path: Path) -> tuple[FeedRegistry, str]:
    path = tmp_path / "feeds.toml"
    token = add_feed(path, "vigicrues")
    return FeedRegistry.load(path), token


async def _post(api: Any, feed: str, body: Any, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=api, client=("203.0.113.7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        return await client.post(f"/feeds/{feed}/cap", content=body, headers=headers)


async def test_a_post_without_a_valid_token_is_refused_unread_counted_and_nothing_kept(
    feeds: tuple[FeedRegistry, str],
) -> None:
    registry, token = feeds
    intake = FakeIntake()
    api = build_api(intake, registry, max_bytes=1024)
    for feed, sent in (("vigicrues", "wrong"), ("vigicrues", None), ("nobody", token)):
        body = Body(700 * 1024)
        reply = await _post(api, feed, body, sent)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert not body.read
    assert intake.unauthorised_total == 3
    assert intake.submitted == []
    assert intake.refused == []
    assert intake.logged[0] == {
        "feed": "vigicrues",
        "client": "203.0.113.7",
        "declared_bytes": None,
    }
    assert token not in repr(intake.logged)


async def test_an_authenticated_oversized_post_is_still_kept_cut(
    feeds: tuple[FeedRegistry, str],
) -> None:
    registry, token = feeds
    intake = FakeIntake()
    reply = await _post(
        build_api(intake, registry, max_bytes=1024), "vigicrues", b"y" * 5000, token
    )
    assert reply.status_code == 413
    [(raw, error)] = intake.refused
    assert len(raw) == 1025
    assert "over the limit" in error.reason


async def test_a_feed_over_its_rate_gets_429_with_retry_after_and_its_input_is_not_read(
    feeds: tuple[FeedRegistry, str],
) -> None:
    registry, token = feeds
    clock = FakeClock()
    intake = FakeIntake(RateLimiter(per_minute=30, burst=2, clock=clock))
    api = build_api(intake, registry, max_bytes=1024)
    assert [(await _post(api, "vigicrues", b"a", token)).status_code for _ in range(2)] == [
        200,
        200,
    ]
    body = Body(65536)
    over = await _post(api, "vigicrues", body, token)
    assert over.status_code == 429
    assert over.headers["retry-after"] == "2"
    assert not body.read
    assert len(intake.submitted) == 2
    clock.now += 2
    assert (await _post(api, "vigicrues", b"b", token)).status_code == 200


# Feeds file


def test_rotating_a_token_or_disabling_a_feed_takes_effect_on_a_loaded_registry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feeds.toml"
    old = add_feed(path, "vigicrues", "Vigicrues")
    other = add_feed(path, "meteoalarm", allow_hosts=["127.0.0.1"])
    path.write_text(path.read_text() + "# a comment kept\n")
    registry = FeedRegistry.load(path)
    assert registry.authenticate("vigicrues", old) is not None
    new = rotate_token(path, "vigicrues")
    assert registry.authenticate("vigicrues", old) is None
    assert registry.authenticate("vigicrues", new) is not None
    set_enabled(path, "vigicrues", enabled=False)
    assert registry.authenticate("vigicrues", new) is None
    set_enabled(path, "vigicrues", enabled=True)
    assert registry.authenticate("vigicrues", new) is not None
    assert registry.authenticate("meteoalarm", other) is not None
    assert registry.allowed_hosts("meteoalarm") == ("127.0.0.1",)
    # A disabled feed keeps no reach to private hosts (over NATS it is asked per message).
    set_enabled(path, "meteoalarm", enabled=False)
    assert registry.allowed_hosts("meteoalarm") == ()
    set_enabled(path, "meteoalarm", enabled=True)
    text = path.read_text()
    assert "# a comment kept" in text
    assert 'description = "Vigicrues"' in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError, match="no feed 'nobody'"):
        rotate_token(path, "nobody")


def test_an_unreadable_feeds_file_leaves_the_feeds_read_before(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    token = add_feed(path, "vigicrues")
    registry = FeedRegistry.load(path)
    path.write_text("[feeds.vigicrues\n")
    assert registry.authenticate("vigicrues", token) is not None
    path.unlink()
    assert registry.authenticate("vigicrues", token) is None


# Addresses and links


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff0e::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "193.51.24.1"])
def test_public_addresses_are_fetched(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


class Recorded(BaseHTTPRequestHandler):
    """A local upstream: records each request; answers by path."""

    requests: list[tuple[str, str]]
    redirect_to = ""

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Host", "")))
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
        elif self.path.startswith("/error"):
            body = b"internal secret: db password hunter2"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            body = (CORPUS / "cap12_test.xml").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve() -> tuple[ThreadingHTTPServer, list[tuple[str, str]]]:
    requests: list[tuple[str, str]] = []
    handler = type("Handler", (Recorded,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests


@pytest.fixture
def upstream() -> Iterator[tuple[int, list[tuple[str, str]], type[Recorded]]]:
    server, requests = _serve()
    try:
        yield server.server_address[1], requests, server.RequestHandlerClass  # type: ignore[misc]
    finally:
        server.shutdown()
        server.server_close()


async def test_links_to_loopback_metadata_or_ipv6_loopback_are_refused_before_connecting(
    upstream: tuple[int, list[tuple[str, str]], type[Recorded]],
) -> None:
    port, requests, _ = upstream
    fetcher = LinkFetcher(max_bytes=65536, timeout_s=5)
    for url in (f"http://127.0.0.1:{port}/", "http://169.254.169.254/", f"http://[::1]:{port}/"):
        with pytest.raises(Rejection) as refused:
            await fetcher.get(url)
        assert refused.value.reason == NOT_PUBLIC
    assert requests == []
    allowed = fetcher.allowing(["127.0.0.1"])
    assert b"<alert" in await allowed.get(f"http://127.0.0.1:{port}/cap.xml")
    with pytest.raises(Rejection, match="public"):
        await allowed.get("http://169.254.169.254/latest/meta-data/")
    assert [path for path, _ in requests] == ["/cap.xml"]


async def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    upstream: tuple[int, list[tuple[str, str]], type[Recorded]],
) -> None:
    port, requests, _ = upstream
    answers = iter([["127.0.0.1"], ["93.184.216.34"]])

    async def rebinding(host: str, port: int) -> list[str]:
        assert (host, port) != ("", 0)
        return next(answers)

    evil = LinkFetcher(max_bytes=65536, timeout_s=5, resolver=rebinding)
    with pytest.raises(Rejection, match="public"):
        await evil.get(f"http://rebind.example:{port}/")

    async def pinned(host: str, port: int) -> list[str]:
        assert (host, port) != ("", 0)
        return ["127.0.0.1"]

    # A name that no DNS knows: it can only be reached at the address the resolver gave.
    named = LinkFetcher(
        max_bytes=65536, timeout_s=5, resolver=pinned, allow_hosts=["feeds.example"]
    )
    assert b"<alert" in await named.get(f"http://feeds.example:{port}/cap.xml")
    assert requests == [("/cap.xml", f"feeds.example:{port}")]


async def test_a_redirect_to_another_host_is_not_followed_and_the_same_host_is(
    upstream: tuple[int, list[tuple[str, str]], type[Recorded]],
) -> None:
    port, _, handler = upstream
    other, other_requests = _serve()
    try:
        fetcher = LinkFetcher(max_bytes=65536, timeout_s=5, allow_hosts=["127.0.0.1", "localhost"])
        handler.redirect_to = f"http://localhost:{other.server_address[1]}/cap.xml"
        with pytest.raises(Rejection) as refused:
            await fetcher.get(f"http://127.0.0.1:{port}/redirect")
        assert refused.value.reason == OTHER_HOST
        assert other_requests == []
        handler.redirect_to = "/cap.xml"
        assert b"<alert" in await fetcher.get(f"http://127.0.0.1:{port}/redirect")
        handler.redirect_to = "/redirect"
        with pytest.raises(Rejection, match="too many redirects"):
            await fetcher.get(f"http://127.0.0.1:{port}/redirect")
    finally:
        other.shutdown()
        other.server_close()


async def test_an_upstream_error_is_not_echoed_to_the_sender(
    upstream: tuple[int, list[tuple[str, str]], type[Recorded]],
) -> None:
    port, _, _ = upstream
    fetcher = LinkFetcher(max_bytes=65536, timeout_s=5, allow_hosts=["127.0.0.1"])
    with pytest.raises(Rejection) as refused:
        await fetcher.get(f"http://127.0.0.1:{port}/error")
    assert refused.value.reason == UPSTREAM_ERROR
    assert "500" not in refused.value.reason
    assert "hunter2" not in refused.value.reason


async def test_links_past_the_cap_are_refused_and_a_budget_bounds_the_rest() -> None:
    asked: list[str] = []

    async def instant(link: str, base: str) -> bytes:
        asked.append(link)
        return b"<alert/>" if base else b""

    links = [f"http://feed.example/{i}.xml" for i in range(25)]
    fetched = await fetch_links(links, instant, base="x", limits=LinkLimits(max_links=20))
    assert asked == links[:20]
    assert await fetched(links[0], "x") == b"<alert/>"
    with pytest.raises(Rejection, match="only the first 20 links"):
        await fetched(links[24], "x")

    slow = await fetch_links(links[:3], tarpit, base="x", limits=LinkLimits(budget_s=0.05))
    for link in links[:3]:
        with pytest.raises(Rejection) as refused:
            await slow(link, "x")
        assert refused.value.reason == BUDGET_SPENT


async def test_an_atom_feed_whose_links_are_all_over_the_budget_gives_one_refusal_each() -> None:
    entries = "".join(
        f'<entry><link type="application/cap+xml" href="http://slow.example/{i}.xml"/></entry>'
        for i in range(3)
    )
    atom = f'<feed xmlns="http://www.w3.org/2005/Atom">{entries}</feed>'.encode()

    intake = Intake(CorrelationIndex(), IntakeConfig(links=LinkLimits(budget_s=0.05)), fetch=tarpit)
    outcomes = await intake.take(atom, name="POST /feeds/a", feed="a")
    assert [o.error.reason if o.error else None for o in outcomes] == [BUDGET_SPENT] * 3


# Markup


def test_markup_is_taken_out_even_when_escaped_or_nested() -> None:
    assert plain(HOSTILE_TITLE) == "Crue"
    assert plain("&lt;img src=x onerror=alert(1)&gt;Crue") == "Crue"
    assert "<" not in plain("<scr<script>ipt>alert(1)</script>")
    assert plain("<!-- <b>caché</b> -->Crue &amp; pluie<br>Consignes") == "Crue & pluie\nConsignes"


def test_a_geojson_title_and_description_lose_their_markup_with_a_warning() -> None:
    feature = {
        "type": "Feature",
        "id": "f1",
        "geometry": {"type": "Point", "coordinates": [7.25, 44.06]},
        "properties": {
            "title": HOSTILE_TITLE,
            "description": "<p>Eau <b>haute</b></p><script>alert(1)</script>",
            "place": "<a href='javascript:alert(1)'>Boréon</a>",
        },
    }
    mapped = map_feature(
        Feature("$", feature),
        CorrelationIndex(),
        feed="sdis06",
        received_at=datetime(2020, 10, 2, 16, tzinfo=UTC),
    )
    [event] = mapped.events
    wire = event.to_wire()
    assert wire["title"] == "Crue"
    assert wire["description"] == "Eau haute\nalert(1)"
    assert wire["location"]["description"] == "Boréon"
    assert "HTML markup removed" in " ".join(wire["warnings"])
    assert "<" not in orjson.dumps(wire).decode()


def test_own_events_lose_the_markup_of_their_texts() -> None:
    event = orjson.loads((CORPUS / "event_incident_reported.json").read_bytes())
    event["title"] = HOSTILE_TITLE
    event["description"] = "<iframe src='https://example.org'></iframe>Habitations <i>emportées</i>"
    event["location"]["description"] = "<svg onload=alert(1)>Boréon"
    event["sources"] = ["<b>SDIS 06</b>"]
    checked = check_event(event, "$", CorrelationIndex(), feed="sdis06", check_crisis=False)
    wire = checked.to_wire()
    assert wire["title"] == "Crue"
    assert wire["description"] == "Habitations emportées"
    assert wire["location"]["description"] == "Boréon"
    assert wire["sources"] == ["SDIS 06"]
    assert wire["incident_id"] == event["incident_id"]


# The bus


def test_the_dead_letter_stream_is_bounded_in_bytes_and_age_and_drops_the_oldest(
    settings: Settings,
) -> None:
    config = topology(settings).stream(DEADLETTER_STREAM)
    assert config.max_bytes == 1024**3
    assert config.max_age == 90 * 86_400
    assert config.discard == DiscardPolicy.OLD
    smaller = settings.model_copy(
        update={"deadletter_max_bytes": 10 * 1024**2, "deadletter_max_age_days": 7}
    )
    assert topology(smaller).stream(DEADLETTER_STREAM).max_bytes == 10 * 1024**2
    assert topology(smaller).stream(DEADLETTER_STREAM).max_age == 7 * 86_400
