"""`crisis log list`: the full main courante of a crisis, read from the event log."""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from services.bootstrap import open_store
from services.cli.log_commands import log_app
from services.cli.picture_commands import parse_instant
from services.eventlog.store import MAIN_COURANTE_TYPES, EventStore
from services.picture.http import main_courante_item, split_types
from services.runtime.logging import configure_logging
from services.runtime.settings import load_settings

out = Console()
err = Console(stderr=True)


class Clock(StrEnum):
    """Which time `--since` and `--until` bound."""

    CELL = "cell"
    WORLD = "world"


def _instant(value: str | None, name: str) -> datetime | None:
    """An ISO instant with its offset, as every command takes one (a naive one is refused)."""
    if value is None:
        return None
    try:
        return parse_instant(value)
    except typer.BadParameter as exc:
        exc.param_hint = name
        raise


def log_list(
    crisis: Annotated[str, typer.Option("--crisis", "-c", help="The crisis.")],
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Event type, repeated or comma-separated (default: the entries): "
            + ", ".join(MAIN_COURANTE_TYPES)
            + ".",
        ),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only what this person recorded.")] = None,
    search: Annotated[
        str | None, typer.Option(help="Text in the message, sender or recipient (any case).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO instant with its offset, included.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="ISO instant with its offset, included.")
    ] = None,
    clock: Annotated[
        Clock, typer.Option(help="cell: when the cell logged it; world: when it happened.")
    ] = Clock.CELL,
    after: Annotated[
        int | None, typer.Option(min=0, help="Continue after this position (the `next` shown).")
    ] = None,
    oldest: Annotated[bool, typer.Option("--oldest", help="Oldest first.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="How many at most.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: entries, next.")
    ] = False,
) -> None:
    """The full main courante of a crisis from the log: newest first, filtered, paged."""
    types = split_types(type_ or [])
    unknown = sorted(set(types) - set(MAIN_COURANTE_TYPES))
    if unknown:
        raise typer.BadParameter(
            f"not in the main courante: {', '.join(unknown)}", param_hint="--type"
        )
    bounds = _instant(since, "--since"), _instant(until, "--until")
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)

    async def run() -> list[Any]:
        async with open_store(settings) as store:
            return await _page(
                store, crisis, types, actor, search, bounds, clock, after, oldest, limit
            )

    records = asyncio.run(run())
    shown = [main_courante_item(record) for record in records[:limit]]
    following = shown[-1]["position"] if len(records) > limit else None
    if as_json:
        out.out(orjson.dumps({"crisis_id": crisis, "entries": shown, "next": following}).decode())
        return
    out.print(_table(crisis, shown))
    if following is not None:
        err.print(f"more: add --after {following}")


async def _page(
    store: EventStore,
    crisis: str,
    types: tuple[str, ...],
    actor: str | None,
    search: str | None,
    bounds: tuple[datetime | None, datetime | None],
    clock: Clock,
    after: int | None,
    oldest: bool,
    limit: int,
) -> list[Any]:
    # One more than asked: it tells whether a next page exists.
    return await store.main_courante(
        crisis,
        types=types,
        actor=actor,
        search=search,
        since=bounds[0],
        until=bounds[1],
        clock=clock.value,
        after=after,
        newest_first=not oldest,
        limit=limit + 1,
    )


def _table(crisis: str, items: list[dict[str, Any]]) -> Table:
    table = Table(
        "n°",
        "recorded",
        "occurred",
        "by",
        "type",
        "from → to",
        "text",
        "follow-up",
        title=f"main courante of {crisis}",
        title_justify="left",
    )
    for item in items:
        follow_up = item["follow_up"]
        due = f" by {_when(follow_up['due'])}" if follow_up and follow_up["due"] else ""
        cells = (
            str(item["number"] or ""),
            _when(item["recorded_at"]),
            _when(item["occurred_at"]),
            item["actor"],
            item["type"].split(".", 1)[-1],
            " → ".join(p for p in (item["sender"], item["recipient"]) if p),
            item["text"] or "",
            f"{follow_up['owner']}{due}" if follow_up else "",
        )
        # Text from the log is shown as text: Rich markup in it ("[bold]…") is not interpreted.
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _when(text: str) -> str:
    return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def register(commands: typer.Typer = log_app) -> None:
    """Put `crisis log list` on the log's commands."""
    commands.command("list")(log_list)
