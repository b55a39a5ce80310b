"""The console's HTTP: the page, login, the pictures live (SSE), and acts handed to the cell."""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from fastapi import FastAPI, Form, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles

from schemas.envelope import STANDING_WATCH, utc_now
from services.auth.passwords import Refused
from services.cell.core import allowed
from services.cell.people import READ_ONLY, Person
from services.console.auth import COOKIE, Session, Sessions
from services.picture.fold import Picture, new_picture
from services.picture.http import MainCouranteLog, MainCouranteQuery
from services.picture.views import view
from services.runtime.settings import Settings
from services.runtime.streams import instant_text

STATIC = Path(__file__).parent / "static"
ACTS = (
    "open_crisis",
    "close_crisis",
    "convene_cod",
    "stand_down_cod",
    "report_incident",
    "update_incident",
    "close_incident",
    "assess_bilan",
    "propose_plan",
    "activate_plan",
    "deactivate_plan",
    "change_vigipirate",
    "engage_resource",
    "record_entry",
    "close_follow_up",
    "take_decision",
    "assign_task",
    "complete_task",
    "draft_sitrep",
    "issue_sitrep",
    "set_sitrep_cadence",
    "draft_alert",
    "issue_alert",
    "publish_press_release",
)
PING_S = 15.0
COALESCE_S = 0.2


class Backend(Protocol):
    """What the console's HTTP needs from the running service."""

    @property
    def pictures(self) -> dict[str, Picture]:
        """Every crisis' live picture."""

    def listen(self, crisis_id: str) -> asyncio.Queue[None]:
        """A queue woken at each change of a crisis."""

    def forget(self, crisis_id: str, queue: asyncio.Queue[None]) -> None:
        """Stop waking a queue."""

    async def act(self, actor: str, command: dict[str, Any]) -> dict[str, Any]:
        """Hand an act to the cell service."""

    async def rejected(self, limit: int) -> list[dict[str, Any]]:
        """The most recent rejected inputs."""

    async def sitrep_html(self, crisis_id: str, number: int, draft: bool) -> bytes | None:
        """A point de situation as its HTML page."""

    async def span(self, crisis_id: str) -> dict[str, Any] | None:
        """The first and last recorded instants of a crisis in the log, and its event count."""

    async def picture_as_of(self, crisis_id: str, at: datetime) -> Picture:
        """The picture of a crisis as the cell knew it at `at`, from the log."""

    @property
    def store(self) -> MainCouranteLog:
        """The event log: the full main courante is read from it."""


