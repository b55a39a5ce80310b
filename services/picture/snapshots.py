"""Snapshots of crisis pictures in the database, and the picture at any position or instant.

A snapshot is packed (`pack`): an index (the picture's head, then each entry of the keyed
sections: its key, its length and its state), then each entry's JSON, the whole compressed with
zstd in the `packed` column. Rows written before as JSON text (plain, or `z1:` base64 of zlib, in
the `picture` column) are still read.

A snapshot is whole, or partial: it then holds only the entries changed since the last whole one
(`base_position`), and is read onto it. The encoder makes it whole again once what changed
weighs half the whole: on the 1M-event benchmark crisis, a snapshot every 5,000 events, the 200
of them weigh 86 MB, where 106 whole ones filled the 90 MiB budget.

An as-of read keeps each entry as its stored bytes (`StoredPicture`) and parses only those the
events after the snapshot touch: what it serves is mostly bytes already written. Each crisis
keeps its latest few snapshots and, further back, as many as its budget of bytes holds, spread
as evenly as they can be (`kept_positions`), with the whole ones the partial ones need: an as-of
read folds at most the widest gap, and the table stays within the budget however long the
crisis.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import zlib
from collections import Counter
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import accumulate
from typing import Any, Literal, NamedTuple, cast

import orjson
import structlog
import zstandard
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.wire import REGISTRY
from services.eventlog.store import EventStore
from services.eventlog.tables import picture_snapshots
from services.picture.fold import Event, Picture, fold_run, new_picture
from services.picture.views import is_overdue, view

log = structlog.get_logger(__name__)

COMPRESSED = "z1:"
# The latest snapshots of a crisis kept whatever their size (a resume, recent as-of reads).
KEEP_LATEST = 3
# The bytes of snapshots a crisis keeps by default (CRISIS_PICTURE_SNAPSHOT_BUDGET_MB).
BUDGET_BYTES = 90 * 1024 * 1024
# zstd's level for packed snapshots. Measured on the 1M-event benchmark's last picture (9.9 MB
# of JSON): level 3 packs 1.40 MB in 36 ms, 6 packs 1.29 MB in 83-97 ms, 9 packs 1.22 MB in
# 135-148 ms; each unpacks in 6-10 ms (zlib at level 6: 1.53 MB, 150-200 ms, 22-30 ms).
ZSTD_LEVEL = 6
# The big sections, packed entry by entry and kept encoded between snapshots; the event fields
# naming the entries a fold of that event may change or read (the fold uses no other entry).
Keyed = Literal["incidents", "follow_ups", "tasks", "resources", "decisions"]
KEYED: dict[Keyed, tuple[str, ...]] = {
    "incidents": ("incident_id", "merged_ids"),
    "follow_ups": ("entry_id",),
    "tasks": ("task_id",),
    "resources": ("resource_id",),
    "decisions": ("decision_id",),
}
# The sections whose entries the view flags when overdue, and the field of their due instant: a
# stored picture flags the entries it holds unparsed from the index (their state and due), and
# appends the flag to their stored bytes.
# (The field of the due instant, and the view's count of those overdue.)
DUE: dict[Keyed, tuple[str, str]] = {
    "tasks": ("due_at", "overdue_tasks"),
    "follow_ups": ("due", "overdue_follow_ups"),
}
# A summed figure shares its map of contributing events with its running sum (fold._count_part):
# stored once, shared again when read.
_SHARED_EVENTS = "bilan_sums"
# How the index's length is written before it.
_INDEX_LENGTH = 4
# The packed layout this version writes, and those it reads (1: the index's entries as rows; 2:
# as columns); a snapshot of another is treated as absent (it is derived data: the log rebuilds
# it).
PACKED_FORMAT = 2
_READ_FORMATS = (1, 2)
# A snapshot is partial while what changed since the last whole one weighs at most this share of
# the whole (PictureEncoder).
PARTIAL_SHARE = 0.5


class SnapshotFormatError(ValueError):
    """A packed snapshot of a layout this version does not read."""


class EncodedEntry(NamedTuple):
    """One entry of a keyed section, encoded: its JSON, its state and when it is due (what the
    view counts and flags of an entry it does not parse). A tuple of strings and bytes, which the
    garbage collector stops tracking: the encoder keeps one per entry of every live picture."""

    key: str
    json: bytes
    state: str | None
    due: str | None


@dataclass(frozen=True)
class EncodedSnapshot:
    """A picture as it stood, encoded (immutable bytes), ready to be packed and written.

    A whole snapshot (`base` None) holds every entry. A partial one holds only the entries
    changed since the whole snapshot at position `base` (which it completes), the keys gone
    since (`removed`), and each section's order of keys where merging would not give it back
    (`order`): it is read onto that base.
    """

    crisis_id: str
    position: int
    recorded_at: str
    events: int
    head: bytes
    sections: tuple[tuple[str, tuple[EncodedEntry, ...]], ...]
    base: int | None = None
    removed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    order: tuple[tuple[str, tuple[str, ...]], ...] = ()


class PictureEncoder:
    """Encodes one crisis' picture at each snapshot, re-encoding only the entries changed since.

    The live path tells it each event folded (`touched`): at 1M events the picture is 10 MB of
    JSON, and encoding all of it in the event loop stalled every live client.

    A snapshot is partial (it holds what changed since the last whole one) while what changed
    weighs at most `partial_share` of the whole; past that, it is whole again. On the 1M-event
    crisis, a snapshot every 5,000 events: 22 % of the whole 5,000 events after it, 49 % after
    20,000; the snapshots weigh half as much on average, and twice as many fit the budget.
    """

    def __init__(self, partial_share: float = PARTIAL_SHARE) -> None:
        self.partial_share = partial_share
        self._cache: dict[str, dict[str, EncodedEntry]] = {}
        self._dirty: dict[str, dict[str, None]] = {}
        # The last whole snapshot encoded: its position, each section's keys in its order, and
        # the keys changed since (None: unknown, the next snapshot is whole).
        self._base: int | None = None
        self._base_keys: dict[str, dict[str, None]] = {}
        self._since_base: dict[str, set[str]] | None = None
        # Whether the last encoding re-encoded a section whole (entries it had not seen).
        self._rebuilt = False

    def touched(self, event: Event) -> None:
        """Note the entries a fold of `event` may have changed."""
        for section, keys in touched_keys(event):
            self._dirty.setdefault(section, {}).update(dict.fromkeys(keys))

    def prime(self, picture: Picture) -> None:
        """Encode `picture` ahead of its first snapshot (a resumed picture: all of it), without
        making a snapshot of it; the next one is whole."""
        for name in KEYED:
            if name in picture:
                self._entries(name, picture[name])
        self.forget_base()

    def forget_base(self) -> None:
        """Make the next snapshot whole (the last whole one may not have been written)."""
        self._base, self._base_keys, self._since_base = None, {}, None

    def encode(self, picture: Picture) -> EncodedSnapshot:
        """`picture` as it stands, encoded: a copy that later folds do not change; partial when
        little changed since the last whole snapshot."""
        self._rebuilt = False
        changed = {name: list(self._dirty.get(name, {})) for name in KEYED}
        entries: dict[str, dict[str, EncodedEntry]] = {
            name: self._entries(name, picture[name]) for name in KEYED if name in picture
        }
        snapshot = EncodedSnapshot(
            crisis_id=picture["crisis_id"],
            position=picture["position"],
            # Only a picture of no event has none; it is never stored.
            recorded_at=picture["recorded_at"] or "",
            events=picture["events"],
            head=orjson.dumps(_head(picture)),
            sections=(),
        )
        if self._since_base is not None and not self._rebuilt:
            for name, keys in changed.items():
                self._since_base.setdefault(name, set()).update(keys)
            partial = self._partial(snapshot, entries, self._since_base)
            if partial is not None:
                return partial
        self._base, self._since_base = snapshot.position, {}
        self._base_keys = {name: dict.fromkeys(cache) for name, cache in entries.items()}
        return replace(
            snapshot, sections=tuple((name, tuple(c.values())) for name, c in entries.items())
        )

    def _partial(
        self,
        snapshot: EncodedSnapshot,
        entries: dict[str, dict[str, EncodedEntry]],
        since: dict[str, set[str]],
    ) -> EncodedSnapshot | None:
        """`snapshot` as what changed since the last whole one, or None if that weighs more
        than `partial_share` of the whole."""
        whole = sum(len(e.json) for cache in entries.values() for e in cache.values())
        sections, removed, order = [], [], []
        weight = 0
        for name, cache in entries.items():
            base = self._base_keys.get(name, {})
            keys = since.get(name, set())
            # New keys come after the base's, in the order they are encoded.
            changed = tuple(cache[k] for k in cache if k in keys or k not in base)
            weight += sum(len(e.json) for e in changed)
            if changed:
                sections.append((name, changed))
            gone = tuple(k for k in base if k not in cache)
            if gone:
                removed.append((name, gone))
            merged = [k for k in base if k in cache] + [k for k in cache if k not in base]
            if merged != list(cache):
                order.append((name, tuple(cache)))
        if weight > self.partial_share * whole:
            return None
        return replace(
            snapshot,
            sections=tuple(sections),
            base=self._base,
            removed=tuple(removed),
            order=tuple(order),
        )

    def _entries(
        self, section: str, entries: Mapping[str, Mapping[str, object]]
    ) -> dict[str, EncodedEntry]:
        cache = self._cache.setdefault(section, {})
        due = DUE[section][0] if section in DUE else None
        dirty = self._dirty.pop(section, {})
        for key in dirty:
            if key in entries:
                cache[key] = _encoded(key, entries[key], due)
            else:
                cache.pop(key, None)
        if dirty and len(cache) == len(entries) and list(cache) != list(entries):
            # An entry removed then added again stands last in the picture: so it does here.
            self._cache[section] = cache = {key: cache[key] for key in entries}
        if len(cache) != len(entries):
            # Entries not seen come in (a picture resumed from a snapshot, a first encoding).
            self._rebuilt = True
            cache.clear()
            cache.update((key, _encoded(key, value, due)) for key, value in entries.items())
        return cache


def touched_keys(event: Event) -> Iterable[tuple[Keyed, list[str]]]:
    """The entries of each keyed section that a fold of `event` may read or change."""
    for section, names in KEYED.items():
        keys: list[str] = []
        for name in names:
            value = event.get(name)
            if isinstance(value, list):
                keys.extend(value)
            elif value is not None:
                keys.append(value)
        if keys:
            yield section, keys


def _encoded(key: str, value: Mapping[str, object], due_field: str | None) -> EncodedEntry:
    state = value.get("state")
    due = value.get(due_field) if due_field else None
    return EncodedEntry(
        key,
        orjson.dumps(value),
        state if isinstance(state, str) else None,
        due if isinstance(due, str) else None,
    )


def _head(picture: Picture) -> dict[str, object]:
    # A keyed section keeps its place, empty (null), so that the picture read back keeps the
    # order of its keys (and its JSON, the bytes of the fold's).
    head: dict[str, object] = {
        name: None if name in KEYED else value for name, value in picture.items()
    }
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


def _share_events(head: dict[str, Any]) -> None:
    sums = head.get("bilan_sums") or {}
    for name, figure in (head.get("bilan") or {}).items():
        shared: object = figure.get("events")  # as stored: the name of the map it shares
        if shared == _SHARED_EVENTS:
            figure["events"] = sums[name]["events"]


def encode_snapshot(picture: Picture) -> bytes:
    """The bytes stored for `picture` (packed)."""
    return pack(PictureEncoder().encode(picture))


def pack(snapshot: EncodedSnapshot) -> bytes:
    """The packed bytes of an encoded snapshot: the index's length (4 bytes, little-endian), the
    index (JSON: the head, then each section as its keys, lengths, states and due instants, in
    columns; for a partial snapshot, its base, the keys removed and the orders), then each
    entry's JSON in the index's order; the whole compressed with zstd. zstd releases the GIL:
    run it in a thread."""
    index: dict[str, object] = {
        "format": PACKED_FORMAT,
        "head": orjson.Fragment(snapshot.head),
        "sections": [
            [
                name,
                [e.key for e in entries],
                [len(e.json) for e in entries],
                [e.state for e in entries],
                [e.due for e in entries],
            ]
            for name, entries in snapshot.sections
        ],
    }
    if snapshot.base is not None:
        index["base"] = snapshot.base
        index["removed"] = snapshot.removed
        index["order"] = snapshot.order
    encoded = orjson.dumps(index)
    body = b"".join(
        [
            len(encoded).to_bytes(_INDEX_LENGTH, "little"),
            encoded,
            *(e.json for _, entries in snapshot.sections for e in entries),
        ]
    )
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)


@dataclass
class _Unpacked:
    """What a packed snapshot holds: its head, its entries as stored and their summaries, and
    for a partial one, its base, the keys removed since and the orders of keys."""

    head: dict[str, Any]
    stored: dict[str, dict[str, bytes]]
    summaries: dict[str, dict[str, Summary]]
    base: int | None = None
    removed: list[tuple[str, list[str]]] = field(default_factory=list)
    order: list[tuple[str, list[str]]] = field(default_factory=list)

    def complete(self, base: _Unpacked) -> None:
        """Read this partial snapshot onto the whole one it completes (`base`, spent)."""
        for name, entries in self.stored.items():
            base.stored.setdefault(name, {}).update(entries)
            base.summaries.setdefault(name, {}).update(self.summaries[name])
        for name, keys in self.removed:
            for key in keys:
                del base.stored[name][key], base.summaries[name][key]
        for name, keys in self.order:
            stored, summaries = base.stored[name], base.summaries[name]
            base.stored[name] = {key: stored[key] for key in keys}
            base.summaries[name] = {key: summaries[key] for key in keys}
        self.stored, self.summaries = base.stored, base.summaries
        self.base, self.removed, self.order = None, [], []


def _unpacked(packed: bytes) -> _Unpacked:
    body = zstandard.ZstdDecompressor().decompress(packed)
    length = int.from_bytes(body[:_INDEX_LENGTH], "little")
    offset = _INDEX_LENGTH + length
    index = orjson.loads(memoryview(body)[_INDEX_LENGTH:offset])
    layout = index.get("format")
    if layout not in _READ_FORMATS:
        raise SnapshotFormatError(
            f"snapshot packed in format {layout!r}; this version reads {PACKED_FORMAT}"
        )
    head: dict[str, Any] = index["head"]
    _share_events(head)
    stored: dict[str, dict[str, bytes]] = {}
    summaries: dict[str, dict[str, Summary]] = {}
    for section in index["sections"]:
        if layout == 1:  # [name, [[key, length, state, due], ...]]
            name, rows = section
            keys = [row[0] for row in rows]
            lengths = [row[1] for row in rows]
            states = [row[2] for row in rows]
            dues = [row[3] for row in rows]
        else:
            name, keys, lengths, states, dues = section
        # Every loop in C: 11,000 entries of the 1M-event crisis in a few milliseconds.
        ends = list(accumulate(lengths, initial=offset))
        raws = map(body.__getitem__, map(slice, ends, ends[1:]))
        stored[name] = dict(zip(keys, raws, strict=True))
        summaries[name] = dict(zip(keys, zip(states, dues, strict=True), strict=True))
        offset = ends[-1]
    return _Unpacked(
        head,
        stored,
        summaries,
        index.get("base"),
        [(name, keys) for name, keys in index.get("removed", [])],
        [(name, keys) for name, keys in index.get("order", [])],
    )


def unpack(packed: bytes, base: bytes | None = None) -> StoredPicture:
    """The picture packed in `packed`, its entries left as their JSON; a partial snapshot is
    read onto its `base` (the whole snapshot it completes, packed)."""
    return _completed(_unpacked(packed), _unpacked(base) if base is not None else None)


def _completed(found: _Unpacked, whole: _Unpacked | None) -> StoredPicture:
    if found.base is not None:
        if whole is None:
            raise SnapshotFormatError(f"partial snapshot: its base at {found.base} is needed")
        if whole.base is not None:
            raise SnapshotFormatError(f"the base of a partial snapshot is partial ({found.base})")
        found.complete(whole)
    return StoredPicture(found.head, found.stored, found.summaries)


def decode_snapshot(stored: str | bytes) -> Picture:
    """The picture stored as `stored`: packed bytes, or the JSON text older rows hold."""
    if isinstance(stored, bytes):
        return unpack(stored).materialize()
    if stored.startswith(COMPRESSED):
        picture: Picture = orjson.loads(
            zlib.decompress(base64.b64decode(stored[len(COMPRESSED) :]))
        )
    else:
        picture = orjson.loads(stored)
    _share_events(cast("dict[str, Any]", picture))
    return picture


class StoredPicture:
    """A picture read from a snapshot, each entry of its keyed sections kept as its stored JSON
    (an `orjson.Fragment`, written out as is) until an event touches it.

    Folding the events after the snapshot (`fold_run`) first parses the entries each event
    names (`touched_keys`): the fold reads no other. Then it is shown (`shown`: the view, where
    what no event touched is the bytes stored) or made whole (`materialize`). A fold handler
    that read an entry its event does not name would get a Fragment and fail, never misread.
    """

    def __init__(
        self,
        head: dict[str, Any],
        stored: dict[str, dict[str, bytes]],
        summaries: dict[str, dict[str, Summary]],
    ) -> None:
        self._stored = stored
        self._summaries = summaries
        picture = dict(head)
        for name, entries in stored.items():
            fragments = map(orjson.Fragment, entries.values())
            picture[name] = dict(zip(entries, fragments, strict=True))
        # Fragments stand for the entries not parsed yet: only this class lets them be seen.
        self.picture = cast("Picture", picture)

    @classmethod
    def new(cls, crisis_id: str) -> StoredPicture:
        """The picture of a crisis before any event, as a stored picture with nothing stored."""
        return cls(cast("dict[str, Any]", new_picture(crisis_id)), {}, {})

    def parse(self, section: str, keys: Iterable[str]) -> None:
        """Parse the entries `keys` of `section` that are still stored bytes."""
        stored = self._stored.get(section)
        if not stored:
            return
        entries = cast("dict[str, Any]", self.picture)[section]
        for key in keys:
            raw = stored.pop(key, None)
            if raw is not None:
                entries[key] = orjson.loads(raw)
                del self._summaries[section][key]

    def decode(self, payload: str | bytes) -> Event:
        """A stored event as the fold takes it (`wire_event`), the entries it names parsed."""
        event = wire_event(payload)
        for section, keys in touched_keys(event):
            self.parse(section, keys)
        return event

    def fold_run(self, rows: Iterable[tuple[int, str | bytes]]) -> None:
        """Fold stored events, in order, as `fold.fold_run` does."""
        # With nothing left stored (a rebuild from the start), no event needs entries parsed.
        decode = self.decode if any(self._stored.values()) else wire_event
        fold_run(self.picture, rows, decode, counted_entry)

    def materialize(self) -> Picture:
        """The whole picture: every entry still stored is parsed (this object is spent)."""
        for section, stored in list(self._stored.items()):
            self.parse(section, list(stored))
        return self.picture

    def shown_json(self, at: str) -> bytes:
        """`shown` as JSON (a picture is megabytes: run it in a thread)."""
        return orjson.dumps(self.shown(at))

    def shown(self, at: str) -> dict[str, object]:
        """The picture as shown at instant `at` (`views.view`), with the entries no event
        touched written as they were stored: counted and flagged overdue from the index (their
        state and due), the flag appended to their bytes."""
        held = cast("dict[str, Any]", self.picture)
        parsed = dict(held)
        for section in DUE:
            if section in held and self._stored.get(section):
                stored = self._stored[section]
                parsed[section] = {k: v for k, v in held[section].items() if k not in stored}
        shown = view(cast("Picture", parsed), at, open_incidents=self._open_incidents())
        shown_at = datetime.fromisoformat(at)
        for section, (_, overdue_count) in DUE.items():
            unparsed = self._stored.get(section)
            if not unparsed:
                continue
            summaries = self._summaries[section]
            flagged = cast("dict[str, Any]", shown[section])
            merged: dict[str, object] = {}
            late_ones = 0
            for key in held[section]:
                raw = unparsed.get(key)
                if raw is None:
                    merged[key] = flagged[key]
                    continue
                state, due = summaries[key]
                late = is_overdue(due, shown_at, still_open=state == "open")
                late_ones += late
                merged[key] = orjson.Fragment(raw[:-1] + (_LATE if late else _ON_TIME))
            shown[section] = merged
            shown[overdue_count] = cast("int", shown[overdue_count]) + late_ones
            if section == "tasks":
                still_open = sum(1 for state, _ in summaries.values() if state == "open")
                shown["open_tasks"] = cast("int", shown["open_tasks"]) + still_open
        return shown

    def _open_incidents(self) -> int:
        summaries = self._summaries.get("incidents", {})
        return sum(1 for state, _ in summaries.values() if state == "open") + sum(
            1
            for key, incident in self.picture["incidents"].items()
            if key not in summaries and incident["state"] == "open"
        )


# What a shown entry adds after its stored fields (`views.view`: `{**entry, "overdue": ...}`).
_LATE = b',"overdue":true}'
_ON_TIME = b',"overdue":false}'
# An entry's state and due instant, as the index keeps them.
Summary = tuple[str | None, str | None]


def kept_positions(
    sizes: Mapping[int, int],
    budget: int = BUDGET_BYTES,
    keep_latest: int = KEEP_LATEST,
    bases: Mapping[int, int | None] | None = None,
) -> set[int]:
    """Which of a crisis' snapshots (position -> stored bytes) to keep within `budget` bytes.

    The latest `keep_latest` always stay. Further back, while the whole is over the budget, the
    snapshot whose going leaves the narrowest gap (from the one before it, or the crisis' start,
    to the one after it) goes, the older one on a tie: what stays is spread as evenly as the
    budget allows, and a set within the budget is kept whole. `bases` gives each partial
    snapshot the whole one it completes: a whole snapshot stays while a partial one kept needs
    it, and the last whole one stays (the next partial ones will need it).
    """
    bases = bases or {}
    ordered = sorted(sizes)
    if len(ordered) <= keep_latest:
        return set(ordered)
    split = len(ordered) - max(keep_latest, 1)
    older, latest = ordered[:split], ordered[split:]
    needed = Counter(base for position, base in bases.items() if position in sizes and base)
    wholes = [position for position in ordered if bases.get(position) is None]
    if wholes:
        needed[wholes[-1]] += 1
    total = sum(sizes.values())
    while total > budget:
        narrowest, drop = None, -1
        for index, position in enumerate(older):
            if needed[position]:
                continue
            before = older[index - 1] if index else 0
            after = older[index + 1] if index + 1 < len(older) else latest[0]
            if narrowest is None or after - before < narrowest:
                narrowest, drop = after - before, index
        if drop < 0:
            break
        gone = older.pop(drop)
        total -= sizes[gone]
        base = bases.get(gone)
        if base:
            needed[base] -= 1
    return {*older, *latest}


# A snapshot's stored size; a row written before sizes were kept is weighed by reading it.
_SIZE = func.coalesce(
    picture_snapshots.c.stored_bytes,
    func.length(picture_snapshots.c.packed),
    func.length(picture_snapshots.c.picture),
)


@dataclass(frozen=True)
class FoundSnapshot:
    """A snapshot as read from its row (`SnapshotStore.find`): packed (with the whole snapshot
    it completes, if partial), or the JSON text of older rows."""

    crisis_id: str
    position: int
    packed: bytes | None
    text: str | None
    base: bytes | None

    async def open(self) -> StoredPicture | None:
        """The picture it holds (unpacked in a worker thread), or None if this version cannot
        read it."""
        if self.packed is None:
            text = cast("str", self.text)
            return StoredPicture(cast("dict[str, Any]", decode_snapshot(text)), {}, {})
        try:
            if self.base is None:
                return await asyncio.to_thread(unpack, self.packed)
            # Both at once, on two cores: zstd lets go of the GIL while it decompresses.
            found, whole = await asyncio.gather(
                asyncio.to_thread(_unpacked, self.packed), asyncio.to_thread(_unpacked, self.base)
            )
            return await asyncio.to_thread(_completed, found, whole)
        except SnapshotFormatError as exc:
            # Derived data: folding from the log instead is slower, never wrong.
            log.warning("picture.snapshot_unreadable", crisis_id=self.crisis_id, reason=str(exc))
            return None


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
        """Pack and keep an encoded snapshot, then thin that crisis' older ones.

        A whole snapshot replaces one at its position (the same picture), so that the partial
        ones to come complete it; a partial one leaves one there as it is."""
        packed = await asyncio.to_thread(pack, snapshot)
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        values = {
            "crisis_id": snapshot.crisis_id,
            "position": snapshot.position,
            "recorded_at": datetime.fromisoformat(snapshot.recorded_at),
            "events": snapshot.events,
            "picture": None,
            "packed": packed,
            "stored_bytes": len(packed),
            "base_position": snapshot.base,
        }
        statement = insert(picture_snapshots).values(**values)
        key = ["crisis_id", "position"]
        if snapshot.base is None:
            replaced = {name: value for name, value in values.items() if name not in key}
            statement = statement.on_conflict_do_update(index_elements=key, set_=replaced)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=key)
        of_crisis = picture_snapshots.c.crisis_id == snapshot.crisis_id
        async with self.engine.begin() as conn:
            await conn.execute(statement)
            rows = await conn.execute(
                select(
                    picture_snapshots.c.position, _SIZE, picture_snapshots.c.base_position
                ).where(of_crisis)
            )
            sizes, bases = {}, {}
            for position, size, base in rows:
                sizes[position], bases[position] = int(size), base
            kept = kept_positions(sizes, self.budget_bytes, self.keep_latest, bases)
            dropped = set(sizes) - kept
            if dropped:
                await conn.execute(
                    delete(picture_snapshots).where(
                        of_crisis, picture_snapshots.c.position.in_(sorted(dropped))
                    )
                )

    async def latest(self, crisis_id: str, until_position: int | None = None) -> Picture | None:
        """The last snapshot of a crisis at or before `until_position` (the last of all if None)."""
        found = await self.stored(crisis_id, until_position)
        return found.materialize() if found is not None else None

    async def stored(
        self, crisis_id: str, until_position: int | None = None
    ) -> StoredPicture | None:
        """`latest`, its entries left as stored until used."""
        found = await self.find(crisis_id, until_position)
        return await found.open() if found is not None else None

    async def find(self, crisis_id: str, until_position: int | None = None) -> FoundSnapshot | None:
        """The last snapshot of a crisis at or before `until_position` (the last of all if
        None), as stored: read, not yet unpacked. A partial snapshot comes with the whole one it
        completes; if that one is missing, the last whole one before is found instead."""
        columns = picture_snapshots.c
        of_crisis = columns.crisis_id == crisis_id
        query = select(
            columns.position, columns.packed, columns.picture, columns.base_position
        ).where(of_crisis)
        if until_position is not None:
            query = query.where(columns.position <= until_position)
        query = query.order_by(columns.position.desc()).limit(1)
        async with self.engine.connect() as conn:
            found = (await conn.execute(query)).first()
            if found is None:
                return None
            position, packed, text, base_at = found
            base = None
            if base_at is not None:
                at_base = select(columns.packed).where(of_crisis, columns.position == base_at)
                base = await conn.scalar(at_base)
                if base is None:
                    log.warning("picture.snapshot_base_missing", crisis_id=crisis_id, base=base_at)
                    whole = query.where(columns.base_position.is_(None))
                    found = (await conn.execute(whole)).first()
                    if found is None:
                        return None
                    position, packed, text, _ = found
        return FoundSnapshot(crisis_id, position, packed, text, base)

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
        """The size of the stored pictures, as stored (packed bytes, or text)."""
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
# must begin with the type and the current schema version (as every sender writes an envelope:
# those two first) and hold none of the other needles. The log stores the JSON orjson writes
# (compact, no escaped letters), where a quote inside a string is escaped and no event nests an
# object with these keys: each needle can only be a key of the event itself. Whatever does not
# surely match (spaces, another order, an older schema) is parsed. Three searches in C: a tenth
# of the cost of looking for each needle in turn, on the three quarters of a long crisis that
# are such entries.
_ENTRY_START = (
    '{"type":"maincourante.entry_recorded",'
    f'"schema_version":{_VERSIONS["maincourante.entry_recorded"]},'
)
_EXERCISE = '"status":"Exercise"'
_FOLLOW_UP = '"follow_up_owner":"'
_ENTRY_START_B, _EXERCISE_B, _FOLLOW_UP_B = (
    needle.encode() for needle in (_ENTRY_START, _EXERCISE, _FOLLOW_UP)
)


def counted_entry(payload: str | bytes) -> bool:
    """Whether a stored event is surely a main-courante entry of the current schema, not of an
    exercise, that asks for no follow-up (absent or null): one the fold only counts."""
    if isinstance(payload, bytes):
        return (
            payload.startswith(_ENTRY_START_B)
            and _EXERCISE_B not in payload
            and _FOLLOW_UP_B not in payload
        )
    return (
        payload.startswith(_ENTRY_START) and _EXERCISE not in payload and _FOLLOW_UP not in payload
    )


async def stored_picture_at(
    store: EventStore,
    snapshots: SnapshotStore,
    crisis_id: str,
    *,
    position: int | None = None,
    as_of: datetime | None = None,
) -> StoredPicture:
    """The picture of a crisis as it stood at `position`, or at instant `as_of` (stream time:
    what the cell knew then), or now, its untouched entries left as stored.

    It starts from the nearest snapshot before that point and folds the rest from the log, a
    chunk at a time in a worker thread: the live picture's event loop keeps its turns (`python
    -m bench.picture_probe lag` on the 1M-event crisis: the loop's p99 lag 16-21 ms against
    37-56 ms with the fold on the loop, reads as fast within the noise). An
    as-of read writes no snapshot: the live fold writes them, and thinning keeps them spread.
    """
    until = await _until(store, position, as_of)
    found = await snapshots.find(crisis_id, until)

    def read(after: int) -> AsyncGenerator[list[tuple[int, bytes]], None]:
        return store.read_payloads(
            crisis_id, after=after, until_position=until, chunk=5000, as_bytes=True
        )

    # The first events after the snapshot are read while it is unpacked (both mostly off the
    # GIL, on two cores); the next ones while the last are folded.
    chunks = read(found.position if found is not None else 0)
    first = asyncio.ensure_future(anext(chunks, None))
    try:
        picture = await found.open() if found is not None else None
    except BaseException:
        await _drop(first, chunks)
        raise
    if picture is None:
        picture = StoredPicture.new(crisis_id)
        if found is not None:
            # Unreadable: the log is folded from its start instead.
            await _drop(first, chunks)
            chunks = read(0)
            first = asyncio.ensure_future(anext(chunks, None))
    rows = await first
    while rows is not None:
        await asyncio.to_thread(picture.fold_run, rows)
        rows = await anext(chunks, None)
    return picture


async def _drop(first: asyncio.Future[Any], chunks: AsyncGenerator[Any, None]) -> None:
    """Stop a read begun ahead: its pending chunk, then the reader."""
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await chunks.aclose()


async def picture_at(
    store: EventStore,
    snapshots: SnapshotStore,
    crisis_id: str,
    *,
    position: int | None = None,
    as_of: datetime | None = None,
) -> Picture:
    """The whole picture of a crisis as it stood at `position`, or at instant `as_of` (stream
    time), or now: `stored_picture_at`, every entry then parsed."""
    found = await stored_picture_at(store, snapshots, crisis_id, position=position, as_of=as_of)
    return found.materialize()


async def _until(store: EventStore, position: int | None, as_of: datetime | None) -> int | None:
    if as_of is None:
        return position
    at_instant = await store.position_at(as_of)
    return at_instant if position is None else min(position, at_instant)
