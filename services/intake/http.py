"""The intake over HTTP: `POST /feeds/{feed}/cap|geojson|events`, one bearer token per feed."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from schemas.subjects import SubjectError
from schemas.subjects import token as subject_token
from services.intake.core import Form, Outcome
from services.intake.errors import Rejection
from services.intake.feeds import FeedRegistry
from services.runtime.publish import PublishError

UNKNOWN_FEED = "unknown"


class Submitter(Protocol):
    """What the API hands inputs to: the live intake."""

    async def submit(
        self, raw: bytes, *, name: str, feed: str, form: Form, content_type: str | None
    ) -> list[Outcome]:
        """Read, publish and keep one input; the outcomes say what became of it."""

    async def refuse(
        self, raw: bytes, error: Rejection, *, name: str, feed: str, content_type: str | None
    ) -> None:
        """Keep an input refused before it was read (unauthorised, oversized)."""


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
        content_type = request.headers.get("content-type")
        raw, too_big = await _body(request, max_bytes)
        name = f"POST /feeds/{feed[:64]}"
        if too_big:
            error = Rejection(
                f"input over the limit of {max_bytes:,} bytes (CRISIS_INTAKE_MAX_BYTES)", "/"
            )
            await intake.refuse(raw, error, name=name, feed=_safe(feed), content_type=content_type)
            return _error(413, error.reason)
        token = _bearer(request.headers.get("authorization"))
        if feeds.authenticate(feed, token) is None:
            error = Rejection(
                "unauthorised sender: no valid bearer token for this feed", "Authorization"
            )
            await intake.refuse(raw, error, name=name, feed=_safe(feed), content_type=content_type)
            return _error(401, error.reason, headers={"WWW-Authenticate": "Bearer"})
        try:
            outcomes = await intake.submit(
                raw, name=name, feed=feed, form=form, content_type=content_type
            )
        except PublishError as exc:
            return _error(503, f"the bus did not take the input, send it again: {exc}")
        refused = sum(not o.accepted for o in outcomes)
        body = {
            "accepted": len(outcomes) - refused,
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
