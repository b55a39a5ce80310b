"""The archive of a crisis: JSON Lines export and import, and verification of the hash chain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import orjson

from schemas.registry import DecodeError
from schemas.wire import REGISTRY
from services.eventlog.core import (
    ChainCursor,
    ChainFault,
    ChainHead,
    ChainLink,
    Decoded,
    Delivery,
    chain,
    first_of_each_id,
    verify_chain,
)
from services.eventlog.store import LAST_SEQ, CrisisLog, EventStore
from services.runtime.database import make_engine

VERIFY_CHUNK = 5000

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    return None


def export_line(position: int, payload: str) -> bytes:
    """One line of the archive: the stored event with its position first."""
    return b'{"position":%d,%s\n' % (position, payload[1:].encode())


async def export_log(
    store: EventStore,
    out: IO[bytes],
    *,
    crisis_id: str | None = None,
    progress: Progress = _no_progress,
) -> int:
    """Write the log (one crisis, or all) as JSON Lines in position order; return the count."""
    count = 0
    async for rows in store.read_payloads(crisis_id, chunk=5000):
        out.write(b"".join(export_line(position, payload) for position, payload in rows))
        count += len(rows)
        progress(len(rows))
    return count


class ArchiveError(ValueError):
    """A line of an archive that cannot be imported, with its line number."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


