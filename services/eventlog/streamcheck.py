"""The log against the stream: does each position the log holds hold the same event on the bus?

The hash chain (`archive.verify_log`) proves the log was not changed after it was written; it
cannot tell that the log was written from another stream than the one the bus holds now (two
systems on one store, or a stream made anew under an old log), since each side is intact on its
own. This compares the two where both still hold a position, by event id (the `Nats-Msg-Id`
every event is published with), reading only the stream's headers:

- a position the log holds with another event than the stream's: diverged;
- the log holding positions past the stream's last one: diverged (the stream was made anew, or
  is another system's);
- a live event the stream holds at or below the log's last position, that the log holds
  nowhere and did not refuse: missing from the log (or not yet: the recorder is retrying it).

Positions the stream no longer holds (purged, past its limits, archived) cannot be compared:
they are counted as unchecked. Events published without a `Nats-Msg-Id` are unchecked too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from schemas import subjects
from services.eventlog.store import EventStore
from services.runtime.publish import MSG_ID
from services.runtime.streams import delivery_point
from services.runtime.topology import CRISIS_STREAM

BATCH = 2000
# Faults listed before the rest are only counted.
LISTED = 20

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class StreamMismatch:
    """One position where the log and the stream disagree."""

    position: int
    problem: str


@dataclass(slots=True)
class StreamComparison:
    """What comparing the log with the stream found."""

    compared: int = 0
    unchecked: int = 0
    mismatches: list[StreamMismatch] = field(default_factory=list)
    more: int = 0

    @property
    def agrees(self) -> bool:
        """Whether no position disagrees."""
        return not self.mismatches

    def add(self, position: int, problem: str) -> None:
        """Note a disagreement (the first `LISTED` in words, the rest counted)."""
        if len(self.mismatches) < LISTED:
            self.mismatches.append(StreamMismatch(position, problem))
        else:
            self.more += 1


async def compare_with_stream(
    store: EventStore, js: JetStreamContext, *, progress: Progress = _no_progress
) -> StreamComparison:
    """Compare every position both the log and the CRISIS stream hold (see the module)."""
    result = StreamComparison()
    state = (await js.stream_info(CRISIS_STREAM)).state
    first, last = state.first_seq, state.last_seq
    held_until = await store.last_position()
    if held_until > last:
        result.add(
            last + 1,
            f"the log holds positions up to {held_until} but the stream ends at {last}: the "
            "stream was made anew, or belongs to another system, since this log was written",
        )
    until = min(held_until, last)
    if until < first or state.messages == 0:
        result.unchecked = await store.count()
        return result
    result.unchecked = await _count_below(store, first)
    stream = _stream_ids(js, first, until)
    pending: dict[int, str | None] = {}
    async for rows in store.event_ids_between(first - 1, until):
        top = rows[-1][0]
        while not pending or max(pending) < top:
            chunk = await anext(stream, None)
            if chunk is None:
                break
            pending.update(chunk)
        await _compare(store, rows, pending, result)
        progress(len(rows))
    # What the stream holds past the last position the log read, up to `until`.
    async for chunk in stream:
        pending.update(chunk)
    await _missing(store, pending, result)
    return result


async def _count_below(store: EventStore, first: int) -> int:
    count = 0
    async for rows in store.event_ids_between(0, first - 1):
        count += len(rows)
    return count


async def _compare(
    store: EventStore,
    rows: list[tuple[int, UUID]],
    pending: dict[int, str | None],
    result: StreamComparison,
) -> None:
    """Check the log's `rows` against the stream's ids; what the stream has between them that
    the log lacks is looked for too."""
    top = rows[-1][0]
    for position, event_id in rows:
        if position not in pending:
            result.unchecked += 1  # the stream no longer holds it
            continue
        there = pending.pop(position)
        if there is None:
            result.unchecked += 1
            continue
        result.compared += 1
        if there != str(event_id):
            result.add(
                position,
                f"the log holds event {event_id} at position {position}, the stream holds "
                f"event {there} there: the stream and the log have diverged",
            )
    await _missing(store, {p: i for p, i in pending.items() if p <= top}, result)
    for position in [p for p in pending if p <= top]:
        del pending[position]


async def _missing(
    store: EventStore, stream_only: dict[int, str | None], result: StreamComparison
) -> None:
    """Stream positions the log does not hold: fine when the log holds their event elsewhere
    (a duplicate) or refused it; otherwise missing."""
    ids = {p: i for p, i in stream_only.items() if i is not None}
    if not ids:
        return
    as_uuids = {p: u for p, i in ids.items() if (u := _uuid(i)) is not None}
    known = await store.known_event_ids(as_uuids.values())
    refused = await store.rejected_positions(CRISIS_STREAM, ids)
    for position, there in sorted(ids.items()):
        if position in refused or as_uuids.get(position) in known:
            continue
        result.add(
            position,
            f"the stream holds event {there} at position {position} and the log does not "
            "(missing from the log, or still being retried by the recorder)",
        )


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


async def _stream_ids(
    js: JetStreamContext, first: int, until: int
) -> AsyncIterator[dict[int, str | None]]:
    """`{position: Nats-Msg-Id}` of the stream from `first` to `until`, a batch at a time,
    through a consumer of its own that delivers headers only."""
    sub = await js.pull_subscribe(
        subjects.LIVE_ALL,
        stream=CRISIS_STREAM,
        config=ConsumerConfig(
            headers_only=True,
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=first,
            mem_storage=True,
            inactive_threshold=30.0,
        ),
    )
    try:
        while True:
            try:
                messages = await sub.fetch(BATCH, timeout=2.0)
            except TimeoutError:
                return
            chunk: dict[int, str | None] = {}
            for msg in messages:
                position, _, _ = delivery_point(msg)
                if position <= until:
                    chunk[position] = (msg.headers or {}).get(MSG_ID)
            if chunk:
                yield chunk
            if not chunk or max(chunk) >= until:
                return
    finally:
        with suppress(NotFoundError):
            await sub.unsubscribe()
