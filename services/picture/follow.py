"""The process' one picture: resumed from the snapshots, then folded live from the stream.

The picture service serves it, the cell decides from it, the plans evaluate their rules on it
and the console shows it. In one process (`crisis up`) they all read the same `LivePictures`,
folded by one ordered consumer; a service run alone (`crisis service cell`) has its own. Either
way start-up loads each crisis' last snapshot and folds only the events after it.

A service that has just published waits until its own events are folded before it decides
again, so that two acts in a row see each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import orjson
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from schemas import subjects
from schemas.registry import DecodeError
from services.eventlog.store import EventStore, store_for
from services.picture.fold import Event, Picture
from services.picture.live import LivePictures
from services.picture.snapshots import BUDGET_BYTES, SnapshotStore, wire_event
from services.runtime.bus import connect
from services.runtime.settings import Settings
from services.runtime.streams import delivery_point, instant_text
from services.runtime.topology import CRISIS_STREAM

log = structlog.get_logger(__name__)

Listener = Callable[[Picture, Event], Awaitable[None]]
# The picture's connection rests this long after reading all that had arrived: one wake-up per
# few events at 1,000 events/s rather than one per event (services.runtime.bus.PacedParser).
READ_PAUSE_S = 0.005


def stream_point(msg: Msg) -> tuple[int, str]:
    """A delivered event's stream position and stream time (as `instant_text` writes it)."""
    position, moment, _ = delivery_point(msg)
    return position, instant_text(moment)


