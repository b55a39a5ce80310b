"""Health that tells the truth, on a real nats-server: a real full disk (a small tmpfs), a stuck
event log, and what a command that times out says about them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas.envelope import utc_now
from services.auth.principals import act_subject
from services.cell.app import CellService
from services.cell.people import Role, add_person
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.ops.app import OpsService
from services.runtime.bus import Bus, connect
from services.runtime.database import make_engine
from services.runtime.discovery import RunInfo, write_run_info
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.health import why_no_answer
from services.runtime.publish import Published, PublishError, publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, topology
from tests.integration.waiting import until
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.integration

CRISIS = "crue-var"
DISK_MB = 24
MIN_FREE_MB = 4


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_MB megabytes: a disk that really fills. Skipped where none can be mounted."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (or CAP_SYS_ADMIN): the full-disk test needs one")
    mounted = subprocess.run(
        ["/bin/mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): no real full disk")
    try:
        yield mount_point
    finally:
        subprocess.run(["/bin/umount", "-l", str(mount_point)], check=False)


@dataclass
class Cell:
    """A system on the small disk: its server, settings, bus, log and operations endpoints."""

    server: EmbeddedNatsServer
    settings: Settings
    bus: Bus
    store: EventStore
    ops: OpsService

    async def act(self, actor: str, timeout: float = 15, **command: Any) -> dict[str, Any]:
        body = orjson.dumps({"command": {"crisis_id": CRISIS, **command}})
        reply = await self.bus.nc.request(act_subject(actor), body, timeout=timeout)
        answer: dict[str, Any] = orjson.loads(reply.data)
        return answer

    async def ready(self) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.ops.url, timeout=10) as client:
            return await client.get("/ready")


@pytest.fixture
async def cell(small_disk: Path, tmp_path: Path, settings: Settings) -> AsyncIterator[Cell]:
    """The event log, the cell and the ops endpoints on a server storing on the small disk."""
    var = small_disk / "var"
    server = EmbeddedNatsServer(var / "jetstream", log_file=tmp_path / "nats.log")
    await server.astart()
    wired = settings.model_copy(
        update={
            "var_dir": var,
            "nats_url": server.url,
            "ops_port": 0,
            "disk_min_free_mb": MIN_FREE_MB,
            # JetStream reserves a stream's max_bytes out of 3/4 of the disk it found free.
            "deadletter_max_bytes": 1024 * 1024,
        }
    )
    add_person(wired.people_path, "dircab", Role.DIRECTOR, "Directeur de cabinet")
    add_person(wired.people_path, "op.martin", Role.OPERATOR, "Paul Martin")
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    ops = OpsService(wired, check_every_s=0.2, restart_gap_s=2)
    services = [EventLogService(wired), CellService(wired), ops]
    try:
        async with connect(server.url, plan=topology(wired)) as bus:
            for service in services:
                await service.start(server.url)
            try:
                yield Cell(server, wired, bus, store, ops)
            finally:
                for service in reversed(services):
                    await service.stop()
    finally:
        await store.close()
        await server.astop()


def _fill(disk: Path) -> Path:
    """Write a file until the disk is full; the file."""
    filler = disk / "filler"
    chunk = b"\0" * (1024 * 1024)
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(chunk)
            out.flush()
    with contextlib.suppress(OSError), filler.open("ab") as out:
        while True:  # the last partial megabyte
            out.write(b"\0" * 4096)
            out.flush()
    return filler


async def _publish_until_refused(bus: Bus) -> tuple[list[Published], PublishError]:
    """Publish events until one is refused: those acknowledged, and the refusal."""
    acked: list[Published] = []
    for _ in range(50):
        try:
            acked.append(
                await publish_event(bus.js, incident_reported(crisis_id=CRISIS), attempts=2)
            )
        except PublishError as exc:
            return acked, exc
    pytest.fail("50 events were acknowledged on a full disk")


async def _problems(cell: Cell) -> list[str]:
    response = await cell.ready()
    problems: list[str] = response.json()["problems"]
    assert (response.status_code == 200) == (not problems), response.text
    return problems


async def test_a_full_disk_makes_the_system_not_ready_and_it_recovers_by_itself_when_space_returns(
    cell: Cell, small_disk: Path
) -> None:
    # Given a working cell, ready, with a crisis open and an entry in its main courante.
    opened = await cell.act("dircab", act="open_crisis", name="Crue du Var", departement="83")
    assert opened["ok"], opened
    entry: dict[str, Any] = {"act": "record_entry", "direction": "received", "sender": "CODIS 83"}
    assert (await cell.act("op.martin", **entry, text="Digue surveillée"))["ok"]
    assert (await cell.ready()).status_code == 200
    write_run_info(
        cell.settings.run_file,
        RunInfo(
            nats_url=cell.server.url,
            pid=os.getpid(),
            embedded=True,
            started_at=datetime.now(UTC),
            services=["eventlog", "cell", "ops"],
            http={"ops": cell.ops.url},
        ),
    )
    server_pid = cell.server.pid

    # When the disk fills up.
    filler = await asyncio.to_thread(_fill, small_disk)

    # Then /ready says so, and why, in words an operator can act on.
    async def disk_reported() -> bool:
        return any(p.startswith("disk:") and "is full" in p for p in await _problems(cell))

    await until(disk_reported, seconds=10)
    problems = await _problems(cell)
    assert any(str(small_disk) in p and "CRISIS_DISK_MIN_FREE_MB" in p for p in problems)
    # Publishing fails cleanly: an event is acknowledged only if stored (the last page of the
    # stream's file may still hold a few), and the first one refused is reported as such.
    acked, refused = await _publish_until_refused(cell.bus)
    assert "was not acknowledged" in str(refused)

    async def writes_refused() -> bool:
        return any(p.startswith("jetstream writes:") for p in await _problems(cell))

    await until(writes_refused, seconds=10)
    assert any("restarts JetStream by itself" in p for p in await _problems(cell))

    # And an act that times out says which service did not answer and what the system reported.
    with pytest.raises(TimeoutError):
        await cell.act("op.martin", timeout=3, **entry, text="Pendant la panne")
    said = await asyncio.to_thread(why_no_answer, cell.settings, utc_now())
    assert said.startswith("its last health report ("), said
    assert "JetStream has refused new events" in said
    assert "is full" in said

    # When space comes back, the system is ready again by itself: no restart by the test.
    filler.unlink()
    freed = time.monotonic()

    async def ready() -> bool:
        return (await cell.ready()).status_code == 200

    await until(ready, seconds=30)
    took = time.monotonic() - freed
    print(f"ready {took:.1f} s after space came back")  # noqa: T201 (measured for the docs)
    assert cell.server.pid == server_pid, "the server process was not restarted"
    assert cell.ops.monitor is not None
    assert cell.ops.monitor.restarts >= 1, "JetStream was restarted in place"
    # And a new act goes through.
    after = await cell.act("op.martin", **entry, text="Après la panne")
    assert after["ok"], after

    # And every acknowledged event is in the log, in stream order.
    async def all_recorded() -> bool:
        info = await cell.bus.js.stream_info(CRISIS_STREAM)
        # The stream was never purged: its messages are all the events it acknowledged.
        return await cell.store.count() == info.state.messages

    await until(all_recorded, seconds=30)
    info = await cell.bus.js.stream_info(CRISIS_STREAM)
    assert await cell.store.last_position() == info.state.last_seq
    held = await cell.store.event_ids_at([*(a.seq for a in acked), *after["positions"]])
    assert len(held) == len(acked) + len(after["positions"])


async def test_an_event_log_behind_and_not_moving_makes_the_system_not_ready(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    wired = settings.model_copy(update={"nats_url": nats_server.url, "ops_port": 0})
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    await engine.dispose()
    eventlog = EventLogService(wired)
    await eventlog.start(nats_server.url)
    await eventlog.stop()  # its durable consumer stays, and nothing records
    ops = OpsService(wired, check_every_s=0.1, stall_after_s=0.5)
    await ops.start(nats_server.url)
    try:
        await publish_event(bus.js, incident_reported(crisis_id=CRISIS))
        async with httpx.AsyncClient(base_url=ops.url) as client:

            async def stalled() -> bool:
                answer = await client.get("/ready")
                return answer.status_code == 503

            await until(stalled, seconds=10)
            body = (await client.get("/ready")).json()
        assert body["checks"]["eventlog progress"] is False
        assert body["checks"]["disk"] is True
        (problem,) = body["problems"]
        assert problem.startswith("eventlog progress: the event log is 1 event behind")
        assert "eventlog.commit_failed" in problem
    finally:
        await ops.stop()
