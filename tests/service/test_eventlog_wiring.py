"""Wiring of the event log on FastStream's in-memory broker (no ack, redelivery or dedup here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from faststream.nats import NatsBroker, TestNatsBroker

from schemas import subjects
from schemas.wire import encode
from services.eventlog.app import register
from services.runtime.settings import Settings
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.service


class FakeRecorder:
    """Keeps what it is handed, in order."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []

    async def record(self, messages: Sequence[Any], js: Any) -> None:
        del js
        self.batches.append([message.data for message in messages])


async def test_the_recorder_receives_every_live_event_as_a_batch(settings: Settings) -> None:
    broker = NatsBroker()
    recorder = FakeRecorder()
    register(broker, recorder, settings)
    event = incident_reported()
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(encode(event), subjects.live(event.crisis_id, event.type))
    assert [data for batch in recorder.batches for data in batch] == [encode(event)]


async def test_the_recorder_is_not_handed_dead_letters_or_replays(settings: Settings) -> None:
    broker = NatsBroker()
    recorder = FakeRecorder()
    register(broker, recorder, settings)
    event = incident_reported()
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(b"raw", subjects.deadletter("meteo-france"))
        await test_broker.publish(encode(event), subjects.replay("retex", "alex", event.type))
    assert recorder.batches == []
