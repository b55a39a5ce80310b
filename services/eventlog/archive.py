"""The archive of a crisis (signed JSON Lines: export, check, import) and the verification of
the log's hash chains, naming the column at fault."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any

import orjson

from schemas.registry import DecodeError
from schemas.wire import REGISTRY
from services.eventlog.archive_key import SigningKey
from services.eventlog.core import (
    GENESIS_HASH,
    ChainCursor,
    ChainFault,
    ChainHead,
    ChainLink,
    Decoded,
    Delivery,
    chain,
    column_changes,
    describe_changes,
    first_of_each_id,
    verify_chain,
)
from services.eventlog.sealed import (
    CHECKPOINT_EVERY,
    CONTROL_KEYS,
    HASH_KEYS,
    ArchiveCheck,
    ArchiveChecker,
    ArchiveFault,
    SealedWriter,
    open_header,
)
from services.eventlog.store import LAST_SEQ, CrisisLog, EventStore
from services.runtime.database import make_engine

VERIFY_CHUNK = 5000

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    return None


def export_line(position: int, payload: str) -> bytes:
    """One line of an unsigned archive (as written before hashes and signatures, and as the
    sample crises are generated): the stored event with its position first."""
    return b'{"position":%d,%s\n' % (position, payload[1:].encode())


async def export_log(
    store: EventStore,
    out: IO[bytes],
    *,
    key: SigningKey,
    crisis_id: str | None = None,
    progress: Progress = _no_progress,
    every: int = CHECKPOINT_EVERY,
) -> int:
    """Write the log (one crisis, or all) as a signed archive (`sealed`) in position order, as it
    stands when the export starts; return the count of records."""
    until = await store.last_position()
    payload_only = {c.crisis_id: c.payload_only_until for c in await store.crises()}
    writer = SealedWriter(out, key, every=every)
    writer.header(crisis_id)
    async for rows in store.read_hashed(crisis_id, until_position=until):
        writer.records_of(rows, payload_only)
        progress(len(rows))
    writer.finish()
    return writer.records


class ArchiveError(ValueError):
    """A line of an archive that cannot be imported, with its line number."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def _object(number: int, line: bytes) -> dict[str, Any]:
    try:
        data: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ArchiveError(number, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ArchiveError(number, "not a JSON object")
    return data


def _record(number: int, data: dict[str, Any], line: bytes) -> Decoded:
    """A record line (its position and hash popped) as the recorder would have seen it."""
    position = data.pop("position", None)
    if not isinstance(position, int) or position < 1:
        raise ArchiveError(number, "no valid position")
    for name in HASH_KEYS:
        data.pop(name, None)
    try:
        event = REGISTRY.decode(data)
    except DecodeError as exc:
        raise ArchiveError(number, str(exc)) from None
    recorded_at = event.recorded_at
    if not isinstance(recorded_at, datetime):
        raise ArchiveError(number, "no recorded_at: not an exported log line")
    delivery = Delivery(position=position, recorded_at=recorded_at, subject="", data=line)
    return Decoded(delivery, event, orjson.dumps(data).decode())


def parse_line(number: int, line: bytes) -> Decoded:
    """A record line of the archive as the recorder would have seen it on the bus."""
    return _record(number, _object(number, line), line)


def _records(lines: Iterable[tuple[int, bytes]]) -> Iterator[Decoded]:
    """The records of numbered archive lines, the signed archive's other lines skipped."""
    for number, line in lines:
        data = _object(number, line)
        if not any(key in data for key in CONTROL_KEYS):
            yield _record(number, data, line)


def check_archive(lines: Iterable[bytes], *, public_key: bytes | None = None) -> ArchiveCheck:
    """Check an archive without importing it: every record's hash chain, every signature, and
    that nothing was removed, added or moved; with `public_key`, that this key signed it.

    An archive without a header (written before hashes and signatures) is read as events only:
    `signed` is False and nothing vouches for it.
    """
    check = ArchiveCheck()
    checker, number, first = None, 0, True
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            data = _object(number, line)
            if first and "archive" in data:
                checker, problem = open_header(data, public_key)
                if checker is None:
                    return _faulted(check, number, problem or "a malformed header")
                check.signed, check.key_id = True, checker.key_id
                check.exported_at = str(data["archive"].get("exported_at"))
            else:
                problem = _line_problem(check, checker, number, data, line)
                if problem is not None:
                    return _faulted(check, number, problem)
            first = False
    except ArchiveError as exc:
        return _faulted(check, exc.line, exc.reason)
    if checker is not None:
        check.records, check.crises = checker.records, len(checker.chains)
        if not checker.ended:
            return _faulted(check, number + 1, "the archive ends before its end line: cut short")
    return check


def _line_problem(
    check: ArchiveCheck,
    checker: ArchiveChecker | None,
    number: int,
    data: dict[str, Any],
    line: bytes,
) -> str | None:
    kind = next((key for key in CONTROL_KEYS if key in data), None)
    claimed = [name for name in HASH_KEYS if name in data]
    if checker is None:
        if kind is not None or claimed:
            return "hashes or signatures without a header: the archive's first line was removed"
        decoded = _record(number, data, line)
        check.records += 1
        check.crisis_ids.add(decoded.event.crisis_id)
        check.crises = len(check.crisis_ids)
        return None
    if checker.ended:
        return "a line after the end line"
    if kind is not None:
        return checker.control(kind, data)
    if len(claimed) != 1 or not isinstance(data[claimed[0]], str):
        return "a record without its hash"
    record_hash = data[claimed[0]]
    decoded = _record(number, data, line)
    return checker.record(decoded, record_hash, payload_only=claimed[0] == "payload_hash")


def _faulted(check: ArchiveCheck, line: int, problem: str) -> ArchiveCheck:
    check.fault = ArchiveFault(line, problem)
    return check


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
    """Load an exported log; events already held are skipped, so importing twice is harmless.

    The lines are taken as they are: check a signed archive with `check_archive` first."""
    read = added = 0
    for batch in _chunks(lines, chunk):
        decoded = list(_records(batch))
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
        # Records hashed before 0007 are checked against their payload from the first record on
        # (main-courante numbers counted): such a crisis is walked in one part.
        if (
            database_url is not None
            and crisis.events >= PARALLEL_FROM
            and not crisis.payload_only_until
        ):
            fault = await verify_in_halves(store, database_url, crisis, progress)
        else:
            walked = await _walk(
                store,
                crisis.crisis_id,
                progress,
                start=ChainCursor(),
                payload_only_until=crisis.payload_only_until,
            )
            fault = _end_fault(crisis, walked.fault, walked.cursor)
        if fault is not None:
            faults.append(await name_fault(store, fault))
    return faults


async def name_fault(store: EventStore, fault: ChainFault) -> ChainFault:
    """`fault` with the column at fault named, when a stored column no longer says what the
    record's payload says (its actor, status, times, type, crisis...)."""
    if fault.kind in ("changed", "columns") and fault.position is not None:
        record = await store.record_at(fault.position)
        changes = [] if record is None else column_changes(record)
        if changes:
            names = ", ".join(change.column for change in changes)
            problem = f"its {names} column was changed after it was recorded: " + (
                describe_changes(changes)
            )
            return replace(fault, problem=problem, kind="columns")
    if fault.kind in ("missing", "end"):
        before = (
            GENESIS_HASH
            if fault.crisis_seq == 1
            else await store.hash_of(fault.crisis_id, fault.crisis_seq - 1)
        )
        moved = None if before is None else await store.record_after(before, fault.crisis_seq)
        if moved is not None and moved.crisis_id != fault.crisis_id:
            said = describe_changes(column_changes(moved))
            problem = (
                f"record {fault.crisis_seq} (position {moved.position}) is filed under crisis "
                f"{moved.crisis_id!r}: its crisis_id column was changed after it was recorded"
                + (f" ({said})" if said else "")
            )
            return replace(fault, position=moved.position, problem=problem, kind="columns")
    return fault


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
    payload_only_until: int = 0,
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
        fault, cursor = verify_chain(
            crisis_id, links, cursor, payload_only_until=payload_only_until
        )
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
            "end",
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
