"""The picture over HTTP: JSON for the picture, as of any instant, diffs, and a live SSE stream.

Every route but /health (and the schema: /docs, /openapi.json) needs `Authorization: Bearer
<token>` of a principal that may read: the pictures hold victims' names. The check is a
dependency of the whole application, so a route added later is guarded unless it is named in
`OPEN_PATHS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol, Self

import orjson
import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.auth.principals import Principal, TokenVerifier
from services.eventlog.core import LogRecord
from services.eventlog.store import MAIN_COURANTE_TYPES, EventStore
from services.picture.fold import Picture
from services.picture.live import LivePictures
from services.picture.snapshots import SnapshotStore, StoredPicture, stored_picture_at
from services.picture.views import comparable, diff, view
from services.runtime.streams import instant_text, now_text

log = structlog.get_logger(__name__)

HEARTBEAT_S = 15.0
# At most this many changes in one write to a live client.
BURST = 256
# After a change, a live stream waits this long for more before it writes: a write per 10 ms at
# most, not one per event. It is most of the CPU of the live path at 1,000 events/s
# (bench/results-picture-live.md), and well inside its 50 ms budget.
LINGER_S = 0.01
RECHECK_S = 30.0  # how often a live stream asks again whether its token still holds
SSE_BATCH = 500
# Routes that answer without a token; they must say nothing about any crisis.
OPEN_PATHS = frozenset({"/health"})
MAIN_COURANTE_PAGE = 50
MAIN_COURANTE_MAX_PAGE = 200

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


Clock = Literal["cell", "world"]


class MainCouranteLog(Protocol):
    """What reading the full main courante needs of the event log."""

    async def main_courante(
        self,
        crisis_id: str,
        *,
        types: Sequence[str],
        actor: str | None,
        search: str | None,
        since: datetime | None,
        until: datetime | None,
        clock: Clock,
        after: int | None,
        newest_first: bool,
        limit: int,
    ) -> list[LogRecord]:
        """A page of one crisis' main courante, as EventStore.main_courante."""
        ...


@dataclass(frozen=True, slots=True)
class MainCouranteQuery:
    """One page asked of the full main courante: filters, cursor and page size (capped)."""

    crisis_id: str
    types: tuple[str, ...] = (MAIN_COURANTE_TYPES[0],)
    actor: str | None = None
    search: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    clock: Clock = "cell"
    after: int | None = None
    oldest_first: bool = False
    limit: int = MAIN_COURANTE_PAGE

    def __post_init__(self) -> None:
        unknown = sorted(set(self.types) - set(MAIN_COURANTE_TYPES))
        if unknown:
            raise ValueError(
                f"type {', '.join(unknown)} is not in the main courante; "
                f"choose among {', '.join(MAIN_COURANTE_TYPES)}"
            )
        if self.clock not in ("cell", "world"):
            raise ValueError(f"clock is cell or world, not {self.clock!r}")
        for name in ("since", "until"):
            instant = getattr(self, name)
            if instant is not None and instant.tzinfo is None:
                raise ValueError(f"{name} needs a time zone, e.g. 2020-10-02T14:32:00+02:00")
        if self.after is not None and self.after < 0:
            raise ValueError("after is a position, 0 or more")
        if self.limit < 1:
            raise ValueError("limit is 1 or more")

    @classmethod
    def from_params(cls, crisis_id: str, params: Mapping[str, str], types: list[str]) -> Self:
        """From a query string's values (`types`: every `type` given); ValueError if invalid."""
        text = {name: (params.get(name) or "").strip() or None for name in _PARAMS}
        limit, after = text["limit"], text["after"]
        if (limit and not limit.isdigit()) or (after and not after.isdigit()):
            raise ValueError("limit and after are whole numbers")
        if text["order"] not in (None, "newest", "oldest"):
            raise ValueError("order is newest or oldest")
        return cls(
            crisis_id,
            types=split_types(types),
            actor=text["actor"],
            search=text["q"],
            since=_instant(text["since"], "since"),
            until=_instant(text["until"], "until"),
            clock=text["clock"] or "cell",  # type: ignore[arg-type]  # checked in __post_init__
            after=int(after) if after else None,
            oldest_first=text["order"] == "oldest",
            limit=int(limit) if limit else MAIN_COURANTE_PAGE,
        )

    async def page(self, log: MainCouranteLog) -> dict[str, Any]:
        """The entries of this page and the cursor of the next one (None on the last page)."""
        size = min(self.limit, MAIN_COURANTE_MAX_PAGE)
        # One more than the page: a full last page then says there is nothing after it.
        records = await log.main_courante(
            self.crisis_id,
            types=self.types,
            actor=self.actor,
            search=self.search,
            since=self.since,
            until=self.until,
            clock=self.clock,
            after=self.after,
            newest_first=not self.oldest_first,
            limit=size + 1,
        )
        shown = records[:size]
        more = len(records) > size
        return {
            "crisis_id": self.crisis_id,
            "order": "oldest" if self.oldest_first else "newest",
            "entries": [main_courante_item(record) for record in shown],
            "next": shown[-1].position if more else None,
        }


