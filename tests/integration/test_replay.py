"""Replay and fork of a past crisis on a real nats-server, from the command line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.demo.scenario import tempete_alex
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, REPLAY_STREAM

pytestmark = pytest.mark.integration

CRISIS = "alex-past"


@pytest.fixture
async def logged(
    nats_server: EmbeddedNatsServer,
    settings: Settings,
    bus: Bus,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Bus, EventStore]]:
    """Storm Alex recorded in the log by the event log; the CLI pointed at this system."""
    wired = settings.model_copy(update={"nats_url": nats_server.url})
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    eventlog = EventLogService(wired, EventStore(make_engine(wired.database_url)))
    await eventlog.start(nats_server.url)
    for event in tempete_alex(CRISIS):
        await publish_event(bus.js, event)
    for _ in range(200):
        if await store.count(CRISIS) == 60:
            break
        await asyncio.sleep(0.05)
    monkeypatch.setenv("CRISIS_NATS_URL", nats_server.url)
    monkeypatch.setenv("CRISIS_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("COLUMNS", "200")
    try:
        yield bus, store
    finally:
        await eventlog.stop()
        await store.close()


async def _messages(bus: Bus, stream: str) -> list[tuple[str, dict[str, Any]]]:
    info = await bus.js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await bus.js.get_msg(stream, seq)
        found.append((message.subject, orjson.loads(message.data or b"{}")))
    return found


async def test_a_replay_runs_under_its_own_subjects_and_leaves_the_live_stream_alone(
    logged: tuple[Bus, EventStore],
) -> None:
    bus, _store = logged
    live_before = (await bus.js.stream_info(CRISIS_STREAM)).state.messages
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["replay", "--crisis", CRISIS, "--max", "--session", "retex1"]
    )
    assert result.exit_code == 0, result.output
    assert "60 of 60 events replayed" in result.output
    replayed = await _messages(bus, REPLAY_STREAM)
    assert len(replayed) == 60
    assert all(subject.startswith(f"replay.retex1.crisis.{CRISIS}.") for subject, _ in replayed)
    assert (await bus.js.stream_info(CRISIS_STREAM)).state.messages == live_before
    # The same session again publishes nothing new: message ids are per session and event.
    again = await asyncio.to_thread(
        CliRunner().invoke, app, ["replay", "--crisis", CRISIS, "--max", "--session", "retex1"]
    )
    assert again.exit_code == 0, again.output
    assert len(await _messages(bus, REPLAY_STREAM)) == 60


async def test_a_fork_replays_the_crisis_until_an_instant_into_a_new_exercise_crisis(
    logged: tuple[Bus, EventStore],
) -> None:
    bus, store = logged
    originals = [r async for r in store.read(CRISIS)]
    until = originals[29].recorded_at.isoformat()  # what the cell knew after 30 events
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["replay", "--crisis", CRISIS, "--as-exercise", "alex-exercice", "--until", until],
    )
    assert result.exit_code == 0, result.output
    forked = [e for s, e in await _messages(bus, CRISIS_STREAM) if ".alex-exercice." in s]
    assert forked
    assert all(e["status"] == "Exercise" for e in forked)
    assert forked[0]["type"] == "crisis.opened"
    assert forked[0]["name"].startswith("EXERCICE")
    assert len(forked) == len([r for r in originals if r.recorded_at <= originals[29].recorded_at])


async def test_review_writes_the_after_action_report_and_its_figures_from_the_log(
    logged: tuple[Bus, EventStore], tmp_path: Path
) -> None:
    _bus, store = logged
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["review", "--crisis", CRISIS, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / f"review-{CRISIS}.html").read_text()
    figures = orjson.loads((tmp_path / f"review-{CRISIS}.json").read_bytes())
    assert "<svg" in page
    assert "EXERCICE" in page
    ids = {str(r.event_id) async for r in store.read(CRISIS)}
    delays = figures["delays"]
    assert delays
    assert all(set(d["event_ids"]) <= ids for d in delays)
