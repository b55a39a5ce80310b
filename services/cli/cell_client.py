"""The command line's side of the cell: send an act, print what it gave or why it was refused."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import typer
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console
from rich.markup import escape

from services.auth.principals import act_subject
from services.cli.credentials import Held, NoCredentialError, choose, person_connection
from services.runtime.discovery import NotRunningError, resolve_server
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings, load_settings

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error, on one line however long, and give the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings() -> Settings:
    """The settings, with logging configured."""
    loaded = load_settings()
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


async def _request(url: str, session: Held, body: bytes, timeout: float) -> dict[str, Any]:
    async with person_connection(url, session.ident, token=session.token) as nc:
        reply = await nc.request(act_subject(session.ident), body, timeout=timeout)
    answer: dict[str, Any] = orjson.loads(reply.data)
    return answer


def act(
    actor: str | None, command: dict[str, Any], *, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Send one act to the cell as the person logged in (`--as` picks among the sessions this
    user holds); the events it published, or exit 1 saying why not."""
    loaded = settings()
    try:
        url = resolve_server(loaded)
        session = choose(loaded, actor)
    except (NotRunningError, NoCredentialError) as exc:
        raise fail(str(exc), 2) from None
    body = orjson.dumps({"command": command})
    try:
        answer = asyncio.run(_request(url, session, body, timeout))
    except NoRespondersError:
        raise fail("no cell service answers: is `crisis up` running (with the cell)?") from None
    except NatsTimeoutError:
        raise fail(
            f"the cell service did not answer in {timeout:g} s; {_last_health(loaded)}. The act "
            "may still be recorded: check (`crisis log list`, the picture) before sending it again"
        ) from None
    except NatsError as exc:
        if "authorization violation" not in str(exc).lower():
            raise
        raise fail(
            f"the server turned away {session.ident!r}'s session (expired, revoked, or the "
            f"person disabled or given a new password): `crisis login {session.ident}` again",
            2,
        ) from None
    if not answer.get("ok"):
        raise fail(f"refused: {answer.get('error')}")
    events: list[dict[str, Any]] = answer["events"]
    for event, position in zip(events, answer.get("positions", []), strict=False):
        out.print(describe(event, position))
    return events


def _last_health(loaded: Settings) -> str:
    """What the system's health monitor last said: why the cell may not have answered."""
    # Imported here: httpx is only needed once something went wrong.
    from schemas.envelope import utc_now  # noqa: PLC0415
    from services.runtime.health import why_no_answer  # noqa: PLC0415

    return why_no_answer(loaded, utc_now())


def describe(event: dict[str, Any], position: int | None = None) -> str:
    """One line for an event published."""
    keys = ("incident_id", "plan_code", "task_id", "decision_id", "alert_id", "entry_id", "number")
    what = next((f"{k}={event[k]}" for k in keys if event.get(k) is not None), "")
    mark = " [bold yellow]EXERCICE[/]" if event.get("status") == "Exercise" else ""
    at = f"#{position} " if position else ""
    return f"{at}[green]{event['type']}[/]{mark} {escape(event['crisis_id'])} {escape(what)}"
