"""One system per store: a second `crisis up` is refused, one recorder writes a log, and a log
that has diverged from its stream stops the recorder loudly instead of looping."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import UUID

import pytest
import structlog
from structlog.testing import capture_logs

from services.eventlog import recorder as recorder_module
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.eventlog.streamcheck import compare_with_stream
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.discovery import read_run_info
from services.runtime.embedded import EmbeddedNatsServer, EmbeddedServerError
from services.runtime.locks import LockedError, SystemLocks, store_lock
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, EVENTLOG_DURABLE
from tests.store_fixtures import chained
from tests.store_fixtures import open_store as open_backend_store
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.integration

CRISIS = [str(Path(sys.executable).parent / "crisis")]


# -- helpers ----------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_")}
    env.update(CRISIS_LOG_FORMAT="json", COLUMNS="80", **extra)
    for service in ("PICTURE", "INTAKE", "CONSOLE", "OPS"):
        env[f"CRISIS_{service}_PORT"] = "0"
    return env


def _up(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CRISIS, "up"],
        cwd=folder,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _announced(folder: Path, proc: subprocess.Popen[str], timeout: float = 40) -> None:
    """Wait until `proc` names itself in the folder's run file."""
    deadline = time.monotonic() + timeout
    while True:
        info = read_run_info(folder / "var" / "run.json")
        if info is not None and info.pid == proc.pid:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"crisis up did not come up (exit {proc.poll()})")
        time.sleep(0.1)


