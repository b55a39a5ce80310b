"""The intake on a real nats-server, attacked: each attack refused, and nothing stored for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.intake.app import IntakeService, LiveIntake
from services.intake.feeds import add_feed
from services.intake.fetch import NOT_PUBLIC
from services.intake.links import BUDGET_SPENT
from services.intake.mapping import OBJECT_BUCKET
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import Settings
from services.runtime.topology import DEADLETTER_STREAM

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "data" / "intake"
VIGICRUES = (CORPUS / "cap12_vigicrues_rouge_vesubie.xml").read_bytes()
runner = CliRunner()


class Attacked:
    """The intake and the event log on the test server, with three feeds."""

    def __init__(self, settings: Settings, bus: Bus, intake: IntakeService, store: EventStore):
        self.settings, self.bus, self.intake, self.store = settings, bus, intake, store
        self.tokens: dict[str, str] = {}

    @property
    def live(self) -> LiveIntake:
        assert self.intake.live is not None
        return self.intake.live

    async def post(self, feed: str, body: bytes, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.tokens.get(feed, 'none')}"}
        async with httpx.AsyncClient(base_url=self.intake.url, timeout=30) as client:
            return await client.post(f"/feeds/{feed}/cap", content=body, headers=headers)

    async def stored(self) -> tuple[int, int]:
        """Messages on the dead-letter stream, bytes in the object store."""
        dead = await self.bus.js.stream_info(DEADLETTER_STREAM)
        objects = await self.bus.js.stream_info(f"OBJ_{OBJECT_BUCKET}")
        return dead.state.messages, objects.state.bytes


@pytest.fixture
async def attacked(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> AsyncIterator[Attacked]:
    wired = settings.model_copy(
        update={
            "nats_url": nats_server.url,
            "intake_port": 0,
            # The budget, not the per-link timeout, is what stops a tarpit here.
            "intake_fetch_budget_s": 3.0,
            "intake_fetch_timeout_s": 60.0,
            "intake_rate_per_minute": 60.0,
            "intake_rate_burst": 3,
        }
    )
    tokens = {
        "vigicrues": add_feed(wired.feeds_path, "vigicrues"),
        "slow": add_feed(wired.feeds_path, "slow", allow_hosts=["127.0.0.1"]),
        "local": add_feed(wired.feeds_path, "local", allow_hosts=["127.0.0.1"]),
    }
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    eventlog = EventLogService(wired, EventStore(make_engine(wired.database_url)))
    await eventlog.start(nats_server.url)
    intake = IntakeService(wired)
    await intake.start(nats_server.url)
    deployed = Attacked(wired, bus, intake, store)
    deployed.tokens = tokens
    try:
        yield deployed
    finally:
        await intake.stop()
        await eventlog.stop()
        await store.close()


def _atom(*links: str) -> bytes:
    entries = "".join(
        f'<entry><id>e{i}</id><link type="application/cap+xml" href="{link}"/></entry>'
        for i, link in enumerate(links)
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom">{entries}</feed>'.encode()


async def test_unauthenticated_posts_are_refused_unread_and_leave_nothing_anywhere(
    attacked: Attacked,
) -> None:
    before = await attacked.stored()
    body = b"<alert>" + b"x" * (700 * 1024) + b"</alert>"
    async with httpx.AsyncClient(base_url=attacked.intake.url, timeout=30) as client:
        for i in range(20):
            token = "stolen-or-guessed" if i % 2 else None
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            reply = await client.post("/feeds/vigicrues/cap", content=body, headers=headers)
            assert reply.status_code == 401
    assert attacked.live.unauthorised_total == 20
    assert await attacked.stored() == before
    assert await attacked.store.rejected() == []
    # The feed with its token still gets in: nothing was spent on the attacker.
    assert (await attacked.post("vigicrues", VIGICRUES)).status_code == 200


async def test_a_feed_over_its_rate_is_told_to_wait_and_its_input_is_not_kept(
    attacked: Attacked,
) -> None:
    codes = [(await attacked.post("vigicrues", VIGICRUES)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    before = await attacked.stored()
    over = await attacked.post("vigicrues", b"<alert/>")
    assert over.status_code == 429
    assert int(over.headers["retry-after"]) >= 1
    assert attacked.live.rate_limited_total == 1
    assert await attacked.stored() == before


def _token_of(output: str) -> str:
    return next(
        line.split(": ", 2)[-1].strip() for line in output.splitlines() if "shown once" in line
    )


async def test_rotating_or_disabling_a_feed_takes_effect_on_the_running_intake(
    attacked: Attacked, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_VAR_DIR", str(attacked.settings.var_dir))
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    old = attacked.tokens["local"]
    assert (await attacked.post("local", VIGICRUES, old)).status_code == 200
    rotated = runner.invoke(app, ["feed", "rotate", "local"])
    assert rotated.exit_code == 0, rotated.output
    new = _token_of(rotated.output)
    assert new != old
    assert (await attacked.post("local", VIGICRUES, old)).status_code == 401
    assert (await attacked.post("local", VIGICRUES, new)).status_code == 200
    disabled = runner.invoke(app, ["feed", "disable", "local"])
    assert disabled.exit_code == 0, disabled.output
    assert (await attacked.post("local", VIGICRUES, new)).status_code == 401
    enabled = runner.invoke(app, ["feed", "enable", "local"])
    assert enabled.exit_code == 0, enabled.output
    assert (await attacked.post("local", VIGICRUES, new)).status_code == 200
    unknown = runner.invoke(app, ["feed", "disable", "nobody"])
    assert unknown.exit_code == 2


class Tarpit:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.accepted = asyncio.Event()
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.accepted.set()
        await reader.read()  # until the intake gives up and closes
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_feed_linking_to_a_tarpit_holds_no_other_feed(attacked: Attacked) -> None:
    tarpit = Tarpit()
    port = await tarpit.start()
    try:
        links = [f"http://127.0.0.1:{port}/alert-{i}.xml" for i in range(3)]
        slow = asyncio.create_task(attacked.post("slow", _atom(*links)))
        await asyncio.wait_for(tarpit.accepted.wait(), 10)
        quick = await attacked.post("vigicrues", VIGICRUES)
        # B's valid CAP is answered while A's links are still being waited for.
        assert not slow.done()
        assert quick.status_code == 200, quick.text
        assert quick.json()["outcomes"][0]["accepted"]
        held = await slow
    finally:
        await tarpit.stop()
    assert held.status_code == 422
    reasons = [o["error"]["reason"] for o in held.json()["outcomes"]]
    assert reasons == [BUDGET_SPENT] * 3
    assert tarpit.connections == 3


class Upstream(BaseHTTPRequestHandler):
    """A local server that records every request and serves a CAP alert."""

    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = (CORPUS / "cap12_test.xml").read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[tuple[int, list[str]]]:
    requests: list[str] = []
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Recording", (Upstream,), {"requests": requests})
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1]), requests
    finally:
        server.shutdown()
        server.server_close()


async def test_links_to_internal_addresses_are_refused_unless_the_feed_allows_the_host(
    attacked: Attacked, upstream: tuple[int, list[str]]
) -> None:
    port, requests = upstream
    atom = _atom(
        f"http://127.0.0.1:{port}/cap.xml",
        "http://169.254.169.254/latest/meta-data/",
        f"http://[::1]:{port}/cap.xml",
    )
    refused = await attacked.post("vigicrues", atom)
    assert refused.status_code == 422
    assert [o["error"]["reason"] for o in refused.json()["outcomes"]] == [NOT_PUBLIC] * 3
    assert requests == []
    allowed = await attacked.post("local", atom)
    first, metadata, loopback6 = allowed.json()["outcomes"]
    assert first["accepted"], first
    assert requests == ["/cap.xml"]
    assert metadata["error"]["reason"] == loopback6["error"]["reason"] == NOT_PUBLIC
