"""Replay pacing, pause and seek (on a fake bus), and forks of a past crisis into an exercise."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from schemas.wire import REGISTRY
from services.demo.scenario import tempete_alex
from services.replay.core import Recorded, Timeline, fork_event, window
from services.replay.runner import Replay, SeekError

pytestmark = pytest.mark.unit

T0 = datetime(2020, 10, 2, 12, tzinfo=UTC)


class FakeJetStream:
    """Records what would be published, with the loop time of each publish."""

    def __init__(self) -> None:
        self.published: list[tuple[float, str, dict[str, Any], str]] = []

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        now = asyncio.get_running_loop().time()
        self.published.append((now, subject, orjson.loads(payload), headers["Nats-Msg-Id"]))


def _timeline(minutes: list[int]) -> Timeline:
    return Timeline(
        [
            Recorded(
                i + 1,
                T0 + timedelta(minutes=m),
                {"event_id": f"e{i}", "crisis_id": "crue-06", "type": "incident.reported"},
            )
            for i, m in enumerate(minutes)
        ]
    )


def test_the_original_spacing_is_divided_by_the_speed() -> None:
    timeline = _timeline([0, 10, 40])
    assert [timeline.delay(i, 600) for i in range(3)] == [0.0, 1.0, 3.0]
    assert timeline.index_at(T0 + timedelta(minutes=11)) == 2


async def test_a_replay_publishes_under_its_session_never_on_live_subjects() -> None:
    js = FakeJetStream()
    replay = Replay(js, _timeline([0, 1, 2]), session="s1", speed=None)  # type: ignore[arg-type]
    assert await replay.run(asyncio.Event()) == 3
    subjects = [subject for _, subject, _, _ in js.published]
    assert subjects == ["replay.s1.crisis.crue-06.incident.reported"] * 3
    assert [msg_id for *_, msg_id in js.published] == [
        "replay-s1-e0",
        "replay-s1-e1",
        "replay-s1-e2",
    ]


async def test_a_replay_keeps_the_spacing_pauses_and_seeks_forward_only() -> None:
    js = FakeJetStream()
    # 0, 6 and 60 minutes apart at x3600: 0.1 s then 0.9 s.
    replay = Replay(js, _timeline([0, 6, 60]), session="s2", speed=3600)  # type: ignore[arg-type]
    stop = asyncio.Event()
    running = asyncio.create_task(replay.run(stop))
    await asyncio.sleep(0.3)
    assert len(js.published) == 2
    gap = js.published[1][0] - js.published[0][0]
    assert 0.08 <= gap <= 0.3
    replay.pause()
    await asyncio.sleep(1.0)
    assert len(js.published) == 2  # held while paused
    with pytest.raises(SeekError):
        replay.seek(T0)
    replay.resume()
    replay.seek(T0 + timedelta(minutes=60))  # the last event at once
    await asyncio.wait_for(running, 1.0)
    assert len(js.published) == 3
    assert replay.command({"action": "nonsense"})["ok"] is False


def test_a_fork_is_an_exercise_with_new_ids_that_keep_their_links() -> None:
    events = [orjson.loads(e.model_dump_json()) for e in tempete_alex("alex", status="Actual")]  # type: ignore[arg-type]
    forked = [fork_event(e, "alex-exercice") for e in events]
    assert all(e["crisis_id"] == "alex-exercice" and e["status"] == "Exercise" for e in forked)
    assert forked[0]["name"].startswith("EXERCICE - ")
    assert {e["event_id"] for e in forked}.isdisjoint({e["event_id"] for e in events})
    assert forked == [fork_event(e, "alex-exercice") for e in events]  # stable ids
    ids = {e["event_id"] for e in forked}
    activated = [e for e in forked if e["type"] == "plan.activated" and e.get("proposal_event_id")]
    assert activated
    assert all(e["proposal_event_id"] in ids for e in activated)
    for event in forked:
        REGISTRY.decode(event)  # every forked event is still a valid event


def test_a_window_takes_the_events_recorded_between_its_bounds() -> None:
    events = _timeline([0, 10, 20, 30]).events
    chosen = window(events, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    assert [e.position for e in chosen] == [2, 3]
