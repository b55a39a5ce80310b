"""The event log service: a FastStream shell around the recorder.

One recorder writes a log: the service takes the log's recorder lock (`services.runtime.locks`)
before it consumes anything. A second one, on the same database, waits in standby and says every
`STANDBY_SAY_EVERY_S` seconds who holds the log; it takes over when that one stops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Literal, Protocol

import structlog
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
from services.runtime.locks import RecorderLock, recorder_lock
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

log = structlog.get_logger(__name__)

# A recorder in standby tries for the lock this often, and says who holds it this often.
STANDBY_POLL_S = 1.0
STANDBY_SAY_EVERY_S = 30.0

State = Literal["starting", "standby", "recording", "halted"]


class Stoppable(Protocol):
    """A subscriber, as the service stops it."""

    async def stop(self) -> None:
        """Stop fetching and handling."""


class BatchRecorder(Protocol):
    """What the subscriber hands each batch to: the Recorder, or a fake in wiring tests."""

    async def record(self, messages: Sequence[Msg], js: JetStreamContext) -> None:
        """Commit, then ack, the messages of one batch."""


def register(broker: NatsBroker, recorder: BatchRecorder, settings: Settings) -> Stoppable:
    """Subscribe the recorder to every live event, in batches, acking by hand after commit;
    the subscriber returned (stopping it stops the fetching)."""
    subscriber = broker.subscriber(
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

    @subscriber
    async def record(js: JsClient, message: NatsBatchMessage = Context("message")) -> None:
        await recorder.record(message.raw_message, js)

    return subscriber


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
    """The event log as `crisis up` runs it: a broker, a store, a recorder.

    `state` says where it stands: "standby" while another recorder holds the log, "recording",
    or "halted" (`problem` says why) once the recorder has stopped for good.
    """

    name = "eventlog"

    def __init__(self, settings: Settings, store: EventStore | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.broker: NatsBroker | None = None
        self.recorder: Recorder | None = None
        self.lock: RecorderLock | None = None
        self.state: State = "starting"
        self.problem: str | None = None
        self._recording: Stoppable | None = None

    @property
    def healthy(self) -> bool:
        """Recording, or waiting its turn; not halted."""
        return self.state != "halted"

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Open the store, and begin consuming once this is the log's one recorder."""
        self.store = store_for(stack, self.store, self.settings.database_url)
        self.lock = lock = recorder_lock(self.store.engine)
        stack.push_async_callback(lock.release)
        self.recorder = Recorder(
            self.store,
            max_deliver=self.settings.eventlog_max_deliver,
            lock=lock,
            on_halt=self._halted,
        )
        self.broker = broker = service_broker(nats_url, self.name)
        self._recording = register(broker, self.recorder, self.settings)
        register_deadletters(broker, self.store)
        stack.push_async_callback(self._drain, broker, self.recorder)
        if await lock.acquire():
            await self._begin(broker)
            return
        self.state = "standby"
        self.background(stack, self._standby(lock, broker), name="eventlog-standby")

    async def _begin(self, broker: NatsBroker) -> None:
        await broker.start()
        if self.state != "halted":
            self.state = "recording"

    async def _standby(self, lock: RecorderLock, broker: NatsBroker) -> None:
        """Wait for the lock, saying who holds it now and then, then begin consuming."""
        said = -STANDBY_SAY_EVERY_S
        while True:
            try:
                if await lock.acquire():
                    break
                if time.monotonic() - said >= STANDBY_SAY_EVERY_S:
                    said = time.monotonic()
                    log.warning(
                        "eventlog.standby",
                        log=lock.where,
                        held_by=await lock.holder(),
                        action="another recorder writes this log: this one waits, and takes "
                        "over when that one stops",
                    )
            except Exception:
                log.exception("eventlog.standby_check_failed", log=lock.where)
            await asyncio.sleep(STANDBY_POLL_S)
        log.info("eventlog.took_over", log=lock.where)
        await self._begin(broker)

    def _halted(self, reason: str) -> None:
        """The recorder stopped for good: stop fetching, so nothing is delivered to it again."""
        self.state, self.problem = "halted", reason
        if self._recording is not None:
            self.background(self._stack, self._recording.stop(), name="eventlog-halt")

    async def _drain(self, broker: NatsBroker, recorder: Recorder) -> None:
        """Stop fetching, let the batch in flight commit and ack, then disconnect."""
        for subscriber in broker.subscribers:
            await subscriber.stop()
        await recorder.drain()
        await broker.stop()
        self.broker = None
