"""The auth service: nats-server's auth callout for people, and their sessions.

It connects as the `auth` user, which the server lets through without a callout, and answers
two things:

- `$SYS.REQ.USER.AUTH`: the server's question about each connecting person (see `callout`);
- `auth.session.<principal>`: a person connected with their password asks for a session token;
- `auth.logout.<principal>`: a person ends a session of theirs (`{"token": …}`).

Only that principal's connection may publish on its own subjects, and only a password
connection on `auth.session.…`: the server says who asks. Requests are answered only on an
inbox, so a JetStream delivery aimed at these subjects is never taken for one.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import orjson
import structlog
from nats.aio.msg import Msg

from schemas.envelope import utc_now
from services.auth.callout import LOGIN_ROOT, LOGOUT_ROOT, Admitted, Gate, person_permissions
from services.auth.jwt_claims import AuthorizationRequest, response, user_jwt
from services.auth.nkeys import KeyPair, NkeyError
from services.auth.principals import ident_of
from services.auth.sessions import SessionStore
from services.cell.app import PeopleFile
from services.eventlog.store import EventStore, store_for
from services.runtime.bus import servers
from services.runtime.settings import Settings
from services.runtime.system import StackedService

log = structlog.get_logger(__name__)

CALLOUT_SUBJECT = "$SYS.REQ.USER.AUTH"
ACCOUNT = "CRISIS"


def load_issuer(path: Path) -> KeyPair:
    """The account key that signs the user JWTs (its seed is a secret, mode 0600)."""
    try:
        return KeyPair.from_seed(path.read_text(encoding="ascii").strip())
    except OSError as exc:
        raise RuntimeError(f"cannot read the auth issuer seed {path}: {exc.strerror}") from None
    except NkeyError as exc:
        raise RuntimeError(f"{path} holds no account seed: {exc}") from None


class Authority:
    """Answers the server's callout and the session requests; no I/O of its own but the store."""

    def __init__(
        self, issuer: KeyPair, gate: Gate, store: SessionStore, session: timedelta
    ) -> None:
        self.issuer = issuer
        self.gate = gate
        self.store = store
        self.session = session

    async def authorize(self, raw: bytes) -> bytes | None:
        """The signed answer to one authorization request; None when it is not one."""
        try:
            request = AuthorizationRequest.read(raw)
        except NkeyError as exc:
            log.warning("auth.bad_request", why=str(exc))
            return None
        now = utc_now()
        verdict = await self.gate.decide(request.options, request.address, now)
        if not isinstance(verdict, Admitted):
            log.info("auth.refused", address=request.address, why=verdict.reason)
            return response(request, self.issuer, error="authorization refused", now=now)
        principal = verdict.principal
        jwt = user_jwt(
            request,
            self.issuer,
            name=principal.ident,
            account=ACCOUNT,
            permissions=person_permissions(principal, by_password=verdict.by_password),
            now=now,
            expires_at=verdict.expires_at,
        )
        log.info(
            "auth.admitted",
            actor=principal.ident,
            role=principal.role.value,
            address=request.address,
            until=verdict.expires_at.isoformat(),
        )
        return response(request, self.issuer, jwt=jwt, now=now)

    async def session_request(self, subject: str, raw: bytes) -> dict[str, Any]:
        """Open or close a session for the principal the subject names."""
        try:
            ident = ident_of(subject.rpartition(".")[2])
            body = orjson.loads(raw or b"{}")
        except (ValueError, orjson.JSONDecodeError):
            return {"ok": False, "error": "a session request is JSON on auth.session.<principal>"}
        person = self.gate.people().find(ident)
        if person is None:
            return {"ok": False, "error": f"{ident!r} is not a known, enabled person"}
        if subject.startswith(f"{LOGOUT_ROOT}."):  # {"token": …}: end a session of yours
            token = str(body.get("token", ""))
            found = await self.store.find(token)
            if found is None or found[0].ident != ident:
                return {"ok": False, "error": "no such session of yours"}
            await self.store.revoke(token)
            log.info("auth.session_closed", actor=ident)
            return {"ok": True}
        token, session = await self.store.issue_person(
            person, ttl=self.session, client=str(body.get("client", ""))[:200]
        )
        log.info("auth.session_opened", actor=ident, until=session.expires_at.isoformat())
        return {
            "ok": True,
            "token": token,
            "ident": ident,
            "role": person.role.value,
            "expires_at": session.expires_at.isoformat(),
        }


class AuthService(StackedService):
    """The auth callout responder as `crisis up` (or `crisis service auth`) runs it."""

    name = "auth"

    def __init__(
        self,
        settings: Settings,
        *,
        store: EventStore | None = None,
        people: PeopleFile | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.people = people or PeopleFile(settings.people_path)
        self.authority: Authority | None = None

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Answer the server's callout and the session requests."""
        if not self.settings.auth_issuer_path.exists():
            # A server configured without the callout (CRISIS_NATS_URL to one of them) never asks.
            log.warning(
                "auth.no_issuer",
                issuer_file=str(self.settings.auth_issuer_path),
                hint="people cannot log in: generate the server's configuration with "
                "`crisis infra nats-config` and set CRISIS_AUTH_ISSUER_FILE",
            )
            return
        log_store = store_for(stack, self.store, self.settings.database_url)
        people = self.people
        store = SessionStore(log_store.engine, people.current)

        gate = Gate(
            people.current,
            store.admit,
            connection=timedelta(minutes=self.settings.auth_connection_minutes),
        )
        self.authority = authority = Authority(
            load_issuer(self.settings.auth_issuer_path),
            gate,
            store,
            timedelta(hours=self.settings.auth_session_hours),
        )
        nc = await nats.connect(servers(nats_url), name="crisis-auth", max_reconnect_attempts=-1)
        stack.push_async_callback(nc.drain)

        async def on_callout(msg: Msg) -> None:
            answer = await authority.authorize(msg.data)
            if answer is not None and msg.reply:
                await msg.respond(answer)

        async def on_session(msg: Msg) -> None:
            # A person's request, answered on their inbox; anything else is not a request.
            if msg.reply.startswith("_INBOX."):
                answer = await authority.session_request(msg.subject, msg.data)
                await msg.respond(orjson.dumps(answer))

        await nc.subscribe(CALLOUT_SUBJECT, cb=on_callout)
        await nc.subscribe(f"{LOGIN_ROOT}.*", cb=on_session)
        await nc.subscribe(f"{LOGOUT_ROOT}.*", cb=on_session)
        await nc.flush()
