"""The live pictures: folded as events arrive, snapshotted on the way, pushed to live clients."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from services.eventlog.store import EventStore
from services.picture.fold import FOLDS, Event, Picture, Section
from services.picture.snapshots import EncodedSnapshot, PictureEncoder, SnapshotStore
from services.picture.views import Pictures, fold_any

log = structlog.get_logger(__name__)

_HEADER: Final = (
    "crisis_id",
    "name",
    "kind",
    "departement",
    "nature",
    "state",
    "exercise",
    "opened",
)


def change_of(picture: Picture, event: Event) -> dict[str, object]:
    """What a live client is sent for one folded event: the part of the picture it changed."""
    # Every catalogue type has its section (a test says so); an unknown one shows the header.
    section: Section = "crisis"
    key_field: str | None = None
    known = FOLDS.get(event["type"])
    if known is not None:
        section, key_field = known.section, known.key_field
    key = event.get(key_field) if key_field else None
    # Any section, by its name (the fold's table names them).
    sections: Mapping[str, object] = picture
    value: object
    if section == "crisis":
        value = {name: picture[name] for name in _HEADER}
    elif section == "main_courante":
        value = picture["main_courante"]["latest"][-1]
    elif key is not None:
        keyed = sections.get(section)
        # Drafts are keyed by their number as text.
        value = keyed.get(key, keyed.get(str(key))) if isinstance(keyed, dict) else None
    else:
        value = sections.get(section)
    if section == "resources":
        value = {"resource": value, "engaged_by_service": picture["engaged_by_service"]}
    return {
        "crisis_id": picture["crisis_id"],
        "position": picture["position"],
        "recorded_at": picture["recorded_at"],
        "occurred_at": event["occurred_at"],
        "type": event["type"],
        "event_id": event["event_id"],
        "exercise": picture["exercise"],
        "section": section,
        "key": key,
        "value": value,
    }


class SnapshotWriter:
    """Writes the snapshots the live fold hands over, one after the other, off its path.

    `submit` returns at once; a task compresses (in a thread) and writes. Snapshots are derived
    data: one that is dropped (past the backlog) or fails to write is logged and `lost` is told
    its crisis, so that the snapshot at shutdown makes it up.
    """

    def __init__(
        self,
        snapshots: SnapshotStore,
        *,
        backlog: int = 16,
        lost: Callable[[str], None] = lambda _crisis_id: None,
    ) -> None:
        self.snapshots = snapshots
        self.backlog = backlog
        self.lost = lost
        self._queue: asyncio.Queue[EncodedSnapshot] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def submit(self, snapshot: EncodedSnapshot) -> None:
        """Queue `snapshot` to be written; past the backlog the oldest waiting one is dropped."""
        if self._queue.qsize() >= self.backlog:
            dropped = self._queue.get_nowait()
            self._queue.task_done()
            log.warning("picture.snapshot_dropped", crisis_id=dropped.crisis_id)
            self.lost(dropped.crisis_id)
        self._queue.put_nowait(snapshot)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write_all(), name="picture-snapshots")

    async def _write_all(self) -> None:
        while True:
            snapshot = await self._queue.get()
            try:
                await self.snapshots.write(snapshot)
            except Exception:
                log.exception(
                    "picture.snapshot_failed",
                    crisis_id=snapshot.crisis_id,
                    position=snapshot.position,
                )
                self.lost(snapshot.crisis_id)
            finally:
                self._queue.task_done()

    async def flush(self) -> None:
        """Wait until every snapshot submitted is written (or has failed)."""
        await self._queue.join()

    async def close(self) -> None:
        """Write what is waiting, then stop the writing task."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