_PARAMS = ("actor", "q", "since", "until", "clock", "after", "order", "limit")


def split_types(given: Sequence[str]) -> tuple[str, ...]:
    """`type` values, repeated or comma-separated; the entries alone when none is given."""
    types = tuple(
        dict.fromkeys(t.strip() for value in given for t in value.split(",") if t.strip())
    )
    return types or (MAIN_COURANTE_TYPES[0],)


def _instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an ISO 8601 instant") from None


def main_courante_item(record: LogRecord) -> dict[str, Any]:
    """A record of the main courante as the API, the console and the command line show it."""
    e = record.event().model_dump(mode="json")
    owner = e.get("follow_up_owner") or (e.get("assignee") if "task_id" in e else None)
    due = e.get("follow_up_due") or e.get("due_at")
    return {
        "position": record.position,
        "number": record.mc_number,
        "type": record.type,
        "status": record.status,
        "recorded_at": instant_text(record.recorded_at),
        "occurred_at": instant_text(record.occurred_at),
        "actor": record.actor,
        "entry_id": e.get("entry_id"),
        "decision_id": e.get("decision_id"),
        "task_id": e.get("task_id"),
        "direction": e.get("direction"),
        "sender": e.get("sender") or e.get("taken_by"),
        "recipient": e.get("recipient") or e.get("assignee"),
        "medium": e.get("medium"),
        "priority": e.get("priority"),
        "text": e.get("text") or e.get("title") or e.get("outcome"),
        "follow_up": {"owner": owner, "due": due} if owner else None,
        "corrects_entry_id": e.get("corrects_entry_id"),
    }


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

    _picture_routes(api, live, store, snapshots)
    _main_courante_route(api, store)

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


def _picture_routes(
    api: FastAPI, live: LivePictures, store: EventStore, snapshots: SnapshotStore
) -> None:
    """GET /crises/{crisis_id}/picture and /diff: now, or as of a past point."""

    async def stored_then(
        crisis_id: str, position: int | None, as_of: datetime | None
    ) -> tuple[StoredPicture, str]:
        stored = await stored_picture_at(
            store, snapshots, crisis_id, position=position, as_of=as_of
        )
        picture = stored.picture
        if picture["events"] == 0 and crisis_id not in live.pictures:
            raise HTTPException(404, f"no crisis {crisis_id!r}: see GET /crises")
        at = as_of.astimezone(UTC).isoformat() if as_of else picture["recorded_at"] or now_text()
        return stored, at

    async def picture_then(
        crisis_id: str, position: int | None, as_of: datetime | None
    ) -> tuple[Picture, str]:
        if position is None and as_of is None:
            found = live.pictures.get(crisis_id)
            if found is None:
                raise HTTPException(404, f"no crisis {crisis_id!r}: see GET /crises")
            return found, now_text()
        stored, at = await stored_then(crisis_id, position, as_of)
        return stored.materialize(), at

    @api.get("/crises/{crisis_id}/picture")
    async def crisis_picture(
        crisis_id: str,
        as_of: Annotated[datetime | None, Query(description="ISO instant with offset.")] = None,
        position: Annotated[int | None, Query(ge=0, description="Stream position.")] = None,
    ) -> Response:
        """The picture now, or as it stood at `as_of` (what the cell knew then) or `position`.

        Returned as a response, not a dict: FastAPI would walk the whole picture to encode it,
        and a picture as of a past point is mostly entries written as stored.
        """
        as_of = _aware(as_of, "as_of")
        if position is None and as_of is None:
            picture, at = await picture_then(crisis_id, None, None)
            return JSON(view(picture, at))
        stored, at = await stored_then(crisis_id, position, as_of)
        # Shown and encoded off the event loop, as it was folded: live clients keep their turns.
        return Response(await asyncio.to_thread(stored.shown_json, at), media_type=JSON.media_type)

    @api.get("/crises/{crisis_id}/diff")
    async def crisis_diff(
        crisis_id: str,
        from_: Annotated[
            str, Query(alias="from", description="ISO instant, position, or `last-sitrep`.")
        ],
        to: Annotated[
            str | None, Query(description="ISO instant or position; now if unset.")
        ] = None,
    ) -> JSON:
        """What changed between two instants (for example since the last point de situation)."""
        after, _ = await picture_then(crisis_id, *_point(to))
        if from_ == "last-sitrep":
            if after["sitrep"] is None:
                raise HTTPException(404, "no situation report yet at that point")
            from_ = after["sitrep"]["recorded_at"]
        before, _ = await picture_then(crisis_id, *_point(from_))
        changes = diff(comparable(before), comparable(after))
        # A response, not a dict: FastAPI would walk every change to encode it again.
        return JSON(
            {
                "from": {"position": before["position"], "recorded_at": before["recorded_at"]},
                "to": {"position": after["position"], "recorded_at": after["recorded_at"]},
                "changes": changes,
            }
        )


