"""Publishing at a steady rate and timing each event's arrival: the publisher, SSE, the floor.

The publisher sends events encoded beforehand, as `publish_event` would send them, those due at
each tick; each receiver records when each event id reached it, on this process' monotonic clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx
import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from bench import long_crisis
from bench.clock import now
from bench.report import Update
from schemas import subjects
from schemas.envelope import Envelope
from schemas.wire import encode
from services.runtime.publish import MSG_ID, headers_for

# At most every TICK_S the publisher sends the events then due: one sleep per batch, not per
# event.
TICK_S = 0.002
# After the last send, how long the stragglers are waited for before the run is cut short.
GRACE_S = 15.0


# -- the publisher: events encoded before the timed part, sent at each tick ----------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event as `publish_event` puts it on the bus."""

    event_id: str
    subject: str
    payload: bytes
    headers: dict[str, str]


def _outgoing(event: Envelope) -> Outgoing:
    subject = subjects.live(event.crisis_id, event.type)
    return Outgoing(str(event.event_id), subject, encode(event), headers_for(event))


def outgoing(crisis_id: str, count: int) -> list[Outgoing]:
    """The first `count` events of a long crisis (the generator's seed), encoded."""
    crisis = long_crisis.LongCrisis(crisis_id, count)
    return [_outgoing(crisis.envelope(position)) for position in range(1, count + 1)]


@dataclass(frozen=True, slots=True)
class Paced:
    """What the publisher did: its clock at the first and the last send, its acks, its lag."""

    first: float
    last: float
    # Acks that failed or did not come within GRACE_S.
    failed: int
    # The latest a batch went out after its first event was due.
    max_lag_s: float

    def rate(self, count: int) -> float:
        """Events sent per second."""
        return count / (self.last - self.first) if self.last > self.first else 0.0


async def publish_paced(
    js: JetStreamContext, messages: Sequence[Outgoing], rate: float, sent: dict[str, float]
) -> Paced:
    """Send `messages` at `rate` per second, those due at each tick; the acks are awaited last."""
    acks: list[asyncio.Future[PubAck]] = []
    index, lag = 0, 0.0
    first = now()
    while index < len(messages):
        clock = now()
        due = min(len(messages), int((clock - first) * rate) + 1)
        lag = max(lag, clock - first - index / rate)
        for message in messages[index:due]:
            sent[message.event_id] = now()
            acks.append(
                await js.publish_async(message.subject, message.payload, headers=message.headers)
            )
        index = due
        # Until the next event is due, but at least a tick: batches at high rates.
        await asyncio.sleep(max(TICK_S, first + index / rate - now()))
    last = now()
    done, late = await asyncio.wait(acks, timeout=GRACE_S)
    for ack in late:
        ack.cancel()
    failed = len(late) + sum(ack.cancelled() or ack.exception() is not None for ack in done)
    return Paced(first, last, failed, lag)


# -- the two receivers: the SSE client and the floor ---------------------------------------------


@dataclass(eq=False)
class Arrivals:
    """When each event reached one receiver, on this process' clock."""

    expected: int
    at: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event_id: str, at: float) -> None:
        """`event_id` arrived at `at`."""
        self.at[event_id] = at
        if len(self.at) >= self.expected:
            self.done.set()

    def delays_s(self, sent: dict[str, float]) -> list[float]:
        """Each arrival minus its send."""
        return [at - sent[event_id] for event_id, at in self.at.items()]


def floor_receiver(arrivals: Arrivals) -> Callable[[Msg], Awaitable[None]]:
    """The floor's callback: each message's arrival, by its `Nats-Msg-Id`, nothing decoded."""

    async def received(msg: Msg) -> None:
        arrivals.record((msg.headers or {}).get(MSG_ID, ""), now())

    return received


async def follow_sse(
    client: httpx.AsyncClient,
    path: str,
    arrivals: Arrivals,
    connected: asyncio.Event,
    update: Update,
) -> None:
    """Read an SSE stream until every change came; one clock reading per chunk read.

    `connected` is set at the first comment line (the stream's `: connected`).
    """
    pending = b""
    async with client.stream("GET", path) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            at, before = now(), len(arrivals.at)
            *messages, pending = (pending + chunk).split(b"\n\n")
            for message in messages:
                if message.startswith(b":"):
                    connected.set()
                    continue
                _, _, data = (b"\n" + message).partition(b"\ndata: ")
                arrivals.record(orjson.loads(data)["event_id"], at)
            if len(arrivals.at) // 500 > before // 500:
                update(len(arrivals.at))
            if arrivals.done.is_set():
                return