@dataclass
class LivePictures:
    """Every crisis' picture, kept up to date from the stream."""

    snapshots: SnapshotStore
    snapshot_every: int = 5000
    recent_ids: int = 100_000
    pictures: Pictures = field(default_factory=dict)
    _recent: set[str] = field(default_factory=set)
    _recent_order: deque[str] = field(default_factory=deque)
    _listeners: list[tuple[str | None, asyncio.Queue[dict[str, Any] | None]]] = field(
        default_factory=list
    )
    _dirty: set[str] = field(default_factory=set)
    _encoders: dict[str, PictureEncoder] = field(default_factory=dict)
    writer: SnapshotWriter = field(init=False)
    started_from: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.writer = SnapshotWriter(self.snapshots, lost=self._lost)

    async def resume(self, store: EventStore) -> int:
        """Load each crisis' last snapshot; return the stream position to resume from."""
        crises = await store.crises()
        for crisis in crises:
            snapshot = await self.snapshots.latest(crisis.crisis_id)
            if snapshot is not None:
                self.pictures[crisis.crisis_id] = snapshot
                # Its first encoding is all of it: done now, not at its first snapshot.
                self._encoder(crisis.crisis_id).prime(snapshot)
        known: list[int] = [
            self.pictures.get(c.crisis_id, {"position": 0})["position"] for c in crises
        ]
        # Past what the log holds, the stream may have crises the log does not know yet: they
        # are folded from there (a crisis with no snapshot, from its first event).
        start = self.started_from = min([*known, await store.last_position()]) + 1
        log.info("picture.resumed", crises=len(crises), snapshots=len(self.pictures), start=start)
        return start

    async def apply(self, event: Event, position: int, recorded_at: str) -> dict[str, Any] | None:
        """Fold one event from the stream; the change to push, or None if nothing changed."""
        event_id: str = event["event_id"]
        picture = self.pictures.get(event["crisis_id"])
        if picture is not None and position <= picture["position"]:
            return None
        if event_id in self._recent:
            # The same event published again after JetStream's duplicate window: the log keeps
            # it once, and so does the picture.
            return None
        self._remember(event_id)
        picture = fold_any(self.pictures, event, position, recorded_at)
        encoder = self._encoder(picture["crisis_id"])
        encoder.touched(event)
        change = change_of(picture, event)
        self._dirty.add(picture["crisis_id"])
        for crisis_id, queue in list(self._listeners):
            if crisis_id in (None, picture["crisis_id"]):
                try:
                    queue.put_nowait(change)
                except asyncio.QueueFull:
                    # A client that stopped reading is dropped, never waited for: it reconnects.
                    log.warning("picture.listener_dropped", crisis_id=crisis_id)
                    self.forget(queue)
        if self.snapshot_every and picture["events"] % self.snapshot_every == 0:
            # Encoded here (only what changed since the last one), compressed and written by
            # the writer's task: the fold and the live clients do not wait for either.
            self.writer.submit(encoder.encode(picture))
            self._dirty.discard(picture["crisis_id"])
        return change

    def _lost(self, crisis_id: str) -> None:
        """A snapshot of `crisis_id` was not written: the next one is whole (the partial ones
        complete the last whole one, which may be the one lost), and one is made at shutdown."""
        self._dirty.add(crisis_id)
        self._encoder(crisis_id).forget_base()

    def _encoder(self, crisis_id: str) -> PictureEncoder:
        encoder = self._encoders.get(crisis_id)
        if encoder is None:
            encoder = self._encoders[crisis_id] = PictureEncoder()
        return encoder

    def _remember(self, event_id: str) -> None:
        self._recent.add(event_id)
        self._recent_order.append(event_id)
        if len(self._recent_order) > self.recent_ids:
            self._recent.discard(self._recent_order.popleft())

    async def checkpoint(self) -> None:
        """Snapshot every picture changed since its last snapshot, and write all (at shutdown)."""
        await self.writer.close()
        # Written here, not queued: the backlog's limit must not drop a crisis' last snapshot.
        for crisis_id in sorted(self._dirty):
            await self.snapshots.write(self._encoder(crisis_id).encode(self.pictures[crisis_id]))
        self._dirty.clear()

    def listen(self, crisis_id: str | None) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue receiving every change (of one crisis, or of all); None means: stream ends."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=10_000)
        self._listeners.append((crisis_id, queue))
        return queue

    def close(self) -> None:
        """End every live stream (at shutdown): each listener gets its end marker."""
        for _, queue in self._listeners:
            try:
                queue.put_nowait(None)
            except asyncio.QueueFull:
                continue
        self._listeners = []

    def listening(self, queue: asyncio.Queue[dict[str, Any] | None]) -> bool:
        """Whether `queue` still receives changes."""
        return any(q is queue for _, q in self._listeners)

    def forget(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Stop sending changes to `queue`."""
        self._listeners = [(c, q) for c, q in self._listeners if q is not queue]
