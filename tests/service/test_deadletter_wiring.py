"""Wiring of the event log's dead-letter keeper on FastStream's in-memory broker.

The in-memory broker does not emulate ack, redelivery or dedup: that a kept message is acked only
after its insert, and kept once, is tested on a real server
(tests/integration/test_deadletter_cli.py, test_eventlog_faults.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from faststream.nats import NatsBroker, TestNatsBroker

from schemas import subjects
from schemas.wire import encode
from services.eventlog.app import register_deadletters
from services.eventlog.deadletters import H_FIELD, H_ORIGINAL_POSITION, H_REASON
from services.eventlog.store import EventStore
from services.runtime.topology import CRISIS_STREAM, DEADLETTER_STREAM
from tests.service.fakes import FakeRejectedStore, delivered_by_jetstream
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.service

REJECTED_AT = datetime(2020, 10, 2, 14, 0, tzinfo=UTC)


def keeper(broker: NatsBroker) -> FakeRejectedStore:
    """A store keeping rejected inputs, registered as the event log registers the real one."""
    store = FakeRejectedStore()
    register_deadletters(broker, cast("EventStore", store))
    return store


async def test_a_dead_letter_is_kept_raw_with_its_source_reason_and_position() -> None:
    broker = NatsBroker()
    store = keeper(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            b"<alert>broken",
            subjects.deadletter("meteo-france"),
            headers={H_REASON: "not well-formed XML", H_FIELD: "alert"},
            reply_to=delivered_by_jetstream(DEADLETTER_STREAM, 5, REJECTED_AT),
        )
    [row] = store.rejected
    assert (row.source, row.reason, row.field, row.raw) == (
        "meteo-france",
        "not well-formed XML",
        "alert",
        b"<alert>broken",
    )
    assert (row.stream, row.position, row.rejected_at) == (DEADLETTER_STREAM, 5, REJECTED_AT)


async def test_a_refusal_of_the_recorder_is_kept_at_its_original_stream_position() -> None:
    broker = NatsBroker()
    store = keeper(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            b"{}",
            subjects.deadletter("eventlog"),
            headers={H_REASON: "schema", H_ORIGINAL_POSITION: "42"},
            reply_to=delivered_by_jetstream(DEADLETTER_STREAM, 5, REJECTED_AT),
        )
    assert [(r.stream, r.position) for r in store.rejected] == [(CRISIS_STREAM, 42)]


async def test_the_keeper_is_not_handed_live_events() -> None:
    broker = NatsBroker()
    store = keeper(broker)
    event = incident_reported()
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            encode(event),
            subjects.live(event.crisis_id, event.type),
            reply_to=delivered_by_jetstream(CRISIS_STREAM, 1, REJECTED_AT),
        )
    assert store.rejected == []