def build_api(backend: Backend, sessions: Sessions, settings: Settings) -> FastAPI:
    """The console's web application."""
    api = FastAPI(title="crisis-cell console", docs_url=None, redoc_url=None)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    policy = _security_policy(settings.console_tiles_url)

    @api.middleware("http")
    async def secured(request: Request, call_next: Any) -> Response:
        reply: Response = await call_next(request)
        reply.headers["Content-Security-Policy"] = policy
        reply.headers["X-Content-Type-Options"] = "nosniff"
        reply.headers["Referrer-Policy"] = "same-origin"
        return reply

    def signed_in(request: Request) -> tuple[Session, Person] | None:
        return sessions.find(request.cookies.get(COOKIE))

    def _401() -> JSONResponse:
        return JSONResponse({"error": "not logged in"}, status_code=401)

    _pages(api, sessions, settings)

    @api.get("/api/me", response_model=None)
    async def me(request: Request) -> Response:
        found = signed_in(request)
        if found is None:
            return _401()
        session, person = found
        tiles = settings.console_tiles_url
        return JSONResponse(
            {
                "ident": person.ident,
                "name": person.name or person.ident,
                "role": person.role.value,
                "csrf": session.csrf,
                "lang": request.cookies.get("crisis_lang", "fr"),
                "can": [a for a in ACTS if allowed(a, person.role)],
                "tiles": {"url": tiles, "attribution": settings.console_tiles_attribution}
                if tiles
                else None,
                "expires_at": instant_text(sessions.expires_at(session)),
            }
        )

    @api.get("/api/crises", response_model=None)
    async def crises(request: Request) -> Response:
        if signed_in(request) is None:
            return _401()
        pictures = dict(backend.pictures)
        pictures.setdefault(STANDING_WATCH, new_picture(STANDING_WATCH))
        return JSONResponse([_summary(p) for p in pictures.values()])

    @api.get("/api/crises/{crisis_id}", response_model=None)
    async def picture(crisis_id: str, request: Request) -> Response:
        if signed_in(request) is None:
            return _401()
        return Response(_view(backend, crisis_id), media_type="application/json")

    @api.get("/api/crises/{crisis_id}/stream", response_model=None)
    async def stream(crisis_id: str, request: Request) -> Response:
        if signed_in(request) is None:
            return _401()
        return StreamingResponse(
            _changes(
                backend, crisis_id, request, lambda: sessions.holds(request.cookies.get(COOKIE))
            ),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @api.get("/api/rejected", response_model=None)
    async def rejected(request: Request, limit: int = 50) -> Response:
        if signed_in(request) is None:
            return _401()
        return JSONResponse(await backend.rejected(max(1, min(limit, 500))))

    @api.get("/api/crises/{crisis_id}/sitreps/{number}.html", response_model=None)
    async def sitrep(crisis_id: str, number: int, request: Request, draft: int = 0) -> Response:
        if signed_in(request) is None:
            return _401()
        page = await backend.sitrep_html(crisis_id, number, bool(draft))
        if page is None:
            return Response("no such point de situation", status_code=404)
        return Response(page, media_type="text/html; charset=utf-8")

    _review(api, backend, sessions)
    _main_courante(api, backend, sessions)

    @api.post("/api/crises/{crisis_id}/act", response_model=None)
    async def act(crisis_id: str, request: Request) -> Response:
        found = signed_in(request)
        if found is None:
            return _401()
        session, person = found
        if not _csrf_ok(request, session):
            return JSONResponse({"ok": False, "error": "missing or wrong CSRF token"}, 403)
        if person.role in READ_ONLY:
            return JSONResponse(
                {"ok": False, "error": f"{person.ident} is {person.role.value}: read only"}, 403
            )
        try:
            command = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return JSONResponse({"ok": False, "error": "the act is not JSON"}, 400)
        if not isinstance(command, dict):
            return JSONResponse({"ok": False, "error": "the act is a JSON object"}, 400)
        answer = await backend.act(person.ident, {**command, "crisis_id": crisis_id})
        return JSONResponse(
            answer, status_code=200 if "error" not in answer or "ok" in answer else 503
        )

    return api


def _pages(api: FastAPI, sessions: Sessions, settings: Settings) -> None:
    """The page, login and logout."""
    login_html = (STATIC / "login.html").read_text(encoding="utf-8")

    def signed_in(request: Request) -> tuple[Session, Person] | None:
        return sessions.find(request.cookies.get(COOKIE))

    @api.get("/", response_model=None)
    async def page(request: Request) -> Response:
        if signed_in(request) is None:
            return RedirectResponse("/login", status_code=303)
        return FileResponse(STATIC / "index.html", headers=_NO_CACHE)

    @api.get("/login", response_model=None)
    async def login_page(request: Request) -> Response:
        # Kept when it is one of ours: a second login tab must not void the first one's token.
        token = request.cookies.get(LOGIN_CSRF, "")
        if not _LOGIN_TOKEN.fullmatch(token):
            token = secrets.token_urlsafe(32)
        reply = HTMLResponse(login_html.replace("{{login_csrf}}", token), headers=_NO_CACHE)
        reply.set_cookie(
            LOGIN_CSRF,
            token,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=_secure(request, settings),
        )
        return reply

    @api.post("/login", response_model=None)
    async def login(
        request: Request,
        ident: str = Form(...),
        password: str = Form(...),
        lang: str = Form("fr"),
        csrf: str = Form(""),
    ) -> Response:
        if not _same_origin(request) or not _login_csrf_ok(request, csrf):
            return PlainTextResponse(_LOGIN_FORGED, status_code=403)
        address = request.client.host if request.client is not None else ""
        outcome = await sessions.log_in(ident.strip(), password, address)
        if isinstance(outcome, Refused):
            if outcome.retry_after:
                return PlainTextResponse(
                    _LOGIN_THROTTLED,
                    status_code=429,
                    headers={"Retry-After": str(outcome.retry_after)},
                )
            return RedirectResponse("/login?error=1", status_code=303)
        secure = _secure(request, settings)
        reply = RedirectResponse("/", status_code=303)
        reply.set_cookie(
            COOKIE,
            outcome.token,
            httponly=True,
            samesite="strict",
            secure=secure,
            max_age=int(timedelta(hours=settings.console_session_hours).total_seconds()),
        )
        reply.delete_cookie(LOGIN_CSRF, path="/login", secure=secure, samesite="strict")
        reply.set_cookie(
            "crisis_lang", "en" if lang == "en" else "fr", samesite="strict", secure=secure
        )
        return reply

    @api.post("/logout", response_model=None)
    async def logout(request: Request) -> Response:
        found = signed_in(request)
        if found is not None:
            if not _csrf_ok(request, found[0]):
                return JSONResponse({"error": "missing or wrong CSRF token"}, status_code=403)
            sessions.log_out(found[0].token)
        reply = RedirectResponse("/login", status_code=303)
        reply.delete_cookie(
            COOKIE, httponly=True, samesite="strict", secure=_secure(request, settings)
        )
        return reply


LOGIN_CSRF = "crisis_login_csrf"
_LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what token_urlsafe(32) makes: safe in HTML
_LOGIN_FORGED = (
    "Connexion refusée : rechargez la page de connexion et réessayez.\n"
    "Login refused: reload the login page and try again.\n"
)
_LOGIN_THROTTLED = (
    "Trop d'essais : patientez avant de réessayer.\nToo many attempts: wait before trying again.\n"
)


def _secure(request: Request, settings: Settings) -> bool:
    """Cookies are for TLS only when the deployment says so or the request came over https."""
    return settings.console_secure_cookies or request.url.scheme == "https"


def _same_origin(request: Request) -> bool:
    """No Origin header (an old browser, a script), or the console's own: not another site's."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc == host


def _login_csrf_ok(request: Request, token: str) -> bool:
    """The form carries the token of the login page's cookie (which another site cannot read)."""
    cookie = request.cookies.get(LOGIN_CSRF, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), token.encode())


