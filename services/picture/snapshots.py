"""Snapshots of crisis pictures in the database, and the picture at any position or instant.

A snapshot is stored compressed (`z1:` then base64 of zlib of the JSON, in the `picture` text
column); rows written before as plain JSON are still read. Each crisis keeps its latest few
snapshots and, further back, as many as its budget of bytes holds, spread as evenly as they can
be (`kept_positions`): an as-of read folds at most the widest gap, and the table stays within
the budget however long the crisis.
"""

from __future__ import annotations

import asyncio
import base64
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.wire import REGISTRY
from services.eventlog.store import EventStore
from services.eventlog.tables import picture_snapshots
from services.picture.fold import Event, Picture, fold, fold_run, new_picture

COMPRESSED = "z1:"
# The latest snapshots of a crisis kept whatever their size (a resume, recent as-of reads).
KEEP_LATEST = 3
# The bytes of snapshots a crisis keeps by default (CRISIS_PICTURE_SNAPSHOT_BUDGET_MB).
BUDGET_BYTES = 64 * 1024 * 1024
# The big sections, encoded entry by entry and kept encoded between snapshots; the event fields
# naming the entries a fold of that event may change (the fold changes no other entry).
Keyed = Literal["incidents", "follow_ups", "tasks", "resources", "decisions"]
KEYED: dict[Keyed, tuple[str, ...]] = {
    "incidents": ("incident_id", "merged_ids"),
    "follow_ups": ("entry_id",),
    "tasks": ("task_id",),
    "resources": ("resource_id",),
    "decisions": ("decision_id",),
}
# A summed figure shares its map of contributing events with its running sum (fold._count_part):
# stored once, shared again when read.
_SHARED_EVENTS = "bilan_sums"
# JSON compressed a chunk at a time: the thread packing holds the GIL only between chunks.
_PACK_CHUNK = 1 << 20


@dataclass(frozen=True)
class EncodedSnapshot:
    """A picture as it stood, encoded (immutable bytes), ready to be compressed and written."""

    crisis_id: str
    position: int
    recorded_at: str
    events: int
    head: bytes
    sections: tuple[tuple[str, list[bytes]], ...]

    def json_pieces(self) -> Iterator[bytes]:
        """The picture's JSON, piece by piece."""
        yield self.head[:-1]
        comma = b"," if len(self.head) > 2 else b""
        for name, entries in self.sections:
            yield comma + orjson.dumps(name) + b":{"
            yield from _with_commas(entries)
            yield b"}"
            comma = b","
        yield b"}"


def _with_commas(entries: list[bytes]) -> Iterator[bytes]:
    for index, entry in enumerate(entries):
        yield b"," + entry if index else entry


class PictureEncoder:
    """Encodes one crisis' picture at each snapshot, re-encoding only the entries changed since.

    The live path tells it each event folded (`touched`): at 1M events the picture is 23 MB of
    JSON, and encoding all of it in the event loop stalled every live client.
    """

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, bytes]] = {}
        self._dirty: dict[str, dict[str, None]] = {}

    def touched(self, event: Event) -> None:
        """Note the entries a fold of `event` may have changed."""
        for section, names in KEYED.items():
            for name in names:
                value = event.get(name)
                if value is None:
                    continue
                keys = self._dirty.setdefault(section, {})
                if isinstance(value, list):
                    keys.update(dict.fromkeys(value))
                else:
                    keys[value] = None

    def encode(self, picture: Picture) -> EncodedSnapshot:
        """`picture` as it stands, encoded: a copy that later folds do not change."""
        sections = tuple(
            (name, list(self._entries(name, picture[name]).values()))
            for name in KEYED
            if name in picture
        )
        return EncodedSnapshot(
            crisis_id=picture["crisis_id"],
            position=picture["position"],
            # Only a picture of no event has none; it is never stored.
            recorded_at=picture["recorded_at"] or "",
            events=picture["events"],
            head=orjson.dumps(_head(picture)),
            sections=sections,
        )

    def _entries(self, section: str, entries: Mapping[str, object]) -> dict[str, bytes]:
        cache = self._cache.setdefault(section, {})
        for key in self._dirty.pop(section, {}):
            if key in entries:
                cache[key] = _entry(key, entries[key])
            else:
                cache.pop(key, None)
        if len(cache) != len(entries):
            # Entries not seen come in (a picture resumed from a snapshot, a first encoding).
            cache.clear()
            cache.update((key, _entry(key, value)) for key, value in entries.items())
        return cache


def _entry(key: str, value: object) -> bytes:
    return orjson.dumps(key) + b":" + orjson.dumps(value)


