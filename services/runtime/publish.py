"""The one way every service puts an event on the bus: acknowledged by JetStream, deduplicated."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from schemas import subjects
from schemas.envelope import Envelope
from schemas.wire import encode

log = structlog.get_logger(__name__)

# Header names. `Nats-Msg-Id` is the event id, and the one JetStream deduplicates on. Headers are
# kept few on purpose: every subscriber's client parses each of them on every message.
MSG_ID = "Nats-Msg-Id"
H_TYPE = "Crisis-Event-Type"
H_CRISIS = "Crisis-Id"

# Failures after which the same message may succeed: the server or stream leader is not there yet.
_RETRYABLE = (
    NatsTimeoutError,
    NoRespondersError,
    NoStreamResponseError,
    ServiceUnavailableError,
    asyncio.TimeoutError,
)


class PublishError(RuntimeError):
    """JetStream did not acknowledge an event after every attempt."""

    def __init__(self, event: Envelope, subject: str, attempts: int, cause: BaseException) -> None:
        super().__init__(
            f"event {event.event_id} ({event.type}) was not acknowledged on {subject} after "
            f"{attempts} attempts: {type(cause).__name__}: {cause or 'no answer'}"
        )
        self.event_id = event.event_id
        self.subject = subject
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class Published:
    """Where JetStream stored an event; `duplicate` when it already held that event id."""

    stream: str
    seq: int
    duplicate: bool


def headers_for(event: Envelope) -> dict[str, str]:
    """The headers every event carries on the bus."""
    return {MSG_ID: str(event.event_id), H_TYPE: event.type, H_CRISIS: event.crisis_id}


async def publish_event(
    js: JetStreamContext,
    event: Envelope,
    *,
    subject: str | None = None,
    timeout: float = 2.0,
    attempts: int = 10,
    backoff: float = 0.2,
) -> Published:
    """Publish `event` and wait for JetStream's ack, retrying with the same id until it comes."""
    subject = subject or subjects.live(event.crisis_id, event.type)
    payload = encode(event)
    headers = headers_for(event)
    last: BaseException | None = None
    for attempt in range(1, attempts + 1):
        try:
            ack = await js.publish(subject, payload, timeout=timeout, headers=headers)
        except _RETRYABLE as exc:
            last = exc
            log.warning(
                "publish.retry",
                subject=subject,
                event_id=str(event.event_id),
                attempt=attempt,
                error=type(exc).__name__,
            )
            await asyncio.sleep(min(backoff * 2 ** (attempt - 1), 2.0))
            continue
        return Published(stream=ack.stream, seq=ack.seq, duplicate=bool(ack.duplicate))
    raise PublishError(event, subject, attempts, last or TimeoutError())
