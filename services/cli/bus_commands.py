"""`crisis publish` and `crisis tail`: the bus from a terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from schemas import subjects
from schemas.envelope import Envelope
from schemas.registry import DecodeError
from schemas.wire import decode
from services.cli.credentials import Held, person_connection
from services.cli.render import one_line
from services.runtime.bus import connect
from services.runtime.publish import Published, publish_event
from services.runtime.settings import Settings
from services.runtime.topology import topology


def read_event(raw: bytes) -> Envelope:
    """Validate an event given as JSON; DecodeError names the failing field."""
    event = decode(raw)
    if event.recorded_at is not None:
        raise DecodeError("is set by the system when the event is stored", field="recorded_at")
    return event


async def publish_one(settings: Settings, url: str, event: Envelope) -> Published:
    """Publish one validated event and return where the stream stored it."""
    async with connect(url, name="crisis-publish", plan=topology(settings)) as bus:
        return await publish_event(
            bus.js, event, timeout=settings.publish_timeout_s, attempts=settings.publish_attempts
        )


@asynccontextmanager
async def _reader(url: str, person: Held | None) -> AsyncIterator[JetStreamContext]:
    if person is None:
        async with connect(url, name="crisis-tail") as bus:
            yield bus.js
        return
    async with person_connection(url, person.ident, token=person.token) as nc:
        yield nc.jetstream()


async def tail(
    url: str,
    *,
    crisis_id: str | None,
    from_start: bool,
    write: Callable[[str], None],
    stop: asyncio.Event | None = None,
    limit: int | None = None,
    person: Held | None = None,
) -> int:
    """Print live events one line each until `stop` is set or `limit` lines are written, read
    as `person` (their session) or with the credential in `url`."""
    stop = stop or asyncio.Event()
    count = 0
    async with _reader(url, person) as js:
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        sub = await js.subscribe(
            subjects.live_filter(crisis_id), ordered_consumer=True, deliver_policy=policy
        )
        try:
            while not stop.is_set() and (limit is None or count < limit):
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except TimeoutError:
                    continue
                meta = msg.metadata
                try:
                    event = decode(msg.data).with_recorded_at(meta.timestamp)
                    write(one_line(event, seq=meta.sequence.stream))
                except DecodeError as exc:
                    write(f"#{meta.sequence.stream} {msg.subject} undecodable: {exc}")
                count += 1
        finally:
            await sub.unsubscribe()
    return count


def stdout_line(line: str) -> None:
    """Write one line to standard output at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
