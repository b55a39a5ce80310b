"""Snapshots of crisis pictures in the database, and the picture at any position or instant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.wire import REGISTRY
from services.eventlog.store import EventStore
from services.eventlog.tables import picture_snapshots
from services.picture.fold import Picture, fold, new_picture


class SnapshotStore:
    """Pictures kept as they stood at a position, one row per crisis and position."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, picture: Picture) -> None:
        """Keep `picture` as it stands (a snapshot already there for that position stays)."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(picture_snapshots)
            .values(
                crisis_id=picture["crisis_id"],
                position=picture["position"],
                recorded_at=datetime.fromisoformat(picture["recorded_at"]),
                events=picture["events"],
                picture=orjson.dumps(picture).decode(),
            )
            .on_conflict_do_nothing(index_elements=["crisis_id", "position"])
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

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
        return orjson.loads(found) if found else None

    async def count(self, crisis_id: str | None = None) -> int:
        """How many snapshots are kept."""
        query = select(func.count()).select_from(picture_snapshots)
        if crisis_id is not None:
            query = query.where(picture_snapshots.c.crisis_id == crisis_id)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query) or 0)


def wire_event(payload: str | bytes) -> dict[str, Any]:
    """A stored event as the fold takes it: its wire dict, upcast if from an older schema."""
    event: dict[str, Any] = orjson.loads(payload)
    if event.get("schema_version") != REGISTRY.current_version(event["type"]):
        event = REGISTRY.upcast(event)
    return event


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
    async for rows in store.read_payloads(
        crisis_id, after=picture["position"], until_position=until, chunk=5000
    ):
        for at_position, payload in rows:
            event = wire_event(payload)
            fold(picture, event, at_position, event["recorded_at"])
            if snapshot_every and picture["events"] % snapshot_every == 0:
                await snapshots.save(picture)
    return picture
