"""The command line's side of the cell: send an act, print what it gave or why it was refused."""

from __future__ import annotations

import asyncio
import getpass
import os
from typing import Any

import nats
import orjson
import typer
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console
from rich.markup import escape

from schemas import subjects
from services.runtime.bus import servers
from services.runtime.discovery import NotRunningError, resolve_nats_url
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings, load_settings

out = Console()
err = Console(stderr=True)


def actor_of(given: str | None) -> str:
    """Who acts: `--as`, else CRISIS_ACTOR, else the login name."""
    return given or os.environ.get("CRISIS_ACTOR") or getpass.getuser()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error and give the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def settings() -> Settings:
    """The settings, with logging configured."""
    loaded = load_settings()
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


async def _request(url: str, body: bytes, timeout: float) -> dict[str, Any]:
    nc = await nats.connect(servers(url), name="crisis-act", connect_timeout=5)
    try:
        reply = await nc.request(subjects.CELL_ACTS, body, timeout=timeout)
    finally:
        await nc.close()
    answer: dict[str, Any] = orjson.loads(reply.data)
    return answer


def act(
    actor: str | None, command: dict[str, Any], *, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Send one act to the cell service; the events it published, or exit 1 saying why not."""
    loaded = settings()
    try:
        url = resolve_nats_url(loaded)
    except NotRunningError as exc:
        raise fail(str(exc)) from None
    body = orjson.dumps({"actor": actor_of(actor), "command": command})
    try:
        answer = asyncio.run(_request(url, body, timeout))
    except NoRespondersError:
        raise fail("no cell service answers: is `crisis up` running (with the cell)?") from None
    except NatsTimeoutError:
        raise fail(f"the cell service did not answer in {timeout:g} s") from None
    if not answer.get("ok"):
        raise fail(f"refused: {answer.get('error')}")
    events: list[dict[str, Any]] = answer["events"]
    for event, position in zip(events, answer.get("positions", []), strict=False):
        out.print(describe(event, position))
    return events


def describe(event: dict[str, Any], position: int | None = None) -> str:
    """One line for an event published."""
    keys = ("incident_id", "plan_code", "task_id", "decision_id", "alert_id", "entry_id", "number")
    what = next((f"{k}={event[k]}" for k in keys if event.get(k) is not None), "")
    mark = " [bold yellow]EXERCICE[/]" if event.get("status") == "Exercise" else ""
    at = f"#{position} " if position else ""
    return f"{at}[green]{event['type']}[/]{mark} {escape(event['crisis_id'])} {escape(what)}"
