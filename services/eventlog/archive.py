"""The archive of a crisis: JSON Lines export and import, and verification of the hash chain."""

from __future__ import annotations

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
    Decoded,
    Delivery,
    chain,
    first_of_each_id,
    verify_chain,
)
from services.eventlog.store import CrisisLog, EventStore

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
    store: EventStore, *, crisis_id: str | None = None, progress: Progress = _no_progress
) -> list[ChainFault]:
    """Check the chain of one crisis or of all; return the first fault of each broken crisis."""
    crises = [c for c in await store.crises() if crisis_id in (None, c.crisis_id)]
    if crisis_id is not None and not crises:
        return [ChainFault(crisis_id, 0, None, "the log holds no event of this crisis")]
    faults = []
    for crisis in crises:
        fault = await _verify_crisis(store, crisis, progress)
        if fault is not None:
            faults.append(fault)
    return faults


async def _verify_crisis(
    store: EventStore, crisis: CrisisLog, progress: Progress
) -> ChainFault | None:
    cursor = ChainCursor()
    async for links in store.read_links(crisis.crisis_id, chunk=VERIFY_CHUNK):
        fault, cursor = verify_chain(crisis.crisis_id, links, cursor)
        if fault is not None:
            return fault
        progress(len(links))
    if (cursor.head.crisis_seq, cursor.head.hash) != (crisis.events, crisis.head_hash):
        return ChainFault(
            crisis.crisis_id,
            cursor.head.crisis_seq + 1,
            None,
            f"the chain ends at record {cursor.head.crisis_seq} but {crisis.events} were "
            "recorded (records missing at the end)",
        )
    return None
