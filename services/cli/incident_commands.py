"""`crisis incident …`: acts on incidents; for now, attaching one to a crisis."""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from schemas.envelope import STANDING_WATCH, utc_now
from services.cli.log_commands import open_store
from services.intake.attach import AttachRefused, attach_incident
from services.picture.fold import new_picture
from services.picture.snapshots import SnapshotStore, picture_at
from services.runtime.bus import connect
from services.runtime.discovery import NotRunningError, resolve_nats_url
from services.runtime.logging import configure_logging
from services.runtime.publish import PublishError, publish_event
from services.runtime.settings import load_settings

incident_app = typer.Typer(help="Acts on incidents.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(1)


@incident_app.command("attach")
def attach(
    incident_id: Annotated[str, typer.Argument(help="The incident, as its picture shows it.")],
    to: Annotated[str, typer.Option("--to", help="The crisis it joins.")],
    from_crisis: Annotated[
        str, typer.Option("--from", help="The crisis it leaves (default: the standing watch).")
    ] = STANDING_WATCH,
    actor: Annotated[str | None, typer.Option(help="Who decides (default: you).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why, in words.")] = None,
) -> None:
    """Attach an incident of the standing watch (or of another crisis) to a crisis."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    who = actor or f"op.{getpass.getuser()}"
    try:
        url = resolve_nats_url(settings, "intake")
    except NotRunningError as exc:
        raise _fail(str(exc)) from None

    async def run() -> None:
        async with open_store(settings) as store:
            snapshots = SnapshotStore(store.engine)
            known = {c.crisis_id for c in await store.crises()}
            if from_crisis not in known:
                raise _fail(f"the log holds nothing of {from_crisis}")
            source = await picture_at(store, snapshots, from_crisis)
            target = await picture_at(store, snapshots, to) if to in known else new_picture(to)
        try:
            events = attach_incident(
                source, target, incident_id, actor=who, reason=reason, now=utc_now()
            )
        except AttachRefused as exc:
            raise _fail(str(exc)) from None
        async with connect(url, name="crisis-incident") as bus:
            for event in events:
                await publish_event(bus.js, event)

    try:
        asyncio.run(run())
    except PublishError as exc:
        raise _fail(str(exc)) from None
    out.print(
        f"incident [bold]{escape(incident_id)}[/] handed over by {escape(from_crisis)} and "
        f"attached to [bold]{escape(to)}[/] by {escape(who)}"
    )