def _head(picture: Picture) -> dict[str, object]:
    head: dict[str, object] = {name: value for name, value in picture.items() if name not in KEYED}
    sums = picture.get("bilan_sums") or {}
    bilan = picture.get("bilan") or {}
    head["bilan"] = {
        name: (
            {**figure, "events": _SHARED_EVENTS}
            if name in sums and figure.get("events") is sums[name]["events"]
            else figure
        )
        for name, figure in bilan.items()
    }
    return head


def encode_snapshot(picture: Picture) -> str:
    """The text stored for `picture` (compressed)."""
    return pack(PictureEncoder().encode(picture))


def pack(snapshot: EncodedSnapshot) -> str:
    """The compressed text of an encoded snapshot (zlib releases the GIL: run it in a thread)."""
    compressor = zlib.compressobj(6)
    out: list[str] = [COMPRESSED]
    pending = bytearray()
    buffer: list[bytes] = []
    size = 0
    for piece in snapshot.json_pieces():
        buffer.append(piece)
        size += len(piece)
        if size >= _PACK_CHUNK:
            pending += compressor.compress(b"".join(buffer))
            buffer, size = [], 0
            pending = _drain(pending, out)
    pending += compressor.compress(b"".join(buffer))
    pending += compressor.flush()
    out.append(base64.b64encode(pending).decode())
    return "".join(out)


def _drain(pending: bytearray, out: list[str]) -> bytearray:
    whole = len(pending) - len(pending) % 3
    out.append(base64.b64encode(pending[:whole]).decode())
    return pending[whole:]


def decode_snapshot(text: str) -> Picture:
    """The picture stored as `text`: compressed, or plain JSON as older rows are."""
    if text.startswith(COMPRESSED):
        picture: Picture = orjson.loads(zlib.decompress(base64.b64decode(text[len(COMPRESSED) :])))
    else:
        picture = orjson.loads(text)
    sums = picture.get("bilan_sums") or {}
    for name, figure in (picture.get("bilan") or {}).items():
        shared: object = figure.get("events")  # as stored: the name of the map it shares
        if shared == _SHARED_EVENTS:
            figure["events"] = sums[name]["events"]
    return picture


def kept_positions(
    sizes: Mapping[int, int], budget: int = BUDGET_BYTES, keep_latest: int = KEEP_LATEST
) -> set[int]:
    """Which of a crisis' snapshots (position -> stored bytes) to keep within `budget` bytes.

    The latest `keep_latest` always stay. Further back, while the whole is over the budget, the
    snapshot whose going leaves the narrowest gap (from the one before it, or the crisis' start,
    to the one after it) goes, the older one on a tie: what stays is spread as evenly as the
    budget allows, and a set within the budget is kept whole.
    """
    ordered = sorted(sizes)
    if len(ordered) <= keep_latest:
        return set(ordered)
    split = len(ordered) - max(keep_latest, 1)
    older, latest = ordered[:split], ordered[split:]
    total = sum(sizes.values())
    while total > budget and older:
        narrowest, drop = None, 0
        for index in range(len(older)):
            before = older[index - 1] if index else 0
            after = older[index + 1] if index + 1 < len(older) else latest[0]
            if narrowest is None or after - before < narrowest:
                narrowest, drop = after - before, index
        total -= sizes[older.pop(drop)]
    return {*older, *latest}


# A snapshot's stored size; a row written before sizes were kept is weighed by reading it.
_SIZE = func.coalesce(picture_snapshots.c.stored_bytes, func.length(picture_snapshots.c.picture))