def _review(api: FastAPI, backend: Backend, sessions: Sessions) -> None:
    """The review's time slider: a crisis' span in the log, and its picture at any instant."""

    def signed_in(request: Request) -> tuple[Session, Person] | None:
        return sessions.find(request.cookies.get(COOKIE))

    def _401() -> JSONResponse:
        return JSONResponse({"error": "not logged in"}, status_code=401)

    @api.get("/api/crises/{crisis_id}/span", response_model=None)
    async def span(crisis_id: str, request: Request) -> Response:
        if signed_in(request) is None:
            return _401()
        found = await backend.span(crisis_id)
        if found is None:
            return JSONResponse({"error": f"the log holds nothing of {crisis_id}"}, 404)
        return JSONResponse(found)

    @api.get("/api/crises/{crisis_id}/as_of", response_model=None)
    async def as_of(crisis_id: str, at: str, request: Request) -> Response:
        """The picture as the cell knew it at an instant: the review's time slider."""
        if signed_in(request) is None:
            return _401()
        try:
            instant = datetime.fromisoformat(at)
        except ValueError:
            return JSONResponse({"error": f"{at!r} is not an ISO 8601 instant"}, 400)
        if instant.tzinfo is None:
            return JSONResponse({"error": f"{at!r} has no UTC offset"}, 400)
        picture = await backend.picture_as_of(crisis_id, instant)
        return Response(
            orjson.dumps(view(picture, instant_text(instant))), media_type="application/json"
        )


def _main_courante(api: FastAPI, backend: Backend, sessions: Sessions) -> None:
    """The full main courante from the log, paged and filtered, for a signed-in person."""

    @api.get("/api/crises/{crisis_id}/main-courante", response_model=None)
    async def main_courante(crisis_id: str, request: Request) -> Response:
        # The session first: nothing, not even a complaint about the filters, before it.
        if sessions.find(request.cookies.get(COOKIE)) is None:
            return JSONResponse({"error": "not logged in"}, status_code=401)
        params = request.query_params
        try:
            query = MainCouranteQuery.from_params(crisis_id, params, params.getlist("type"))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return Response(
            orjson.dumps(await query.page(backend.store)), media_type="application/json"
        )


_NO_CACHE = {"Cache-Control": "no-store"}


def _security_policy(tiles_url: str) -> str:
    """Scripts and styles from the console only; images also from the tile server."""
    tiles = urlsplit(tiles_url.replace("{s}", "a"))
    host = f"{tiles.scheme}://{tiles.netloc}" if tiles.scheme and tiles.netloc else ""
    if "{s}" in tiles_url:
        host = f"{tiles.scheme}://*.{tiles.netloc.split('.', 1)[-1]}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {host}".rstrip()
        + "; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


def _csrf_ok(request: Request, session: Session) -> bool:
    token = request.headers.get("x-csrf-token", "")
    return hmac.compare_digest(token.encode(), session.csrf.encode())


def _summary(picture: Picture) -> dict[str, Any]:
    return {
        "crisis_id": picture["crisis_id"],
        "name": picture["name"],
        "state": picture["state"],
        "exercise": picture["exercise"],
        "departement": picture["departement"],
        "open_incidents": sum(1 for i in picture["incidents"].values() if i["state"] == "open"),
        "position": picture["position"],
        "opened_at": picture["opened"]["recorded_at"] if picture["opened"] else None,
    }


def _view(backend: Backend, crisis_id: str) -> bytes:
    picture = backend.pictures.get(crisis_id) or new_picture(crisis_id)
    return orjson.dumps(view(picture, instant_text(utc_now())))


async def _changes(
    backend: Backend, crisis_id: str, request: Request, signed: Callable[[], object]
) -> AsyncIterator[bytes]:
    """The picture at once, then again after each change (coalesced), with keep-alives, for as
    long as the session holds: a logout, a new password or a disabled person end the stream."""
    queue = backend.listen(crisis_id)
    try:
        yield b"event: picture\ndata: " + _view(backend, crisis_id) + b"\n\n"
        while signed() is not None and not await request.is_disconnected():
            try:
                await asyncio.wait_for(queue.get(), PING_S)
            except TimeoutError:
                yield b"event: ping\ndata: {}\n\n"
                continue
            await asyncio.sleep(COALESCE_S)
            while not queue.empty():
                queue.get_nowait()
            if signed() is None:
                break
            yield b"event: picture\ndata: " + _view(backend, crisis_id) + b"\n\n"
    finally:
        backend.forget(crisis_id, queue)