def _stopped(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def first_system(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`crisis up` running in the test's folder on its own embedded server and SQLite."""
    proc = _up(tmp_path)
    try:
        _announced(tmp_path, proc)
        yield proc
    finally:
        _stopped(proc)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float, what: str
) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        await asyncio.sleep(0.1)


# -- one system per folder ---------------------------------------------------------------------


def test_a_second_crisis_up_in_the_same_folder_is_refused_on_one_line_naming_the_first(
    tmp_path: Path, first_system: subprocess.Popen[str]
) -> None:
    info = read_run_info(tmp_path / "var" / "run.json")
    assert info is not None
    second = subprocess.run(
        [*CRISIS, "up"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(
        f"error: a crisis system already runs from {(tmp_path / 'var').resolve()} "
        f"(pid {info.pid}, {info.nats_url}, since "
    ), lines[0]
    assert "stop it first" in lines[0]
    # The first one still runs and is still the one the folder names: nothing else started.
    assert first_system.poll() is None
    assert read_run_info(tmp_path / "var" / "run.json") == info
    assert list((tmp_path / "var").glob("nats-server-*.conf")) == [
        tmp_path / "var" / f"nats-server-{info.nats_url.rsplit(':', 1)[1]}.conf"
    ]


def test_the_folder_is_free_again_as_soon_as_the_running_system_is_killed(
    tmp_path: Path, first_system: subprocess.Popen[str]
) -> None:
    first_system.send_signal(signal.SIGKILL)  # no clean-up at all: the OS releases the locks
    first_system.wait()
    again = _up(tmp_path)
    try:
        _announced(tmp_path, again)
        assert again.poll() is None
    finally:
        _stopped(again)


@pytest.mark.usefixtures("first_system")
def test_a_service_run_alone_beside_the_system_attaches_and_waits_for_the_log(
    tmp_path: Path,
) -> None:
    """`crisis service eventlog` is not refused by the folder's lock (it runs no server), and,
    on the system's own SQLite log, it waits in standby while the system's recorder writes."""
    proc = subprocess.Popen(
        [*CRISIS, "service", "eventlog"],
        cwd=tmp_path,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    watchdog = threading.Timer(40, proc.kill)
    watchdog.start()
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if '"eventlog.standby"' in line:
                standby = json.loads(line)
                break
        else:
            pytest.fail(f"no standby line: {''.join(seen)[-3000:]}")
    finally:
        watchdog.cancel()
        _stopped(proc)
    assert proc.returncode == 0, "a recorder in standby stops cleanly"
    assert standby["log"].endswith("crisis.db")
    assert "pid" in standby["held_by"]


async def test_a_store_held_by_another_process_is_refused_to_a_system_and_to_a_server(
    settings: Settings,
) -> None:
    store_dir = settings.jetstream_dir
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys, time\n"
        "from pathlib import Path\n"
        "from services.runtime.locks import store_lock\n"
        "assert store_lock(Path(sys.argv[1])).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n",
        str(store_dir),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        with pytest.raises(LockedError, match=f"is in use by another nats-server.*{holder.pid}"):
            await SystemLocks(settings).acquire(store_wait=0.5)
        with pytest.raises(EmbeddedServerError, match="is in use by another nats-server"):
            EmbeddedNatsServer(store_dir).start()
    finally:
        holder.kill()
        await holder.wait()
    locks = SystemLocks(settings)
    await locks.acquire(store_wait=5)
    locks.release()


def test_a_server_of_this_process_shares_the_store_lock_its_system_holds(tmp_path: Path) -> None:
    held = store_lock(tmp_path / "jetstream")
    assert held.acquire()
    try:
        with EmbeddedNatsServer(tmp_path / "jetstream"):
            pass
    finally:
        held.release()


# -- one recorder per log ----------------------------------------------------------------------


def _wired(settings: Settings, server: EmbeddedNatsServer) -> Settings:
    return settings.model_copy(
        update={"nats_url": server.url, "eventlog_ack_wait_s": 1.0, "eventlog_batch": 10}
    )


@pytest.fixture
async def sqlite_store(settings: Settings) -> AsyncIterator[EventStore]:
    """The test's SQLite log, migrated."""
    store = EventStore(make_engine(settings.database_url))
    await upgrade(store.engine)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def log_store(
    request: pytest.FixtureRequest, sqlite_store: EventStore, tmp_path: Path
) -> AsyncIterator[EventStore]:
    """The log on each database: the test's SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_store
        return
    async with open_backend_store("postgres", tmp_path) as store:
        yield store


async def test_a_second_recorder_on_one_log_waits_then_takes_over_when_the_first_stops(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus, log_store: EventStore
) -> None:
    wired = _wired(settings, nats_server)
    async with AsyncExitStack() as stack:
        first = EventLogService(wired, log_store)
        await first.start(nats_server.url)
        stack.push_async_callback(first.stop)
        second = EventLogService(wired, log_store)
        with capture_logs() as logs:
            await second.start(nats_server.url)
            stack.push_async_callback(second.stop)
            assert (first.state, second.state) == ("recording", "standby")
            await wait_until(_said(logs, "eventlog.standby"), timeout=5, what="standby said")
        said = next(entry for entry in logs if entry["event"] == "eventlog.standby")
        assert "crisis-eventlog" in said["held_by"] or "pid" in said["held_by"], said

        await publish_event(bus.js, incident_reported())
        await wait_until(_holds(log_store, 1), timeout=10, what="the first records")
        await first.stop()

        async def taken_over() -> bool:
            return second.state == "recording"

        await wait_until(taken_over, timeout=10, what="the second takes over")
        await publish_event(bus.js, incident_reported())
        await wait_until(_holds(log_store, 2), timeout=10, what="the second records")
        assert await log_store.count() == 2


@pytest.mark.postgres
async def test_the_postgres_recorder_lock_names_its_holder(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus, tmp_path: Path
) -> None:
    del bus
    async with open_backend_store("postgres", tmp_path) as store:
        first = EventLogService(_wired(settings, nats_server), store)
        await first.start(nats_server.url)
        second = EventLogService(_wired(settings, nats_server), store)
        try:
            await second.start(nats_server.url)
            assert second.state == "standby"
            assert second.lock is not None
            holder = await second.lock.holder()
            assert f"crisis-eventlog {os.uname().nodename}"[:40] in holder, holder
            assert "schema t_" in second.lock.where
        finally:
            await second.stop()
            await first.stop()


def _said(logs: list[dict[str, object]], event: str) -> Callable[[], Awaitable[bool]]:
    async def said() -> bool:
        return any(entry["event"] == event for entry in logs)

    return said


def _holds(store: EventStore, count: int) -> Callable[[], Awaitable[bool]]:
    async def holds() -> bool:
        return await store.count() >= count

    return holds


# -- a log that diverged from its stream -------------------------------------------------------


async def test_a_position_held_by_another_event_stops_the_recorder_loudly_and_acks_nothing(
    nats_server: EmbeddedNatsServer,
    settings: Settings,
    bus: Bus,
    log_store: EventStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A logger of its own: the module's may have been cached by an earlier test's logging
    # set-up (cache_logger_on_first_use), and would then bypass capture_logs.
    monkeypatch.setattr(recorder_module, "log", structlog.get_logger(recorder_module.__name__))
    # The log says position 1 holds another event than the stream will: another system's.
    theirs = incident_reported(crisis_id="crue-roya")
    await log_store.append(chained([theirs], first=1))
    ours = incident_reported(crisis_id="crue-vesubie")
    service = EventLogService(_wired(settings, nats_server), log_store)
    with capture_logs() as logs:
        await service.start(nats_server.url)
        try:
            await publish_event(bus.js, ours)

            async def halted() -> bool:
                return service.state == "halted"

            await wait_until(halted, timeout=10, what="the recorder halts")
            await asyncio.sleep(3)  # three ack waits: a looping recorder would retry meanwhile
            consumer = await bus.js.consumer_info(CRISIS_STREAM, EVENTLOG_DURABLE)
        finally:
            await service.stop()
    assert not service.healthy
    assert service.recorder is not None
    conflict = service.recorder.conflict
    assert conflict is not None
    assert (conflict.position, conflict.held_event_id, conflict.delivered_event_id) == (
        1,
        theirs.event_id,
        ours.event_id,
    )
    errors = [entry for entry in logs if entry["event"] == "eventlog.halted"]
    assert len(errors) == 1, logs
    assert errors[0]["log_level"] == "error"
    assert errors[0]["position"] == 1
    assert errors[0]["held_event_id"] == str(theirs.event_id)
    assert errors[0]["delivered_event_id"] == str(ours.event_id)
    assert "one system only" in str(errors[0]["action"])
    assert not [entry for entry in logs if entry["event"] == "eventlog.commit_failed"]
    # Delivered once, never acknowledged, never delivered again: the recorder stopped fetching.
    assert consumer.ack_floor is not None
    assert consumer.ack_floor.stream_seq == 0
    assert consumer.num_redelivered == 0
    assert [r.event_id async for r in log_store.read()] == [theirs.event_id]


async def test_comparing_the_log_with_the_stream_finds_a_position_they_hold_with_different_events(
    bus: Bus, sqlite_store: EventStore
) -> None:
    theirs = incident_reported(crisis_id="crue-roya")
    await sqlite_store.append(chained([theirs], first=1))
    ours = [incident_reported(crisis_id="crue-vesubie") for _ in range(2)]
    for event in ours:
        await publish_event(bus.js, event)
    comparison = await compare_with_stream(sqlite_store, bus.js)
    assert not comparison.agrees
    assert comparison.compared == 1
    [diverged] = comparison.mismatches
    assert diverged.position == 1
    assert str(theirs.event_id) in diverged.problem
    assert str(ours[0].event_id) in diverged.problem
    assert "diverged" in diverged.problem


async def test_an_event_of_the_stream_the_log_lacks_below_its_last_position_is_missing(
    bus: Bus, sqlite_store: EventStore
) -> None:
    events = [incident_reported(crisis_id="crue-vesubie") for _ in range(3)]
    for event in events:
        await publish_event(bus.js, event)
    await sqlite_store.append(chained([events[0]], first=1))
    heads = await sqlite_store.heads(["crue-vesubie"])
    await sqlite_store.append(chained([events[2]], first=3, heads=heads))
    comparison = await compare_with_stream(sqlite_store, bus.js)
    assert comparison.compared == 2
    [missing] = comparison.mismatches
    assert missing.position == 2
    assert str(events[1].event_id) in missing.problem
    assert "the log does not" in missing.problem


async def test_a_log_past_the_end_of_its_stream_is_reported_as_diverged(
    bus: Bus, sqlite_store: EventStore
) -> None:
    await sqlite_store.append(chained([incident_reported() for _ in range(3)], first=1))
    await publish_event(bus.js, incident_reported())
    comparison = await compare_with_stream(sqlite_store, bus.js)
    problems = [m.problem for m in comparison.mismatches]
    assert any("holds positions up to 3 but the stream ends at 1" in p for p in problems)


async def test_a_log_recorded_from_its_stream_agrees_with_it(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus, sqlite_store: EventStore
) -> None:
    events = [incident_reported() for _ in range(25)]
    service = EventLogService(_wired(settings, nats_server), sqlite_store)
    await service.start(nats_server.url)
    try:
        for event in events:
            await publish_event(bus.js, event)
        await wait_until(_holds(sqlite_store, 25), timeout=15, what="all recorded")
    finally:
        await service.stop()
    comparison = await compare_with_stream(sqlite_store, bus.js)
    assert comparison.agrees, comparison.mismatches
    assert (comparison.compared, comparison.unchecked) == (25, 0)
    ids = {UUID(str(e.event_id)) for e in events}
    assert {r.event_id async for r in sqlite_store.read()} == ids


async def test_crisis_log_verify_names_where_the_log_and_the_running_systems_stream_differ(
    nats_server: EmbeddedNatsServer,
    settings: Settings,
    bus: Bus,
    sqlite_store: EventStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each side's chain is intact, so only the comparison with the stream can tell: the
    command says where, and exits 1, instead of "intact"."""
    from typer.testing import CliRunner  # noqa: PLC0415 (only this test drives the command)

    from services.cli.main import app  # noqa: PLC0415

    theirs = incident_reported(crisis_id="crue-roya")
    await sqlite_store.append(chained([theirs], first=1))
    await publish_event(bus.js, incident_reported(crisis_id="crue-vesubie"))
    monkeypatch.setenv("CRISIS_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("CRISIS_NATS_URL", nats_server.url)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["log", "verify"])
    assert result.exit_code == 1, result.output
    assert "log and stream differ at position 1" in result.output
    assert str(theirs.event_id) in result.output
    monkeypatch.delenv("CRISIS_NATS_URL")
    alone = await asyncio.to_thread(CliRunner().invoke, app, ["log", "verify"])
    assert alone.exit_code == 0, alone.output
    assert "the stream was not compared: no system runs" in alone.output