class PictureFollower:
    """Every crisis' picture, kept by `live` and folded from the stream as it grows.

    Ordered: pushed in stream order with no acks to wait for, which keeps the delay to live
    clients short. Nothing is lost by not acking: the picture resumes from its snapshots and the
    stream. Not a FastStream subscriber: its dispatch cost 4.3 times the CPU per event of this
    callback, in the same run (bench/results-picture-dispatch.md).
    """

    def __init__(self, js: JetStreamContext, live: LivePictures) -> None:
        self.js = js
        self.live = live
        self.position = 0
        # The services of the process that react to each event (plans, console) listen here.
        self.listeners: list[Listener] = []
        # Who waits for a position, and the future that tells them it is folded.
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._subscription: JetStreamContext.PushSubscription | None = None

    @property
    def pictures(self) -> dict[str, Picture]:
        """Every crisis' picture, by crisis id."""
        return self.live.pictures

    async def start(self, store: EventStore, *, catch_up_timeout_s: float = 60.0) -> None:
        """Resume from the snapshots, follow the stream, and return once caught up with it."""
        start = await self.live.resume(store)
        info = await self.js.stream_info(CRISIS_STREAM)
        self.position = start - 1
        self._subscription = await self.js.subscribe(
            subjects.LIVE_ALL,
            stream=CRISIS_STREAM,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            ),
            cb=self.fold_message,
        )
        await self.wait_for(info.state.last_seq, timeout_s=catch_up_timeout_s)

    async def fold_message(self, msg: Msg) -> None:
        """Fold one delivered live event, tell the listeners, and move the position."""
        position, recorded_at = stream_point(msg)
        try:
            # Through the registry: older versions are upcast, as everywhere.
            event = wire_event(msg.data)
        except (orjson.JSONDecodeError, KeyError, TypeError, DecodeError):
            log.warning("picture.undecodable", position=position)
        else:
            try:
                change = await self.live.apply(event, position, recorded_at)
            except Exception:
                # A fault of the fold, not of the event (validated when published): the stream
                # and the log keep it, the live picture misses it. Logged with its position, and
                # the position still moves: an act waiting for it must not hang on the fault.
                log.exception("picture.fold_failed", position=position, type=event.get("type"))
                change = None
            if change is not None:
                picture = self.live.pictures[event["crisis_id"]]
                for listener in list(self.listeners):
                    try:
                        await listener(picture, event)
                    except Exception:
                        # Logged, not raised: the listener sees the picture again at the next
                        # event, and a waiting act must not hang on a listener's fault.
                        log.exception("follower.listener_failed", position=position)
        if position > self.position:
            self.position = position
            if self._waiters:
                self._wake()

    def _wake(self) -> None:
        waiting = []
        for wanted, future in self._waiters:
            if wanted <= self.position:
                if not future.done():
                    future.set_result(None)
            elif not future.done():
                waiting.append((wanted, future))
        self._waiters = waiting

    async def wait_for(self, position: int, *, timeout_s: float = 10.0) -> None:
        """Return once the event at `position` (and all before it) is folded."""
        if self.position >= position:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((position, future))
        try:
            await asyncio.wait_for(future, timeout_s)
        finally:
            # Gone at once, not at the next event: a stream that has stopped keeps no waiters.
            self._waiters = [waiter for waiter in self._waiters if waiter[1] is not future]

    def listen(self, listener: Listener) -> None:
        """Call `listener` after each event folded from now on."""
        self.listeners.append(listener)

    def forget(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    def picture(self, crisis_id: str) -> Picture | None:
        """The picture of a crisis, if any of its events has been seen."""
        return self.live.pictures.get(crisis_id)

    async def stop(self) -> None:
        """Stop following."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None


class SharedPicture:
    """The picture of one process, for every service in it that reads the picture.

    The first service that asks starts it on a connection made with that service's credential
    (in `crisis up`, the picture service's); it stops when the last one has let go, after a
    snapshot of what changed. Only a process that runs the picture service writes snapshots
    (`writes_snapshots`: every `snapshot_every` events of a crisis, if not 0, and at the end);
    the cell run alone reads them and writes none.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        snapshot_every: int = 0,
        writes_snapshots: bool = False,
        budget_bytes: int = BUDGET_BYTES,
    ) -> None:
        self.store = store
        self.snapshot_every = snapshot_every if writes_snapshots else 0
        self.writes_snapshots = writes_snapshots
        self.snapshots = SnapshotStore(store.engine, budget_bytes=budget_bytes)
        self._follower: PictureFollower | None = None
        self._stack = AsyncExitStack()
        self._users = 0
        self._lock = asyncio.Lock()

    @classmethod
    def configured(
        cls, store: EventStore, settings: Settings, *, writes_snapshots: bool
    ) -> SharedPicture:
        """The process' picture as the settings have it: snapshot cadence and budget."""
        return cls(
            store,
            snapshot_every=settings.picture_snapshot_every,
            writes_snapshots=writes_snapshots,
            budget_bytes=settings.picture_snapshot_budget_mb * 1024 * 1024,
        )

    async def acquire(self, nats_url: str) -> PictureFollower:
        """The process' follower, started (resumed and caught up) if it is not yet."""
        async with self._lock:
            if self._follower is None:
                self._follower = await self._start(nats_url)
            self._users += 1
            return self._follower

    async def _start(self, nats_url: str) -> PictureFollower:
        stack = self._stack
        try:
            bus = await stack.enter_async_context(
                connect(nats_url, name="crisis-picture", read_pause_s=READ_PAUSE_S)
            )
            live = LivePictures(self.snapshots, snapshot_every=self.snapshot_every)
            if self.writes_snapshots:
                stack.push_async_callback(live.checkpoint)
            stack.callback(live.close)
            follower = PictureFollower(bus.js, live)
            stack.push_async_callback(follower.stop)
            await follower.start(self.store)
        except BaseException:
            await self._close()
            raise
        return follower

    async def release(self) -> None:
        """One service no longer needs it; the last one stops it and its connection."""
        async with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0 and self._follower is not None:
                await self._close()

    async def _close(self) -> None:
        self._follower = None
        stack, self._stack = self._stack, AsyncExitStack()
        await stack.aclose()


async def followed(
    stack: AsyncExitStack, nats_url: str, shared: SharedPicture | None, database_url: str
) -> PictureFollower:
    """The follower a service reads the picture from, let go of when `stack` closes.

    `shared` is the process' picture (from the composition root); a service built without one
    (alone, in a test) gets a picture and a store of its own.
    """
    if shared is None:
        shared = SharedPicture(store_for(stack, None, database_url))
    follower = await shared.acquire(nats_url)
    stack.push_async_callback(shared.release)
    return follower
