"""The composition root: one process, one folded picture for every service that reads it."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.bootstrap import SERVICE_NAMES, Root
from services.cell.app import CellService
from services.demo.scenario import tempete_alex
from services.eventlog.schema import upgrade
from services.picture.app import PictureService
from services.picture.snapshots import SnapshotStore
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.discovery import RunInfo, read_run_info, write_run_info
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.system import CrisisSystem
from services.runtime.topology import CRISIS_STREAM
from tests.integration.waiting import until

pytestmark = pytest.mark.integration

PLANS = Path(__file__).parents[2] / "services" / "plans" / "departements"
CRISIS = "alex-bootstrap"


async def test_the_picture_cell_plans_and_console_fold_the_stream_once_between_them(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    wired = _wired(settings, nats_server)
    await _migrated(wired)
    async with Root(wired) as root:
        services = root.services(["picture", "cell", "plans", "console"])
        async with CrisisSystem(wired, services, announce=False):
            consumers = await bus.js.consumers_info(CRISIS_STREAM)
            assert len(consumers) == 1  # four services, one ordered consumer: one fold
            picture = next(s for s in services if isinstance(s, PictureService))
            cell = next(s for s in services if isinstance(s, CellService))
            assert cell.follower is not None
            assert picture.live is cell.follower.live  # what is served is what is decided on
            assert all(getattr(s, "shared", None) is cell.shared for s in services)


async def test_the_services_of_a_process_share_one_store_and_one_people_file(
    settings: Settings,
) -> None:
    async with Root(settings) as root:
        services = root.services()
        stores = {id(s.store) for s in services if hasattr(s, "store")}
        people = {id(s.people) for s in services if hasattr(s, "people")}
        assert (stores, people) == ({id(root.store)}, {id(root.people)})
        assert {"auth", "eventlog", "picture", "console", "ops"} <= {
            s.name for s in services if hasattr(s, "store")
        }


async def test_start_up_resumes_from_the_snapshots_in_every_service_that_reads_the_picture(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    wired = _wired(settings, nats_server).model_copy(update={"picture_snapshot_every": 0})
    await _migrated(wired)
    events = tempete_alex(CRISIS)
    async with Root(wired) as root:
        # No snapshot on the way (0), still one of what changed when the picture service stops.
        async with CrisisSystem(wired, root.services(["eventlog", "picture"]), announce=False):
            for event in events:
                await publish_event(bus.js, event)
            await until(lambda: _logged(root, len(events)))
        assert await SnapshotStore(root.store.engine).positions(CRISIS) == [len(events)]

    # The cell run alone, in a process of its own: it folds nothing the snapshot holds.
    async with Root(wired) as root:
        [cell] = root.services(["cell"])
        async with CrisisSystem(wired, [cell], announce=False):
            assert isinstance(cell, CellService)
            assert cell.follower is not None
            assert cell.follower.live.started_from == len(events) + 1
            picture = cell.follower.picture(CRISIS)
            assert picture is not None
            assert (picture["events"], picture["state"]) == (len(events), "open")
            [ordered] = [
                c
                for c in await bus.js.consumers_info(CRISIS_STREAM)
                if c.config.opt_start_seq == len(events) + 1
            ]
            assert ordered.delivered.consumer_seq == 0  # not one event delivered again


def test_every_service_has_a_builder_and_an_unknown_one_is_named(settings: Settings) -> None:
    root = Root(settings)
    assert [s.name for s in root.services()] == list(SERVICE_NAMES)
    with pytest.raises(ValueError, match="no service nope"):
        root.services(["nope"])


def _wired(settings: Settings, nats_server: EmbeddedNatsServer) -> Settings:
    return settings.model_copy(
        update={
            "nats_url": nats_server.url,
            "console_port": 0,
            "picture_port": 0,
            "plans_dir": PLANS,
        }
    )


async def _migrated(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()


async def _logged(root: Root, count: int) -> bool:
    return await root.store.count() >= count


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
