"""The sessions `crisis login` keeps for this user, and the connections made with them.

Each is a file `<credentials dir>/sessions/<ident>.json` (mode 0600, folder 0700) holding the
session token the auth service issued, its expiry and the server it is for. Nothing in it is a
password: a stolen file works until the session expires or is revoked (`crisis logout`,
`crisis session revoke`, `crisis user disable|password`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import nats
from nats.aio.client import Client

from schemas.envelope import utc_now
from services.auth.callout import inbox_prefix
from services.auth.principals import subject_token
from services.runtime.bus import servers
from services.runtime.files import write_private
from services.runtime.settings import Settings


class NoCredentialError(RuntimeError):
    """No usable session for the person asked for; the message says how to get one."""


@dataclass(frozen=True, slots=True)
class Held:
    """One session this user holds."""

    ident: str
    role: str
    token: str
    expires_at: str
    server: str

    @property
    def expired(self) -> bool:
        """Whether the session has ended by its own clock (a revoked one is found out later)."""
        return datetime.fromisoformat(self.expires_at) <= utc_now()


def _folder(settings: Settings) -> Path:
    return settings.credentials_path / "sessions"


def keep(settings: Settings, held: Held) -> Path:
    """Write a session to its file, readable by this user only."""
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    path = folder / f"{subject_token(held.ident)}.json"
    write_private(path, json.dumps(asdict(held), indent=2))
    return path


def forget(settings: Settings, ident: str) -> bool:
    """Remove a kept session; whether there was one."""
    path = _folder(settings) / f"{subject_token(ident)}.json"
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def held(settings: Settings) -> list[Held]:
    """The sessions kept for this user, expired ones included."""
    found = []
    for path in sorted(_folder(settings).glob("*.json")):
        try:
            found.append(Held(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return found


def choose(settings: Settings, ident: str | None) -> Held:
    """The session to act with: `ident`'s, or the only live one held."""
    live = [h for h in held(settings) if not h.expired]
    if ident is not None:
        mine = [h for h in live if h.ident == ident]
        if not mine:
            raise NoCredentialError(
                f"you hold no live session of {ident!r}: `crisis login {ident}` first"
            )
        return mine[0]
    if not live:
        raise NoCredentialError("you are not logged in: `crisis login IDENT` first")
    if len(live) > 1:
        names = ", ".join(h.ident for h in live)
        raise NoCredentialError(f"you hold several sessions ({names}): say which with --as")
    return live[0]


@asynccontextmanager
async def person_connection(
    url: str, ident: str, *, token: str | None = None, password: str | None = None
) -> AsyncIterator[Client]:
    """A connection as `ident`, proved by a session token or (for `crisis login`) a password.

    The server sends it to the auth service, which admits it with `ident`'s subjects only; its
    replies come under `ident`'s own inbox prefix, which only it may read.
    """

    async def quiet(_error: Exception) -> None:
        """Refusals surface from `connect` itself; nats-py would also print a traceback."""

    options: dict[str, object] = (
        {"token": token} if token else {"user": ident, "password": password}
    )
    nc = await nats.connect(
        servers(url),
        name=f"crisis-cli:{ident}",
        connect_timeout=5,
        allow_reconnect=False,
        inbox_prefix=inbox_prefix(ident),
        error_cb=quiet,
        **options,
    )
    try:
        yield nc
    finally:
        await nc.close()
