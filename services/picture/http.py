"""The picture over HTTP: JSON for the picture, as of any instant, diffs, and a live SSE stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from services.eventlog.store import EventStore
from services.picture.fold import Picture
from services.picture.live import LivePictures
from services.picture.snapshots import SnapshotStore, picture_at
from services.picture.views import comparable, diff, view
from services.runtime.streams import now_text

HEARTBEAT_S = 15.0
SSE_BATCH = 500


class JSON(Response):
    """orjson-encoded responses: pictures are large and already JSON-ready."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _aware(instant: datetime | None, name: str) -> datetime | None:
    if instant is not None and instant.tzinfo is None:
        raise HTTPException(422, f"{name} needs a time zone, e.g. 2020-10-02T14:32:00+02:00")
    return instant


def build_api(live: LivePictures, store: EventStore, snapshots: SnapshotStore) -> FastAPI:
    """The HTTP interface of the picture service."""
    api = FastAPI(
        title="crisis-cell: operational picture",
        description="The shared operational picture of each crisis: live, and as of any instant.",
        version="1",
        default_response_class=JSON,
    )

    async def picture_then(
        crisis_id: str, position: int | None, as_of: datetime | None
    ) -> tuple[Picture, str]:
        if position is None and as_of is None:
            found = live.pictures.get(crisis_id)
            if found is None:
                raise HTTPException(404, f"no crisis {crisis_id!r}: see GET /crises")
            return found, now_text()
        picture = await picture_at(
            store,
            snapshots,
            crisis_id,
            position=position,
            as_of=as_of,
            snapshot_every=live.snapshot_every,
        )
        if picture["events"] == 0 and crisis_id not in live.pictures:
            raise HTTPException(404, f"no crisis {crisis_id!r}: see GET /crises")
        at = as_of.astimezone(UTC).isoformat() if as_of else picture["recorded_at"] or now_text()
        return picture, at

    @api.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: the service answers and how far its pictures are."""
        last = max((p["position"] for p in live.pictures.values()), default=0)
        return {"status": "ok", "crises": len(live.pictures), "position": last}

    @api.get("/crises")
    async def crises() -> list[dict[str, Any]]:
        """Every crisis with its headline figures."""
        return [
            {
                "crisis_id": p["crisis_id"],
                "name": p["name"],
                "state": p["state"],
                "exercise": p["exercise"],
                "departement": p["departement"],
                "events": p["events"],
                "position": p["position"],
                "recorded_at": p["recorded_at"],
                "open_incidents": sum(1 for i in p["incidents"].values() if i["state"] == "open"),
                "active_plans": sorted(
                    c for c, pl in p["plans"].items() if pl["state"] == "active"
                ),
            }
            for p in sorted(live.pictures.values(), key=lambda p: p["position"])
        ]

    @api.get("/crises/{crisis_id}/picture")
    async def crisis_picture(
        crisis_id: str,
        as_of: Annotated[datetime | None, Query(description="ISO instant with offset.")] = None,
        position: Annotated[int | None, Query(ge=0, description="Stream position.")] = None,
    ) -> dict[str, Any]:
        """The picture now, or as it stood at `as_of` (what the cell knew then) or `position`."""
        picture, at = await picture_then(crisis_id, position, _aware(as_of, "as_of"))
        return view(picture, at)

    @api.get("/crises/{crisis_id}/diff")
    async def crisis_diff(
        crisis_id: str,
        from_: Annotated[
            str, Query(alias="from", description="ISO instant, position, or `last-sitrep`.")
        ],
        to: Annotated[
            str | None, Query(description="ISO instant or position; now if unset.")
        ] = None,
    ) -> dict[str, Any]:
        """What changed between two instants (for example since the last point de situation)."""
        after, _ = await picture_then(crisis_id, *_point(to))
        if from_ == "last-sitrep":
            if after["sitrep"] is None:
                raise HTTPException(404, "no situation report yet at that point")
            from_ = after["sitrep"]["recorded_at"]
        before, _ = await picture_then(crisis_id, *_point(from_))
        changes = diff(comparable(before), comparable(after))
        return {
            "from": {"position": before["position"], "recorded_at": before["recorded_at"]},
            "to": {"position": after["position"], "recorded_at": after["recorded_at"]},
            "changes": changes,
        }

    @api.get("/crises/{crisis_id}/events")
    async def crisis_events(crisis_id: str, request: Request) -> StreamingResponse:
        """Server-Sent Events: one `change` per event folded into this crisis' picture."""
        return StreamingResponse(
            _sse(live, None if crisis_id == "*" else crisis_id, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return api


def _point(value: str | None) -> tuple[int | None, datetime | None]:
    if value is None:
        return None, datetime.now(UTC)
    if value.isdigit():
        return int(value), None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{value!r} is neither a position nor an ISO instant") from None
    return None, _aware(instant, value)


def _sse_message(change: dict[str, Any]) -> bytes:
    data = orjson.dumps(change)
    return b"event: change\nid: %d\ndata: %s\n\n" % (change["position"], data)


async def _sse(live: LivePictures, crisis_id: str | None, request: Request) -> AsyncIterator[bytes]:
    queue = live.listen(crisis_id)
    try:
        yield b": connected\n\n"
        while not await request.is_disconnected():
            try:
                change = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
            except TimeoutError:
                if not live.listening(queue):
                    return
                yield b": keep-alive\n\n"
                continue
            if change is None:
                return
            yield b"event: change\nid: %d\ndata: %s\n\n" % (
                change["position"],
                orjson.dumps(change),
            )
    finally:
        live.forget(queue)
