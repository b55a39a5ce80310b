"""Pictures kept in memory by a service that decides from them (the cell, the plans).

An ordered consumer folds every live event from the start of the stream; a service that has just
published waits until its own events are folded before it decides again, so that two acts in a
row see each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import orjson
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from schemas import subjects
from schemas.registry import DecodeError
from services.picture.fold import Picture, fold, new_picture
from services.picture.snapshots import wire_event
from services.runtime.bus import connect
from services.runtime.streams import instant_text
from services.runtime.topology import CRISIS_STREAM

log = structlog.get_logger(__name__)

Listener = Callable[[Picture, dict[str, object]], Awaitable[None]]


class PictureFollower:
    """Every crisis' picture, folded from the stream as it grows."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.pictures: dict[str, Picture] = {}
        self.position = 0
        # Every service of the process that reacts to the picture (plans, console) listens here.
        self.listeners: list[Listener] = []
        self._moved = asyncio.Condition()
        self._subscription: JetStreamContext.PushSubscription | None = None

    async def start(self, *, catch_up_timeout_s: float = 60.0) -> None:
        """Follow the stream from its start and return once what it held at start is folded."""
        info = await self.js.stream_info(CRISIS_STREAM)
        last = info.state.last_seq
        self._subscription = await self.js.subscribe(
            subjects.LIVE_ALL,
            stream=CRISIS_STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
            cb=self._folded,
        )
        await self.wait_for(last, timeout_s=catch_up_timeout_s)

    async def _folded(self, msg: Msg) -> None:
        meta = msg.metadata
        try:
            # Through the registry, as the picture service decodes: older versions upcast.
            event = wire_event(msg.data)
            crisis_id = event["crisis_id"]
        except (orjson.JSONDecodeError, KeyError, TypeError, DecodeError):
            log.warning("follower.undecodable", position=meta.sequence.stream)
        else:
            picture = self.pictures.get(crisis_id) or new_picture(crisis_id)
            self.pictures[crisis_id] = picture
            fold(picture, event, meta.sequence.stream, instant_text(meta.timestamp))
            for listener in list(self.listeners):
                try:
                    await listener(picture, event)
                except Exception:
                    # at its next event, and a waiting act must not hang on a listener's fault)
                    log.exception("follower.listener_failed", position=meta.sequence.stream)
        async with self._moved:
            self.position = max(self.position, meta.sequence.stream)
            self._moved.notify_all()

    async def wait_for(self, position: int, *, timeout_s: float = 10.0) -> None:
        """Return once the event at `position` (and all before it) is folded."""
        async with self._moved:
            await asyncio.wait_for(
                self._moved.wait_for(lambda: self.position >= position), timeout_s
            )

    def listen(self, listener: Listener) -> None:
        """Call `listener` after each event folded from now on."""
        self.listeners.append(listener)

    def forget(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    def picture(self, crisis_id: str) -> Picture | None:
        """The picture of a crisis, if any of its events has been seen."""
        return self.pictures.get(crisis_id)

    async def stop(self) -> None:
        """Stop following."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None


class SharedPicture:
    """One follower for every service of a process that decides from the picture.

    `crisis up` runs the cell, the plans and the console in one process: they read the same
    folded pictures instead of folding the whole stream once each. The first service that asks
    starts it, caught up with the stream, on a connection of its own made with that service's
    credential; it stops when the last service that asked has let go.
    """

    def __init__(self) -> None:
        self._follower: PictureFollower | None = None
        self._stack = AsyncExitStack()
        self._users = 0
        self._lock = asyncio.Lock()

    async def acquire(self, nats_url: str) -> PictureFollower:
        """The process' follower, started if it is not yet."""
        async with self._lock:
            if self._follower is None:
                bus = await self._stack.enter_async_context(
                    connect(nats_url, name="crisis-picture-shared")
                )
                follower = PictureFollower(bus.js)
                try:
                    await follower.start()
                except BaseException:
                    await self._stack.aclose()
                    raise
                self._stack.push_async_callback(follower.stop)
                self._follower = follower
            self._users += 1
            return self._follower

    async def release(self) -> None:
        """One service no longer needs it; the last one stops it and its connection."""
        async with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0 and self._follower is not None:
                self._follower = None
                await self._stack.aclose()
