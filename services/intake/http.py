"""The intake over HTTP: `POST /feeds/{feed}/cap|geojson|events`, one bearer token per feed.

The token and the feed's rate are checked before a byte of the body is read: a post without a
valid token, or over its feed's rate, is answered at once and nothing of it is kept (it is
counted and logged, with the client's address and the feed named, never the token).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from schemas.subjects import SubjectError
from schemas.subjects import token as subject_token
from services.intake.core import Form, Outcome
from services.intake.errors import Rejection
from services.intake.feeds import FeedRegistry
from services.intake.ratelimit import retry_after
from services.runtime.publish import PublishError

UNKNOWN_FEED = "unknown"


class Submitter(Protocol):
    """What the API hands inputs to: the live intake."""

    async def submit(
        self,
        raw: bytes,
        *,
        name: str,
        feed: str,
        form: Form,
        content_type: str | None,
        allow_hosts: Sequence[str],
    ) -> list[Outcome]:
        """Read, publish and keep one input; the outcomes say what became of it."""

    async def refuse(
        self, raw: bytes, error: Rejection, *, name: str, feed: str, content_type: str | None
    ) -> None:
        """Keep an authenticated input refused before it was read (oversized)."""

    def unauthorised(self, *, feed: str, client: str | None, declared_bytes: str | None) -> None:
        """Count and log a post without a valid token."""

    def admit(self, feed: str, *, client: str | None = None) -> float | None:
        """None if the feed may post now; else the seconds until it may."""


def build_api(intake: Submitter, feeds: FeedRegistry, *, max_bytes: int) -> FastAPI:
    """The intake's HTTP API."""
    api = FastAPI(
        title="crisis-cell intake",
        description=(
            "Feeds post CAP (alone, in Atom/RSS or EDXL-DE), GeoJSON, or the project's own JSON "
            "events. Each feed has its own bearer token. Every input gets one outcome per alert: "
            "accepted with its events, or refused with the reason and the element at fault; "
            "refused inputs are kept, raw, with the reason."
        ),
    )

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    async def take(request: Request, feed: str, form: Form) -> JSONResponse:
        client = request.client.host if request.client else None
        sender = feeds.authenticate(feed, _bearer(request.headers.get("authorization")))
        if sender is None:
            # Refused unread: the body is never buffered, so nothing of it can be kept.
            intake.unauthorised(feed=_safe(feed), client=client, declared_bytes=_declared(request))
            return _error(
                401,
                "unauthorised sender: no valid bearer token for this feed",
                headers={"WWW-Authenticate": "Bearer"},
            )
        wait = intake.admit(sender.name, client=client)
        if wait is not None:
            return _error(
                429,
                "too many posts from this feed: send again after Retry-After seconds",
                headers={"Retry-After": retry_after(wait)},
            )
        content_type = request.headers.get("content-type")
        raw, too_big = await _body(request, max_bytes)
        name = f"POST /feeds/{sender.name}"
        if too_big:
            error = Rejection(
                f"input over the limit of {max_bytes:,} bytes (CRISIS_INTAKE_MAX_BYTES)", "/"
            )
            await intake.refuse(raw, error, name=name, feed=sender.name, content_type=content_type)
            return _error(413, error.reason)
        try:
            outcomes = await intake.submit(
                raw,
                name=name,
                feed=sender.name,
                form=form,
                content_type=content_type,
                allow_hosts=sender.allow_hosts,
            )
        except PublishError as exc:
            return _error(503, f"the bus did not take the input, send it again: {exc}")
        refused = sum(o.refused for o in outcomes)
        body = {
            "accepted": sum(o.accepted for o in outcomes),
            "refused": refused,
            "outcomes": [o.to_json() for o in outcomes],
        }
        return JSONResponse(body, status_code=422 if refused else 200)

    @api.post("/feeds/{feed}/cap", summary="CAP alerts: a CAP document, an Atom or RSS feed, EDXL")
    async def post_cap(feed: str, request: Request) -> JSONResponse:
        return await take(request, feed, "xml")

    @api.post("/feeds/{feed}/geojson", summary="GeoJSON Feature or FeatureCollection")
    async def post_geojson(feed: str, request: Request) -> JSONResponse:
        return await take(request, feed, "geojson")

    @api.post("/feeds/{feed}/events", summary="The project's own JSON events, one or a list")
    async def post_events(feed: str, request: Request) -> JSONResponse:
        return await take(request, feed, "events")

    return api


async def _body(request: Request, max_bytes: int) -> tuple[bytes, bool]:
    """The body, read up to one byte past the limit; True when it went past."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return bytes(body[: max_bytes + 1]), True
    return bytes(body), False


def _declared(request: Request) -> str | None:
    """The Content-Length the sender declared, if it is a number (it is only logged)."""
    value = request.headers.get("content-length", "")
    return value if value.isdigit() and len(value) <= 20 else None


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _safe(feed: str) -> str:
    try:
        return subject_token(feed)
    except SubjectError:
        return UNKNOWN_FEED


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    return JSONResponse(body, status_code=status, headers=headers)
