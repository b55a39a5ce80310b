"""The composition root: one process, one folded picture for every service that reads it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.bootstrap import SERVICE_NAMES, build_services
from services.cell.app import CellService
from services.eventlog.schema import upgrade
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.discovery import RunInfo, read_run_info, write_run_info
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import Settings
from services.runtime.system import CrisisSystem
from services.runtime.topology import CRISIS_STREAM

pytestmark = pytest.mark.integration

PLANS = Path(__file__).parents[2] / "infra" / "plans"


async def test_the_cell_the_plans_and_the_console_fold_the_stream_once_between_them(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    wired = settings.model_copy(
        update={"nats_url": nats_server.url, "console_port": 0, "plans_dir": PLANS}
    )
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    await engine.dispose()
    services = build_services(wired, ["cell", "plans", "console"])
    async with CrisisSystem(wired, services, announce=False):
        consumers = await bus.js.consumers_info(CRISIS_STREAM)
        assert len(consumers) == 1  # three services, one ordered consumer: one fold
        cell = next(s for s in services if isinstance(s, CellService))
        assert all(getattr(s, "shared", None) is cell.shared for s in services)


def test_every_service_has_a_builder_and_an_unknown_one_is_named(settings: Settings) -> None:
    assert [s.name for s in build_services(settings)] == list(SERVICE_NAMES)
    with pytest.raises(ValueError, match="no service nope"):
        build_services(settings, ["nope"])


async def test_a_service_started_beside_a_running_system_leaves_its_run_file_be(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    del bus
    wired = settings.model_copy(update={"nats_url": nats_server.url})
    theirs = RunInfo(
        nats_url="nats://127.0.0.1:1",
        pid=os.getppid(),  # alive: the process that runs the tests
        embedded=True,
        secured=True,
        started_at=datetime.now(UTC),
        services=["auth", "cell"],
    )
    write_run_info(wired.run_file, theirs)
    async with CrisisSystem(wired, []):
        assert read_run_info(wired.run_file) == theirs
    assert read_run_info(wired.run_file) == theirs
