"""The event log service: a FastStream shell around the recorder."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Protocol

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.annotations import JsClient
from faststream.nats.message import NatsBatchMessage, NatsMessage
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from schemas import subjects
from services.eventlog import deadletters
from services.eventlog.recorder import Recorder
from services.eventlog.store import EventStore, store_for
from services.runtime.settings import Settings
from services.runtime.streams import raw_body, service_broker
from services.runtime.system import StackedService
from services.runtime.topology import (
    CRISIS_STREAM,
    DEADLETTER_DURABLE,
    DEADLETTER_STREAM,
    EVENTLOG_DURABLE,
    deadletter_consumer,
    eventlog_consumer,
)


class BatchRecorder(Protocol):
    """What the subscriber hands each batch to: the Recorder, or a fake in wiring tests."""

    async def record(self, messages: Sequence[Msg], js: JetStreamContext) -> None:
        """Commit, then ack, the messages of one batch."""


def register(broker: NatsBroker, recorder: BatchRecorder, settings: Settings) -> None:
    """Subscribe the recorder to every live event, in batches, acking by hand after commit."""

    @broker.subscriber(
        subjects.LIVE_ALL,
        stream=JStream(CRISIS_STREAM, declare=False),
        durable=EVENTLOG_DURABLE,
        config=eventlog_consumer(settings),
        pull_sub=PullSub(batch_size=settings.eventlog_batch, timeout=0.05, batch=True),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        title="eventlog",
        description="Records every live event in the SQL event log, then acks it.",
    )
    async def record(js: JsClient, message: NatsBatchMessage = Context("message")) -> None:
        await recorder.record(message.raw_message, js)


def register_deadletters(broker: NatsBroker, store: EventStore) -> None:
    """Keep every dead-letter message in the rejected-inputs table, acking after the insert."""

    @broker.subscriber(
        subjects.DEADLETTER_ALL,
        stream=JStream(DEADLETTER_STREAM, declare=False),
        durable=DEADLETTER_DURABLE,
        config=deadletter_consumer(),
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
        title="eventlog-deadletters",
        description="Keeps each rejected input, raw, with its reason, in rejected_inputs.",
    )
    async def keep_rejected(message: NatsMessage = Context("message")) -> None:
        await deadletters.keep(store, message.raw_message)


class EventLogService(StackedService):
    """The event log as `crisis up` runs it: a broker, a store, a recorder."""

    name = "eventlog"

    def __init__(self, settings: Settings, store: EventStore | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.broker: NatsBroker | None = None
        self.recorder: Recorder | None = None

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Open the store and begin consuming."""
        self.store = store_for(stack, self.store, self.settings.database_url)
        self.recorder = Recorder(self.store, max_deliver=self.settings.eventlog_max_deliver)
        self.broker = broker = service_broker(nats_url, self.name)
        register(broker, self.recorder, self.settings)
        register_deadletters(broker, self.store)
        stack.push_async_callback(self._drain, broker, self.recorder)
        await broker.start()

    async def _drain(self, broker: NatsBroker, recorder: Recorder) -> None:
        """Stop fetching, let the batch in flight commit and ack, then disconnect."""
        for subscriber in broker.subscribers:
            await subscriber.stop()
        await recorder.drain()
        await broker.stop()
        self.broker = None
