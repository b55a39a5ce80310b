"""`crisis login|logout|whoami`, `crisis session list|revoke`, `crisis token issue`.

A person logs in once (their password checked by the auth service, through the server's auth
callout) and the command line keeps the session it gets; every act is then made on that
session's connection, on the person's own subjects. Sessions and service tokens are kept in the
database by digest: an administrator lists and revokes them there.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

import orjson
import typer
from nats.errors import Error as NatsError
from rich.markup import escape
from rich.table import Table

from services.auth.callout import login_subject, logout_subject
from services.auth.sessions import SessionStore
from services.bootstrap import Root
from services.cell.people import Role
from services.cli.cell_client import fail, out, settings
from services.cli.credentials import Held, forget, held, keep, person_connection
from services.runtime.discovery import NotRunningError, resolve_server
from services.runtime.settings import Settings

session_app = typer.Typer(
    help="Sessions of people and services (administrator).", no_args_is_help=True
)
token_app = typer.Typer(help="Tokens for services that read the picture API.", no_args_is_help=True)


async def _ask(
    url: str, subject: str, ident: str, body: dict[str, Any], **proof: str
) -> dict[str, Any]:
    async with person_connection(url, ident, **proof) as nc:
        reply = await nc.request(subject, orjson.dumps(body), timeout=10)
    answer: dict[str, Any] = orjson.loads(reply.data)
    return answer


def login(
    ident: Annotated[str, typer.Argument(help="Your identity in the cell (op.dupont).")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
) -> None:
    """Log in: your password is checked by the cell's auth service; the session is kept (0600)."""
    loaded = settings()
    try:
        url = resolve_server(loaded)
    except NotRunningError as exc:
        raise fail(str(exc), 2) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password of {ident}: ")
    else:
        raise fail("give the password with --password-stdin (no terminal to ask on)", 2)
    body = {"client": f"crisis login on {socket.gethostname()}"}
    try:
        answer = asyncio.run(_ask(url, login_subject(ident), ident, body, password=password))
    except NatsError as exc:
        if "authorization violation" in str(exc).lower():
            raise fail(
                "login refused: wrong identity or password, or too many attempts (wait and retry)",
                2,
            ) from None
        raise fail(f"cannot reach the cell's NATS at {url}: {exc}") from None
    if not answer.get("ok"):
        raise fail(f"login refused: {answer.get('error')}")
    session = Held(ident, answer["role"], answer["token"], answer["expires_at"], url)
    path = keep(loaded, session)
    out.print(
        f"logged in as {escape(ident)} ({session.role}) until {session.expires_at}; "
        f"session kept in {path} (0600)"
    )


def logout(
    ident: Annotated[str | None, typer.Argument(help="Whose session (default: every one).")] = None,
) -> None:
    """End your session(s): the auth service revokes it, and its file is removed."""
    loaded = settings()
    mine = [h for h in held(loaded) if ident is None or h.ident == ident]
    if not mine:
        raise fail("no session held" + (f" for {ident!r}" if ident else ""))
    for session in mine:
        if not session.expired:
            try:
                asyncio.run(
                    _ask(
                        session.server,
                        logout_subject(session.ident),
                        session.ident,
                        {"token": session.token},
                        token=session.token,
                    )
                )
            except (NatsError, OSError) as exc:
                out.print(f"[yellow]the server did not confirm the revocation ({exc})[/]")
        forget(loaded, session.ident)
        out.print(f"logged out {escape(session.ident)}")


def whoami() -> None:
    """The sessions you hold, with their role and expiry."""
    sessions = held(settings())
    if not sessions:
        out.print("not logged in (`crisis login IDENT`)")
        return
    for session in sessions:
        state = "[red]expired[/]" if session.expired else f"until {session.expires_at}"
        out.print(f"{escape(session.ident)} ({session.role}) {state}  {escape(session.server)}")


@asynccontextmanager
async def _sessions(loaded: Settings) -> AsyncIterator[SessionStore]:
    """The session store on the process' root, its database migrated."""
    async with Root(loaded) as root:
        store = await root.migrated_store()
        yield SessionStore(store.engine, root.people.current)


@session_app.command("list")
def session_list(
    all_: Annotated[bool, typer.Option("--all", help="Ended sessions too.")] = False,
) -> None:
    """Live sessions of people and services (by digest: the tokens themselves are not kept)."""

    async def run() -> list[Any]:
        async with _sessions(settings()) as store:
            return await store.list(include_ended=all_)

    table = Table("id", "who", "kind", "role", "from", "created", "ends", "revoked")
    for s in asyncio.run(run()):
        table.add_row(
            s.token_sha256[:12],
            escape(s.ident),
            s.kind.value,
            s.role.value,
            escape(s.client),
            f"{s.created_at:%Y-%m-%d %H:%M}",
            f"{s.expires_at:%Y-%m-%d %H:%M}",
            f"{s.revoked_at:%Y-%m-%d %H:%M}" if s.revoked_at else "",
        )
    out.print(table)


@session_app.command("revoke")
def session_revoke(
    who: Annotated[str, typer.Argument(help="An id from `crisis session list`, or an identity.")],
) -> None:
    """End a session (by id) or every session of a person or service (by identity) at once."""

    async def run() -> int:
        async with _sessions(settings()) as store:
            return await store.revoke_prefix(who) or await store.revoke_ident(who)

    ended = asyncio.run(run())
    if not ended:
        raise fail(f"no live session matches {who!r}")
    out.print(
        f"revoked {ended} session(s); their connections are turned away at their next admission"
    )


@token_app.command("issue")
def token_issue(
    name: Annotated[str, typer.Argument(help="The service that reads (zone-dashboard).")],
    role: Annotated[Role, typer.Option(help="What it may do: observer reads.")] = Role.OBSERVER,
    days: Annotated[float, typer.Option(help="How long the token lives.")] = 30,
) -> None:
    """A bearer token for a service that reads the picture API; shown once, kept by digest."""
    if role is Role.FEED:
        raise fail("feeds do not read: they post to the intake with their feed token", 2)

    async def run() -> tuple[str, Any]:
        async with _sessions(settings()) as store:
            return await store.issue_service(
                f"service:{name}", role, ttl=timedelta(days=days), client="crisis token issue"
            )

    token, session = asyncio.run(run())
    out.print(
        f"token for service:{escape(name)} ({role.value}) until {session.expires_at:%Y-%m-%d}:"
    )
    out.print(token, highlight=False)
    out.print("Shown once. Send it as `Authorization: Bearer …`; `crisis session revoke` ends it.")


def register(app: typer.Typer) -> None:
    """Add the login commands to the command line."""
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("whoami")(whoami)
    app.add_typer(session_app, name="session")
    app.add_typer(token_app, name="token")