def _main_courante_route(api: FastAPI, store: MainCouranteLog) -> None:
    """GET /crises/{crisis_id}/main-courante: guarded, as every route, by the app's reader check."""

    @api.get("/crises/{crisis_id}/main-courante")
    async def crisis_main_courante(
        crisis_id: str,
        *,
        type_: Annotated[
            list[str] | None,
            Query(
                alias="type",
                description="Event types, repeated or comma-separated (default: the entries): "
                + ", ".join(MAIN_COURANTE_TYPES),
            ),
        ] = None,
        actor: Annotated[str | None, Query(max_length=500, description="Who recorded it.")] = None,
        q: Annotated[
            str | None, Query(max_length=500, description="Text searched, any case.")
        ] = None,
        since: Annotated[datetime | None, Query(description="ISO instant, included.")] = None,
        until: Annotated[datetime | None, Query(description="ISO instant, included.")] = None,
        clock: Annotated[
            Clock, Query(description="`cell`: recorded_at; `world`: occurred_at.")
        ] = "cell",
        after: Annotated[
            int | None, Query(ge=0, description="The `next` of the previous page.")
        ] = None,
        order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
        limit: Annotated[
            int, Query(ge=1, description=f"Page size, at most {MAIN_COURANTE_MAX_PAGE}.")
        ] = MAIN_COURANTE_PAGE,
    ) -> dict[str, Any]:
        """The full main courante from the log, a page at a time, filtered; `next` pages on."""
        try:
            query = MainCouranteQuery(
                crisis_id,
                types=split_types(type_ or []),
                actor=actor,
                search=q,
                since=since,
                until=until,
                clock=clock,
                after=after,
                oldest_first=order == "oldest",
                limit=limit,
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return await query.page(store)


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


async def _next_changes(
    queue: asyncio.Queue[dict[str, Any] | None], wait: float, linger: float = LINGER_S
) -> list[dict[str, Any] | None]:
    """The changes queued (at most `BURST`), waiting up to `wait` for one, then `linger` for
    more; None ends the list."""
    if queue.empty():
        try:
            async with asyncio.timeout(wait):  # no task per wait, unlike asyncio.wait_for
                changes = [await queue.get()]
        except TimeoutError:
            return []
    else:
        changes = [queue.get_nowait()]
    if linger > 0 and changes[0] is not None and queue.qsize() < BURST:
        await asyncio.sleep(linger)
    while changes[-1] is not None and len(changes) < BURST and not queue.empty():
        changes.append(queue.get_nowait())
    return changes


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
        while True:
            if clock() >= check_at:
                if not await valid():
                    yield b": token no longer valid\n\n"
                    return
                check_at = clock() + recheck_s
            if clock() >= beat_at:
                # A client gone is seen here (or when a write fails), not at every event: asking
                # the server costs more than the event itself.
                if not live.listening(queue) or await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                beat_at = clock() + HEARTBEAT_S
            changes = await _next_changes(queue, max(0.01, min(check_at, beat_at) - clock()))
            if not changes:
                continue
            # What queued up meanwhile goes in the same write: one send per burst, not per event.
            yield b"".join(_sse_message(change) for change in changes if change is not None)
            if changes[-1] is None:
                return
            beat_at = clock() + HEARTBEAT_S
    finally:
        live.forget(queue)
