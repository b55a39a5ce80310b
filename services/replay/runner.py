"""A replay running: events re-published under `replay.<session>.`, paced, paused, sought.

Never on live subjects: the REPLAY stream takes them, so a replay runs beside a live crisis
without touching it. Message ids are `replay-<session>-<event id>`: a replay resumed or run
twice in the same session publishes each event once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from schemas import subjects
from services.replay.core import Recorded, Timeline
from services.runtime.publish import MSG_ID

log = structlog.get_logger(__name__)

OnEvent = Callable[[int, Recorded], None]


class SeekError(ValueError):
    """A seek that cannot be done in this session."""


class Replay:
    """Publishes a timeline under a replay session, at a speed (None: as fast as it can)."""

    def __init__(
        self,
        js: JetStreamContext,
        timeline: Timeline,
        *,
        session: str,
        speed: float | None,
        on_event: OnEvent = lambda _i, _r: None,
    ) -> None:
        self.js = js
        self.timeline = timeline
        self.session = subjects.token(session, what="replay session")
        self.speed = speed
        self.on_event = on_event
        self.index = 0
        self.paused = False
        self._wake = asyncio.Event()
        self._skip_to: int | None = None

    @property
    def clock(self) -> datetime | None:
        """The replayed instant: when the last event replayed was recorded."""
        if self.index == 0:
            return self.timeline.start
        return self.timeline.instants[self.index - 1]

    def pause(self) -> None:
        """Hold the replay where it is."""
        self.paused = True
        self._wake.set()

    def resume(self) -> None:
        """Go on from where it was held."""
        self.paused = False
        self._wake.set()

    def seek(self, instant: datetime) -> int:
        """Jump to `instant`: the events before it are published at once. Forward only."""
        target = self.timeline.index_at(instant)
        if target < self.index:
            raise SeekError(
                "a replay only seeks forward (what was replayed stays replayed): start another "
                "replay session with --from to go back"
            )
        self._skip_to = target
        self._wake.set()
        return target

    async def run(self, stop: asyncio.Event) -> int:
        """Publish until the end or `stop`; the number of events published."""
        while self.index < len(self.timeline) and not stop.is_set():
            await self._wait_turn(stop)
            if stop.is_set():
                break
            await self._publish(self.index)
            self.index += 1
        return self.index

    async def _wait_turn(self, stop: asyncio.Event) -> None:
        delay = 0.0 if self.speed is None else self.timeline.delay(self.index, self.speed)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while not stop.is_set():
            if self._skip_to is not None:
                if self.index < self._skip_to:
                    return  # sought past it: published at once
                self._skip_to = None
            left = deadline - loop.time()
            if not self.paused and left <= 0:
                return
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            _done, pending = await asyncio.wait(
                waiters, timeout=None if self.paused else left, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()

    async def _publish(self, index: int) -> None:
        recorded = self.timeline.events[index]
        event = recorded.event
        subject = subjects.replay(self.session, event["crisis_id"], event["type"])
        await self.js.publish(
            subject,
            orjson.dumps(event),
            headers={MSG_ID: f"replay-{self.session}-{event['event_id']}"},
        )
        self.on_event(index, recorded)

    async def listen(self, nc: Client) -> None:
        """Take pause, resume and seek from `replayctl.<session>` (request-reply)."""

        async def control(msg: Msg) -> None:
            await msg.respond(orjson.dumps(self.command(orjson.loads(msg.data or b"{}"))))

        await nc.subscribe(subjects.replay_control(self.session), cb=control)

    def command(self, order: dict[str, str]) -> dict[str, object]:
        """Apply one control order; the answer says where the replay stands."""
        action = order.get("action")
        try:
            if action == "pause":
                self.pause()
            elif action == "resume":
                self.resume()
            elif action == "seek":
                self.seek(datetime.fromisoformat(order["to"]))
            else:
                return {"ok": False, "error": f"unknown action {action!r}: pause, resume, seek"}
        except (SeekError, KeyError, ValueError) as exc:
            return {"ok": False, "error": str(exc)}
        clock = self.clock.isoformat() if self.clock else None
        return {"ok": True, "paused": self.paused, "index": self.index, "clock": clock}