class SnapshotStore:
    """Pictures kept as they stood at a position, one row per crisis and position."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        keep_latest: int = KEEP_LATEST,
        budget_bytes: int = BUDGET_BYTES,
    ) -> None:
        self.engine = engine
        self.keep_latest = keep_latest
        self.budget_bytes = budget_bytes

    async def save(self, picture: Picture) -> None:
        """Keep `picture` as it stands (a snapshot already there for that position stays)."""
        await self.write(PictureEncoder().encode(picture))

    async def write(self, snapshot: EncodedSnapshot) -> None:
        """Compress and keep an encoded snapshot, then thin that crisis' older ones."""
        text = await asyncio.to_thread(pack, snapshot)
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(picture_snapshots)
            .values(
                crisis_id=snapshot.crisis_id,
                position=snapshot.position,
                recorded_at=datetime.fromisoformat(snapshot.recorded_at),
                events=snapshot.events,
                picture=text,
                stored_bytes=len(text),
            )
            .on_conflict_do_nothing(index_elements=["crisis_id", "position"])
        )
        of_crisis = picture_snapshots.c.crisis_id == snapshot.crisis_id
        async with self.engine.begin() as conn:
            await conn.execute(statement)
            rows = await conn.execute(select(picture_snapshots.c.position, _SIZE).where(of_crisis))
            sizes = {position: int(size) for position, size in rows}
            dropped = set(sizes) - kept_positions(sizes, self.budget_bytes, self.keep_latest)
            if dropped:
                await conn.execute(
                    delete(picture_snapshots).where(
                        of_crisis, picture_snapshots.c.position.in_(sorted(dropped))
                    )
                )

    async def latest(self, crisis_id: str, until_position: int | None = None) -> Picture | None:
        """The last snapshot of a crisis at or before `until_position` (the last of all if None)."""
        query = select(picture_snapshots.c.picture).where(
            picture_snapshots.c.crisis_id == crisis_id
        )
        if until_position is not None:
            query = query.where(picture_snapshots.c.position <= until_position)
        query = query.order_by(picture_snapshots.c.position.desc()).limit(1)
        async with self.engine.connect() as conn:
            found = await conn.scalar(query)
        return decode_snapshot(found) if found else None

    async def positions(self, crisis_id: str) -> list[int]:
        """The positions of a crisis' snapshots, oldest first."""
        query = (
            select(picture_snapshots.c.position)
            .where(picture_snapshots.c.crisis_id == crisis_id)
            .order_by(picture_snapshots.c.position)
        )
        async with self.engine.connect() as conn:
            return list((await conn.scalars(query)).all())

    async def stored_bytes(self, crisis_id: str | None = None) -> int:
        """The size of the stored pictures (their text; compressed ones are ASCII)."""
        query = select(func.coalesce(func.sum(_SIZE), 0))
        if crisis_id is not None:
            query = query.where(picture_snapshots.c.crisis_id == crisis_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def count(self, crisis_id: str | None = None) -> int:
        """How many snapshots are kept."""
        query = select(func.count()).select_from(picture_snapshots)
        if crisis_id is not None:
            query = query.where(picture_snapshots.c.crisis_id == crisis_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)


# Looked up for every event folded: the map itself, not a method call (KeyError if unknown).
_VERSIONS = REGISTRY.versions


def wire_event(payload: str | bytes) -> dict[str, Any]:
    """A stored event as the fold takes it: its wire dict, upcast if from an older schema."""
    event: dict[str, Any] = orjson.loads(payload)
    if event.get("schema_version") != _VERSIONS[event["type"]]:
        event = REGISTRY.upcast(event)
    return event


# A stored main-courante entry the fold only counts, told from its JSON without parsing it: it
# must hold all of the first needles and none of the others. The log stores the JSON orjson
# writes (compact, no escaped letters), where a quote inside a string is escaped and no event
# nests an object with these keys: each needle can only be a key of the event itself. Whatever
# does not surely match (spaces, another order, an older schema) is parsed.
_ENTRY_KEYS = (
    '"type":"maincourante.entry_recorded"',
    f'"schema_version":{_VERSIONS["maincourante.entry_recorded"]},',
)
_NOT_ONLY_COUNTED = ('"status":"Exercise"', '"follow_up_owner":"')
_ENTRY_KEYS_B = tuple(needle.encode() for needle in _ENTRY_KEYS)
_NOT_ONLY_COUNTED_B = tuple(needle.encode() for needle in _NOT_ONLY_COUNTED)


def counted_entry(payload: str | bytes) -> bool:
    """Whether a stored event is surely a main-courante entry of the current schema, not of an
    exercise, that asks for no follow-up (absent or null): one the fold only counts."""
    if isinstance(payload, str):
        return all(k in payload for k in _ENTRY_KEYS) and not any(
            o in payload for o in _NOT_ONLY_COUNTED
        )
    return all(k in payload for k in _ENTRY_KEYS_B) and not any(
        o in payload for o in _NOT_ONLY_COUNTED_B
    )


async def picture_at(
    store: EventStore,
    snapshots: SnapshotStore,
    crisis_id: str,
    *,
    position: int | None = None,
    as_of: datetime | None = None,
    snapshot_every: int = 0,
) -> Picture:
    """The picture of a crisis as it stood at `position`, or at instant `as_of`, or now.

    It starts from the nearest snapshot before that point and folds the rest from the log; with
    `snapshot_every`, long stretches without a snapshot get one on the way, for the next asker.
    """
    until = position
    if as_of is not None:
        at_instant = await store.position_at(as_of)
        until = at_instant if until is None else min(until, at_instant)
    picture = await snapshots.latest(crisis_id, until) or new_picture(crisis_id)
    encoder = PictureEncoder()
    async for rows in store.read_payloads(
        crisis_id, after=picture["position"], until_position=until, chunk=5000
    ):
        if not snapshot_every:
            fold_run(picture, rows, wire_event, counted_entry)
            continue
        for at_position, payload in rows:
            event = wire_event(payload)
            fold(picture, event, at_position, event["recorded_at"])
            if snapshot_every:
                encoder.touched(event)
                if picture["events"] % snapshot_every == 0:
                    await snapshots.write(encoder.encode(picture))
    return picture
