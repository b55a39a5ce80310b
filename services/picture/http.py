"""The picture over HTTP: JSON for the picture, as of any instant, diffs, and a live SSE stream.

Every route but /health (and the schema: /docs, /openapi.json) needs `Authorization: Bearer
<token>` of a principal that may read: the pictures hold victims' names. The check is a
dependency of the whole application, so a route added later is guarded unless it is named in
`OPEN_PATHS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.auth.principals import Principal, TokenVerifier
from services.eventlog.store import EventStore
from services.picture.fold import Picture
from services.picture.live import LivePictures
from services.picture.snapshots import SnapshotStore, picture_at
from services.picture.views import comparable, diff, view
from services.runtime.streams import now_text

log = structlog.get_logger(__name__)

HEARTBEAT_S = 15.0
RECHECK_S = 30.0  # how often a live stream asks again whether its token still holds
SSE_BATCH = 500
# Routes that answer without a token; they must say nothing about any crisis.
OPEN_PATHS = frozenset({"/health"})

_BEARER = HTTPBearer(
    auto_error=False, description="A session token (`crisis login`) or a service token."
)


class JSON(Response):
    """orjson-encoded responses: pictures are large and already JSON-ready."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _aware(instant: datetime | None, name: str) -> datetime | None:
    if instant is not None and instant.tzinfo is None:
        raise HTTPException(422, f"{name} needs a time zone, e.g. 2020-10-02T14:32:00+02:00")
    return instant


@dataclass(frozen=True, slots=True)
class Reader:
    """Who is reading, and the token that proved it (kept to ask again during a stream)."""

    principal: Principal
    token: str


def _refused(request: Request, status: int, reason: str, **about: str) -> HTTPException:
    """Log a refused read (address and path, never the token) and the error to answer with."""
    client = request.client.host if request.client else None
    log.warning(
        "picture.read_refused",
        status=status,
        reason=reason,
        client=client,
        path=request.url.path,
        **about,
    )
    if status == 401:
        return HTTPException(
            401,
            "not logged in: send Authorization: Bearer <token> (see `crisis login`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return HTTPException(403, "this identity may not read the crises")


def reader_check(
    verifier: TokenVerifier | None,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Reader | None]]:
    """The dependency every route runs: the reader, or 401/403; None on an open path only."""

    async def reader(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Reader | None:
        if getattr(request.scope.get("route"), "path", None) in OPEN_PATHS:
            return None
        if credentials is None or not credentials.credentials:
            raise _refused(request, 401, "no bearer token")
        if verifier is None:  # nobody can be verified: nobody reads (never open by default)
            raise _refused(request, 401, "no token verifier configured")
        principal = await verifier.principal(credentials.credentials)
        if principal is None:
            raise _refused(request, 401, "unknown, expired or revoked token")
        if not principal.may_read:
            raise _refused(
                request, 403, "role may not read", ident=principal.ident, role=principal.role.value
            )
        who = request.state.reader = Reader(principal, credentials.credentials)
        return who

    return reader


def build_api(
    live: LivePictures,
    store: EventStore,
    snapshots: SnapshotStore,
    verifier: TokenVerifier | None,
    *,
    recheck_s: float = RECHECK_S,
) -> FastAPI:
    """The HTTP interface of the picture service; `verifier` None refuses every read."""
    reader = reader_check(verifier)
    api = FastAPI(
        title="crisis-cell: operational picture",
        description="The shared operational picture of each crisis: live, and as of any instant.",
        version="1",
        default_response_class=JSON,
        dependencies=[Depends(reader)],
    )

    async def still_reads(token: str) -> bool:
        if verifier is None:
            return False
        try:
            principal = await verifier.principal(token)
        except Exception:  # cannot tell: the stream ends rather than stay open
            log.exception("picture.token_recheck_failed")
            return False
        return principal is not None and principal.may_read

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
        """Liveness: the service answers and how far in the stream it is (open: no crisis data)."""
        last = max((p["position"] for p in live.pictures.values()), default=0)
        return {"status": "ok", "position": last}

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
        """Server-Sent Events: one `change` per event folded into this crisis' picture (`*`: all).

        The stream ends when its token stops being valid (asked again every `recheck_s`).
        """
        who: Reader | None = getattr(request.state, "reader", None)
        if who is None:  # only an open path has no reader, and this is not one
            raise _refused(request, 401, "no reader")
        token = who.token

        async def valid() -> bool:
            if await still_reads(token):
                return True
            client = request.client.host if request.client else None
            log.warning(
                "picture.stream_closed",
                reason="token no longer valid",
                client=client,
                path=request.url.path,
                ident=who.principal.ident,
            )
            return False

        return StreamingResponse(
            _sse(live, None if crisis_id == "*" else crisis_id, request, valid, recheck_s),
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


async def _sse(
    live: LivePictures,
    crisis_id: str | None,
    request: Request,
    valid: Callable[[], Awaitable[bool]],
    recheck_s: float,
) -> AsyncIterator[bytes]:
    queue = live.listen(crisis_id)
    clock = asyncio.get_running_loop().time
    check_at, beat_at = clock() + recheck_s, clock() + HEARTBEAT_S
    try:
        yield b": connected\n\n"
        while not await request.is_disconnected():
            if clock() >= check_at:
                if not await valid():
                    yield b": token no longer valid\n\n"
                    return
                check_at = clock() + recheck_s
            if clock() >= beat_at:
                if not live.listening(queue):
                    return
                yield b": keep-alive\n\n"
                beat_at = clock() + HEARTBEAT_S
            wait = max(0.01, min(check_at, beat_at) - clock())
            try:
                change = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                continue
            if change is None:
                return
            yield _sse_message(change)
            beat_at = clock() + HEARTBEAT_S
    finally:
        live.forget(queue)