def parse_line(number: int, line: bytes) -> Decoded:
    """A line of the archive as the recorder would have seen it on the bus."""
    try:
        data: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ArchiveError(number, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ArchiveError(number, "not a JSON object")
    position = data.pop("position", None)
    if not isinstance(position, int) or position < 1:
        raise ArchiveError(number, "no valid position")
    try:
        event = REGISTRY.decode(data)
    except DecodeError as exc:
        raise ArchiveError(number, str(exc)) from None
    recorded_at = event.recorded_at
    if not isinstance(recorded_at, datetime):
        raise ArchiveError(number, "no recorded_at: not an exported log line")
    delivery = Delivery(position=position, recorded_at=recorded_at, subject="", data=line)
    return Decoded(delivery, event, orjson.dumps(data).decode())


def _chunks(lines: Iterable[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            chunk.append((number, line))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    read: int
    added: int
    already_held: int


async def import_log(
    store: EventStore,
    lines: Iterable[bytes],
    *,
    chunk: int = 1000,
    progress: Progress = _no_progress,
) -> ImportResult:
    """Load an exported log; events already held are skipped, so importing twice is harmless."""
    read = added = 0
    for batch in _chunks(lines, chunk):
        decoded = [parse_line(number, line) for number, line in batch]
        known = await store.known_event_ids(d.event.event_id for d in decoded)
        fresh = first_of_each_id(decoded, known)
        heads = await store.heads(d.event.crisis_id for d in fresh)
        records, _ = chain(fresh, heads)
        await store.append(records)
        read += len(decoded)
        added += len(records)
        progress(len(decoded))
    if added:
        # Without statistics PostgreSQL plans reads of a freshly loaded table as full sorts.
        await store.analyze()
    return ImportResult(read=read, added=added, already_held=read - added)


async def verify_log(
    store: EventStore,
    *,
    crisis_id: str | None = None,
    progress: Progress = _no_progress,
    database_url: str | None = None,
) -> list[ChainFault]:
    """Check the chain of one crisis or of all; return the first fault of each broken crisis.

    With `database_url` (where `store` reads), a crisis of `PARALLEL_FROM` records or more is
    checked in two parts at once, the second by a process of its own (`verify_in_halves`).
    """
    crises = [c for c in await store.crises() if crisis_id in (None, c.crisis_id)]
    if crisis_id is not None and not crises:
        return [ChainFault(crisis_id, 0, None, "the log holds no event of this crisis")]
    faults = []
    for crisis in crises:
        if database_url is not None and crisis.events >= PARALLEL_FROM:
            fault = await verify_in_halves(store, database_url, crisis, progress)
        else:
            walked = await _walk(store, crisis.crisis_id, progress, start=ChainCursor())
            fault = _end_fault(crisis, walked.fault, walked.cursor)
        if fault is not None:
            faults.append(fault)
    return faults


@dataclass(frozen=True, slots=True)
class RangeCheck:
    """A stretch of a crisis' chain walked: its first fault, its first link, where it ended."""

    fault: ChainFault | None
    first: ChainLink | None
    cursor: ChainCursor


async def _walk(
    store: EventStore,
    crisis_id: str,
    progress: Progress,
    *,
    after: int = 0,
    until: int = LAST_SEQ,
    start: ChainCursor | None,
) -> RangeCheck:
    """Walk records `after` < seq <= `until` from `start`; with no `start`, from the first link
    read, taken as it says (its link to the record before is checked by whoever joins the
    stretches)."""
    cursor, first = start, None
    async for links in store.read_links(crisis_id, after=after, until=until, chunk=VERIFY_CHUNK):
        if first is None:
            first = links[0]
        if cursor is None:
            cursor = ChainCursor(ChainHead(crisis_seq=after, hash=first.prev_hash))
        fault, cursor = verify_chain(crisis_id, links, cursor)
        if fault is not None:
            return RangeCheck(fault, first, cursor)
        progress(len(links))
    return RangeCheck(None, first, cursor or ChainCursor(ChainHead(crisis_seq=after)))


def _end_fault(
    crisis: CrisisLog, fault: ChainFault | None, cursor: ChainCursor
) -> ChainFault | None:
    if fault is not None:
        return fault
    if (cursor.head.crisis_seq, cursor.head.hash) != (crisis.events, crisis.head_hash):
        return ChainFault(
            crisis.crisis_id,
            cursor.head.crisis_seq + 1,
            None,
            f"the chain ends at record {cursor.head.crisis_seq} but {crisis.events} were "
            "recorded (records missing at the end)",
        )
    return None


# A crisis of this many records or more is verified in two parts at once (with a database URL).
PARALLEL_FROM = 200_000
# The share of the records the worker process walks: it starts by importing what this process
# has (about 1.8 s of CPU before its first record on this 2-core machine, measured on a 1M-event
# log, against 5.3 s for the whole walk), so it gets the smaller part and both end together.
SECOND_SHARE = 1 / 3
# How often the progress of the other process is read while this one waits for it.
_POLL_S = 0.2


async def verify_in_halves(
    store: EventStore, database_url: str, crisis: CrisisLog, progress: Progress
) -> ChainFault | None:
    """Verify a crisis' chain in two parts at once: this process walks the first, a process of
    its own (spawned, on `database_url`) the last `SECOND_SHARE`, each hashing its own records.

    Each record carries the hash of the one before it, so a record is checked with its own row
    alone, and the parts meet on one link: the first record of the second half must follow the
    last of the first (`verify_chain` on it, as a walk from the start would). The fault reported
    is the one a walk from the start would meet first.
    """
    # Imported here: every `crisis` command imports this module, few verify a long crisis.
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    split = crisis.events - int(crisis.events * SECOND_SHARE)
    done = multiprocessing.get_context("spawn").Value("q", 0)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_share_progress,
        initargs=(done,),
    ) as pool:
        second = loop.run_in_executor(pool, _walk_in_process, database_url, crisis.crisis_id, split)
        seen_there = 0

        def both(count: int) -> None:
            nonlocal seen_there
            there = done.value
            progress(count + there - seen_there)
            seen_there = there

        earlier = await _walk(store, crisis.crisis_id, both, until=split, start=ChainCursor())
        while not second.done():
            await asyncio.wait([second], timeout=_POLL_S)
            both(0)
        later: RangeCheck = await second
        both(0)
    if earlier.fault is not None:
        return earlier.fault
    if later.first is None:
        return _end_fault(crisis, None, earlier.cursor)
    # The join: the second part's first record checked after the first part's last, as a walk
    # from the start would check it.
    joined, _ = verify_chain(crisis.crisis_id, [later.first], earlier.cursor)
    if joined is not None:
        return joined
    return _end_fault(crisis, later.fault, later.cursor)


_shared_progress: Any = None


def _share_progress(counter: Any) -> None:
    global _shared_progress  # noqa: PLW0603 (the worker process' one counter)
    _shared_progress = counter


def _walk_in_process(database_url: str, crisis_id: str, after: int) -> RangeCheck:
    """The second part's walk, in the worker process: records after `after`."""

    def counted(count: int) -> None:
        with _shared_progress.get_lock():
            _shared_progress.value += count

    async def walk() -> RangeCheck:
        store = EventStore(make_engine(database_url))
        try:
            return await _walk(store, crisis_id, counted, after=after, until=LAST_SEQ, start=None)
        finally:
            await store.close()

    return asyncio.run(walk())
