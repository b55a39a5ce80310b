"""`python -m bench.picture_dispatch`: what FastStream's dispatch costs the picture service.

The same events, stored once in a fresh JetStream stream, are folded twice into fresh
`LivePictures` (no snapshots): once through the picture service's FastStream subscriber
(as the service followed before: `_faststream_follow` here), once through the plain nats-py
ordered consumer the service follows with now (`PictureFollower.fold_message`: decode through
the registry, fold, push). CPU seconds of this process
per event, for each, in the same run; and a third pass that only decodes, as the floor.
BENCH_DISPATCH_EVENTS sets how many (default 20,000).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker
from faststream.nats.message import NatsMessage
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from bench.machine import describe
from schemas import subjects
from services.picture.follow import PictureFollower
from services.picture.live import LivePictures
from services.picture.snapshots import wire_event
from services.runtime.bus import connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.logging import configure_logging
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.streams import instant_text, raw_body
from services.runtime.topology import CRISIS_STREAM, topology
from tests.unit.samples import incident_reported

RESULTS = Path(__file__).with_name("results-picture-dispatch.md")


def _faststream_follow(broker: NatsBroker, live: LivePictures) -> None:
    """The picture service's former FastStream subscriber: the same fold, FastStream's dispatch."""

    @broker.subscriber(
        subjects.LIVE_ALL,
        stream=JStream(CRISIS_STREAM, declare=False),
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
    )
    async def on_event(message: NatsMessage = Context("message")) -> None:
        raw: Msg = message.raw_message
        meta = raw.metadata
        event = wire_event(raw.data)
        await live.apply(event, meta.sequence.stream, instant_text(meta.timestamp))


class _NoSnapshots:
    async def write(self, _snapshot: object) -> None:
        """Nothing is kept: the fold alone is measured."""


async def _fill(url: str, settings: Settings, count: int) -> None:
    async with connect(url, plan=topology(settings)) as bus:
        pending = []
        for n in range(count):
            event = incident_reported(crisis_id="bench-dispatch", incident_id=f"inc-{n % 500}")
            pending.append(publish_event(bus.js, event))
            if len(pending) == 200:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)


async def _timed(count: int, run: Callable[[LivePictures], Awaitable[None]]) -> float:
    live = LivePictures(_NoSnapshots(), snapshot_every=0)  # type: ignore[arg-type]
    started = time.process_time()
    await run(live)
    spent = time.process_time() - started
    if live.pictures["bench-dispatch"]["position"] != count:
        raise RuntimeError("not every event was folded")
    return spent / count * 1e6


async def _until(live: LivePictures, count: int) -> None:
    # Polled, not awaited on an event: the benchmark must not add a listener to the path it times.
    while (picture := live.pictures.get("bench-dispatch")) is None or picture["position"] < count:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def main_async(folder: Path, count: int) -> dict[str, float]:
    """µs of CPU per event: FastStream, nats-py, decode only."""
    settings = Settings(_env_file=None, var_dir=folder / "var")  # type: ignore[call-arg]
    server = EmbeddedNatsServer(folder / "js", log_file=folder / "nats.log")
    url = await server.astart()
    try:
        await _fill(url, settings, count)

        async def through_faststream(live: LivePictures) -> None:
            broker = NatsBroker(url)
            _faststream_follow(broker, live)
            await broker.start()
            await _until(live, count)
            await broker.stop()

        async def through_nats_py(live: LivePictures) -> None:
            async with connect(url) as bus:
                sub = await bus.js.subscribe(
                    subjects.LIVE_ALL,
                    stream=CRISIS_STREAM,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL,
                    cb=PictureFollower(bus.js, live).fold_message,
                )
                await _until(live, count)
                await sub.unsubscribe()

        async def decode_only(live: LivePictures) -> None:
            async with connect(url) as bus:
                seen = 0
                done = asyncio.Event()

                async def decoded(msg: Msg) -> None:
                    nonlocal seen
                    wire_event(msg.data)
                    seen += 1
                    if seen == count:
                        done.set()

                sub = await bus.js.subscribe(
                    subjects.LIVE_ALL,
                    stream=CRISIS_STREAM,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL,
                    cb=decoded,
                )
                await done.wait()
                await sub.unsubscribe()
            live.pictures["bench-dispatch"] = {"position": count}

        return {
            "FastStream subscriber (the picture service today)": await _timed(
                count, through_faststream
            ),
            "plain nats-py ordered consumer, same fold": await _timed(count, through_nats_py),
            "decode only (nats-py, no fold): floor": await _timed(count, decode_only),
        }
    finally:
        await server.astop()


def main() -> None:
    """Run, print and write the results."""
    configure_logging("WARNING", "console")
    count = int(os.environ.get("BENCH_DISPATCH_EVENTS", "20000"))
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(main_async(Path(folder), count))
    base = results["plain nats-py ordered consumer, same fold"]
    lines = [
        "# The picture service's dispatch: FastStream against plain nats-py",
        "",
        f"`python -m bench.picture_dispatch`, {count:,} events, CPU of this process. Machine:",
        "",
        *(f"- {key}: {value}" for key, value in describe().items()),
        "",
        "| path | µs of CPU per event | ratio to nats-py |",
        "|---|--:|--:|",
        *(f"| {name} | {us:.0f} | {us / base:.2f} |" for name, us in results.items()),
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
