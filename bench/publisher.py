"""The publisher process: `python -m bench.publisher --url URL --events N --mode raw|event`.

Builds its events first, says `ready`, waits for `go` on stdin, publishes with at most
`--concurrency` publishes awaiting their JetStream ack, then prints one JSON line: the shared
clock at the first publish and at the last ack, and the CPU time publishing took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from nats.js import JetStreamContext

from bench.clock import now
from bench.workload import Message, events, messages
from schemas.envelope import Envelope
from services.runtime.bus import connect
from services.runtime.logging import configure_logging
from services.runtime.publish import publish_event

T = TypeVar("T")


async def pipelined(
    items: Iterable[T], send: Callable[[T], Awaitable[bool]], concurrency: int
) -> int:
    """Send every item with `concurrency` sends in flight; return how many were duplicates."""
    pending = iter(items)
    duplicates = 0

    # Each worker awaits one ack at a time: `concurrency` workers bound what is in flight.
    async def worker() -> None:
        nonlocal duplicates
        for item in pending:
            duplicates += await send(item)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return duplicates


def raw_sender(js: JetStreamContext) -> Callable[[Message], Awaitable[bool]]:
    """Publish pre-encoded bytes with the event's headers, as the baseline does."""

    async def send(message: Message) -> bool:
        ack = await js.publish(message.subject, message.payload, headers=message.headers)
        return bool(ack.duplicate)

    return send


def event_sender(js: JetStreamContext) -> Callable[[Envelope], Awaitable[bool]]:
    """Publish through `publish_event`, as every service does."""

    async def send(event: Envelope) -> bool:
        return (await publish_event(js, event)).duplicate

    return send


def prepare(
    mode: str, count: int, concurrency: int
) -> Callable[[JetStreamContext], Awaitable[int]]:
    """Build the events now (untimed); return what publishes them all on a JetStream context."""
    if mode == "raw":
        encoded = messages(count)
        return lambda js: pipelined(encoded, raw_sender(js), concurrency)
    built = list(events(count))
    return lambda js: pipelined(built, event_sender(js), concurrency)


async def main(url: str, count: int, mode: str, concurrency: int) -> None:
    """Build, wait for go, publish, report."""
    configure_logging("WARNING", "json")
    publish_all = prepare(mode, count, concurrency)
    async with connect(url, name=f"bench-publisher-{mode}") as bus:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        first, cpu = now(), time.process_time()
        duplicates = await publish_all(bus.js)
        last, cpu = now(), time.process_time() - cpu
    report = {
        "first_publish": first,
        "last_ack": last,
        "published": count,
        "duplicates": duplicates,
        "cpu": cpu,
    }
    print(json.dumps(report), flush=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.publisher")
    parser.add_argument("--url", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--mode", choices=("raw", "event"), required=True)
    parser.add_argument("--concurrency", type=int, default=512)
    return parser.parse_args()


if __name__ == "__main__":
    args = _arguments()
    asyncio.run(main(args.url, args.events, args.mode, args.concurrency))
