"""Health, readiness and Prometheus metrics of a system running on a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from schemas.events import SituationReportIssued
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.ops.app import OpsConfigError, OpsService
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.http import HttpServerError
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.integration


@pytest.fixture
async def ops(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> AsyncIterator[tuple[str, Bus]]:
    wired = settings.model_copy(update={"nats_url": nats_server.url, "ops_port": 0})
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    await engine.dispose()
    eventlog = EventLogService(wired)
    await eventlog.start(nats_server.url)
    service = OpsService(wired)
    await service.start(nats_server.url)
    try:
        yield service.url, bus
    finally:
        await service.stop()
        await eventlog.stop()


async def test_health_ready_and_metrics_say_what_the_system_holds(ops: tuple[str, Bus]) -> None:
    url, bus = ops
    report = sample_event(SituationReportIssued, crisis_id="crue-06")
    for event in (incident_reported(crisis_id="crue-06"), report):
        await publish_event(bus.js, event)
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert all(ready.json()["checks"].values())
        for _ in range(100):
            text = (await client.get("/metrics")).text
            if "crisis_log_events 2" in text:
                break
            await asyncio.sleep(0.05)
    assert 'crisis_stream_messages{stream="CRISIS"} 2' in text
    assert "crisis_log_events 2" in text
    assert "crisis_eventlog_pending 0" in text
    assert "crisis_rejected_inputs 0" in text
    assert 'crisis_sitrep_age_seconds{crisis="crue-06"}' in text
    assert "# TYPE crisis_log_events gauge" in text


METRICS_TOKEN = "a-long-random-metrics-token"


async def test_with_a_token_set_metrics_need_it_and_health_and_ready_do_not(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    wired = settings.model_copy(
        update={"nats_url": nats_server.url, "ops_port": 0, "ops_metrics_token": METRICS_TOKEN}
    )
    await publish_event(bus.js, sample_event(SituationReportIssued, crisis_id="crue-06"))
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    await engine.dispose()
    service = OpsService(wired)
    await service.start(nats_server.url)
    try:
        async with httpx.AsyncClient(base_url=service.url) as client:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                refused = await client.get("/metrics", headers=headers)
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"] == "Bearer"
                assert "crue-06" not in refused.text
            allowed = await client.get(
                "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            assert 'crisis_sitrep_age_seconds{crisis="crue-06"}' in allowed.text
            assert (await client.get("/health")).json() == {"status": "ok"}
            ready = await client.get("/ready")
            assert ready.status_code == 200
            assert "crue-06" not in ready.text
    finally:
        await service.stop()


async def test_the_ops_server_will_not_listen_beyond_loopback_without_a_token(
    nats_server: EmbeddedNatsServer, settings: Settings
) -> None:
    wired = settings.model_copy(
        update={"nats_url": nats_server.url, "ops_port": 0, "ops_host": "0.0.0.0"}  # noqa: S104
    )
    service = OpsService(wired)
    with pytest.raises(OpsConfigError, match="CRISIS_OPS_METRICS_TOKEN"):
        await service.start(nats_server.url)
    assert service.url == ""
    assert isinstance(OpsConfigError("x"), HttpServerError), "`crisis up` reports it cleanly"
