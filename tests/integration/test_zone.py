"""Two départements and a zone, each on its own nats-server: what goes up, and catching up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.events import SituationReportIssued
from services.runtime.bus import connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, topology
from services.zone.app import DepartementRelay, Source
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.integration


def _server(root: Path, name: str, port: int = 0) -> EmbeddedNatsServer:
    server = EmbeddedNatsServer(root / name, port=port, log_file=root / f"{name}.log")
    server.start()
    return server


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, EmbeddedNatsServer]]:
    running = {name: _server(tmp_path, name) for name in ("06", "83", "zone")}
    yield running
    for server in running.values():
        server.stop()


async def _publish(url: str, settings: Settings, *events: Any) -> None:
    async with connect(url, plan=topology(settings)) as bus:
        for event in events:
            await publish_event(bus.js, event)


async def _zone_events(url: str) -> list[dict[str, Any]]:
    async with connect(url) as bus:
        info = await bus.js.stream_info(CRISIS_STREAM)
        return [
            orjson.loads((await bus.js.get_msg(CRISIS_STREAM, seq)).data or b"{}")
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]


@pytest.fixture
async def relays(
    servers: dict[str, EmbeddedNatsServer], settings: Settings
) -> AsyncIterator[list[DepartementRelay]]:
    for server in servers.values():
        await _publish(server.url, settings)  # the streams on each
    async with connect(servers["zone"].url) as zone:
        started = [
            DepartementRelay(Source(d, servers[d].url), zone.js, zone="sud", min_severity="severe")
            for d in ("06", "83")
        ]
        for relay in started:
            relay.start()
        try:
            yield started
        finally:
            for relay in started:
                await relay.stop()


async def _until(check: Any, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.1)


async def test_reports_and_serious_incidents_go_up_and_an_offline_departement_catches_up(
    servers: dict[str, EmbeddedNatsServer],
    settings: Settings,
    relays: list[DepartementRelay],
    tmp_path: Path,
) -> None:
    del relays
    serious = incident_reported(crisis_id="crue", severity="extreme", title="Crue de la Roya")
    minor = incident_reported(crisis_id="crue", severity="minor", title="Arbre tombé")
    report = sample_event(SituationReportIssued, crisis_id="crue")
    await _publish(servers["06"].url, settings, serious, minor, report)
    await _publish(
        servers["83"].url,
        settings,
        incident_reported(crisis_id="crue", severity="severe", title="Crue de l'Argens"),
    )

    async def first_wave() -> bool:
        return len(await _zone_events(servers["zone"].url)) == 3

    await _until(first_wave)
    zone = await _zone_events(servers["zone"].url)
    assert {e["crisis_id"] for e in zone} == {"06-crue", "83-crue"}
    assert str(minor.event_id) not in {e["event_id"] for e in zone}

    # The Var goes offline; what it records meanwhile reaches the zone once it is back.
    port = servers["83"].port
    servers["83"].kill()
    await _publish(
        servers["06"].url,
        settings,
        incident_reported(crisis_id="crue", severity="severe", title="Pont de Breil"),
    )
    await asyncio.sleep(1.0)
    servers["83"] = _server(tmp_path, "83", port=port)
    late = [
        incident_reported(crisis_id="crue", severity="extreme", title=f"Var {i}") for i in range(20)
    ]
    await _publish(servers["83"].url, settings, *late)

    async def caught_up() -> bool:
        return len(await _zone_events(servers["zone"].url)) == 3 + 1 + 20

    await _until(caught_up)
    ids = [e["event_id"] for e in await _zone_events(servers["zone"].url)]
    assert len(ids) == len(set(ids))
    assert {str(e.event_id) for e in late} <= set(ids)
