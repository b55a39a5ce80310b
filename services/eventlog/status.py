"""Consumer lag: how far the event log is behind the stream."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.eventlog.store import EventStore
from services.runtime.topology import CRISIS_STREAM, EVENTLOG_DURABLE


@dataclass(frozen=True, slots=True)
class LogStatus:
    """The stream, the consumer and the log, side by side."""

    stream_last_seq: int
    stream_messages: int
    consumer_exists: bool
    pending: int
    ack_pending: int
    redelivered: int
    delivered_seq: int
    ack_floor_seq: int
    log_last_position: int
    log_events: int
    rejected: int

    @property
    def lag(self) -> int:
        """Messages in the stream that the log has not yet acknowledged."""
        return self.pending + self.ack_pending


async def log_status(js: JetStreamContext, store: EventStore) -> LogStatus:
    """Read the stream and consumer state from NATS and the log's state from the database."""
    stream = await js.stream_info(CRISIS_STREAM)
    try:
        consumer = await js.consumer_info(CRISIS_STREAM, EVENTLOG_DURABLE)
    except NotFoundError:
        consumer = None
    return LogStatus(
        stream_last_seq=stream.state.last_seq,
        stream_messages=stream.state.messages,
        consumer_exists=consumer is not None,
        pending=consumer.num_pending or 0 if consumer else stream.state.messages,
        ack_pending=consumer.num_ack_pending or 0 if consumer else 0,
        redelivered=consumer.num_redelivered or 0 if consumer else 0,
        delivered_seq=consumer.delivered.stream_seq or 0 if consumer and consumer.delivered else 0,
        ack_floor_seq=consumer.ack_floor.stream_seq or 0 if consumer and consumer.ack_floor else 0,
        log_last_position=await store.last_position(),
        log_events=await store.count(),
        rejected=await store.count_rejected(),
    )
