"""`crisis picture …`: the operational picture of a crisis, now or as it stood, and what changed.

Pictures are rebuilt from the log (from the nearest snapshot on); this command only reads.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from services.bootstrap import open_store
from services.cli.diff_render import render_diff
from services.cli.picture_render import render_picture
from services.eventlog.store import EventStore
from services.picture.fold import Picture
from services.picture.snapshots import SnapshotStore, picture_at
from services.picture.views import comparable, diff, view
from services.runtime.logging import configure_logging
from services.runtime.settings import load_settings
from services.runtime.streams import now_text

picture_app = typer.Typer(
    help="The operational picture of a crisis: now, as of an instant or a position, and diffs."
)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

EXAMPLE = "2020-10-02T14:32:00+02:00"
LAST_SITREP = "last-sitrep"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset; a naive one is refused (which time zone was meant?)."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 instant (e.g. {EXAMPLE})") from None
    if instant.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} has no UTC offset, so it could be any of several instants: "
            f"add one, e.g. {EXAMPLE} (Paris, summer time) or 2020-10-02T12:32:00Z (UTC)"
        )
    return instant


@dataclass(frozen=True)
class Point:
    """Where a picture is taken: a log position, an instant, or the last situation report."""

    given: str
    position: int | None = None
    instant: datetime | None = None

    @property
    def last_sitrep(self) -> bool:
        """Whether this point is the last situation report known at the other end."""
        return self.given == LAST_SITREP


def parse_point(text: str) -> Point:
    """An integer is a position; `last-sitrep` is itself; anything else must be an instant."""
    if text == LAST_SITREP:
        return Point(text)
    if text.isascii() and text.isdigit():
        return Point(text, position=int(text))
    return Point(text, instant=parse_instant(text))


CrisisOption = Annotated[
    str | None,
    typer.Option(help="The crisis (default: the only one in the log; `crisis log status` lists)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout, nothing else.")]


@picture_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    crisis: CrisisOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            parser=parse_instant,
            metavar="INSTANT",
            help=f"The picture as it stood at this instant, with its offset (e.g. {EXAMPLE}).",
        ),
    ] = None,
    position: Annotated[
        int | None, typer.Option(min=0, help="The picture as it stood at this log position.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The picture of a crisis as it stands now, or as it stood at an instant or a position."""
    if ctx.invoked_subcommand is not None:
        if as_of is not None or position is not None:
            raise typer.BadParameter("diff takes its own points: --from and --to")
        # `crisis picture --crisis X --json diff …` means the same as with them after `diff`.
        ctx.obj = {"crisis": crisis, "as_json": as_json}
        return
    if as_of is not None and position is not None:
        raise typer.BadParameter("give --as-of or --position, not both")

    async def run(store: EventStore) -> dict[str, Any]:
        crisis_id = await _crisis_id(store, crisis)
        picture = await _picture(store, crisis_id, position=position, as_of=as_of)
        return view(picture, _shown_at(picture, as_of))

    shown = _run(run)
    if as_json:
        _print_json(shown)
        return
    for part in render_picture(shown):
        out.print(part, highlight=False)
        out.print()


@picture_app.command("diff")
def diff_command(
    ctx: typer.Context,
    start: Annotated[
        Point,
        typer.Option(
            "--from",
            parser=parse_point,
            metavar="POSITION|INSTANT|last-sitrep",
            help="A log position, an instant with its offset, or last-sitrep: the recorded "
            "instant of the last situation report known at --to.",
        ),
    ],
    end: Annotated[
        Point | None,
        typer.Option(
            "--to",
            parser=parse_point,
            metavar="POSITION|INSTANT",
            help="A log position or an instant with its offset (default: now).",
        ),
    ] = None,
    crisis: CrisisOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed in the picture of a crisis from one point to another, section by section."""
    if end is not None and end.last_sitrep:
        raise typer.BadParameter("last-sitrep is a starting point: use it with --from")
    given = ctx.obj or {}
    crisis = crisis or given.get("crisis")
    as_json = as_json or given.get("as_json", False)

    async def run(store: EventStore) -> dict[str, Any]:
        crisis_id = await _crisis_id(store, crisis)
        after = await _picture_at_point(store, crisis_id, end or Point("now"))
        before_point = _sitrep_point(after) if start.last_sitrep else start
        before = await _picture_at_point(store, crisis_id, before_point)
        changes = diff(comparable(before), comparable(after))
        return {
            "crisis_id": crisis_id,
            "from": _where(start, before),
            "to": _where(end or Point("now"), after),
            "count": len(changes),
            "changes": changes,
        }

    result = _run(run)
    if as_json:
        _print_json(result)
        return
    for line in render_diff(result):
        out.print(line, highlight=False)


def _sitrep_point(picture: Picture) -> Point:
    report = picture["sitrep"]
    if report is None:
        raise _fail(
            f"no situation report in crisis {picture['crisis_id']} up to position "
            f"{picture['position']}: there is no last-sitrep to start from"
        )
    return Point(LAST_SITREP, instant=datetime.fromisoformat(report["recorded_at"]))


def _where(point: Point, picture: Picture) -> dict[str, Any]:
    return {
        "given": point.given,
        "position": picture["position"],
        "events": picture["events"],
        "recorded_at": picture["recorded_at"],
    }


async def _crisis_id(store: EventStore, asked: str | None) -> str:
    """The crisis asked for, or the only one in the log; otherwise say which there are."""
    known = [crisis.crisis_id for crisis in await store.crises()]
    if asked is not None:
        if asked in known:
            return asked
        listed = f" (it holds: {', '.join(known[:10])}{', …' if len(known) > 10 else ''})"
        raise _fail(
            f"no crisis {asked!r} in the log{listed if known else ''}; "
            "`crisis log status` lists the crises"
        )
    if len(known) == 1:
        return known[0]
    if not known:
        raise _fail("the log holds no crisis yet")
    raise _fail(f"the log holds {len(known)} crises, choose one with --crisis: " + ", ".join(known))


async def _picture(
    store: EventStore,
    crisis_id: str,
    *,
    position: int | None = None,
    as_of: datetime | None = None,
) -> Picture:
    snapshots = SnapshotStore(store.engine)
    return await picture_at(store, snapshots, crisis_id, position=position, as_of=as_of)


async def _picture_at_point(store: EventStore, crisis_id: str, point: Point) -> Picture:
    return await _picture(store, crisis_id, position=point.position, as_of=point.instant)


def _shown_at(picture: Picture, as_of: datetime | None) -> str:
    """The instant the picture is shown at: the one asked for, else its last record, else now."""
    if as_of is not None:
        return as_of.astimezone(UTC).isoformat()
    recorded: str | None = picture["recorded_at"]
    return recorded or now_text()


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _run(factory: Callable[[EventStore], Coroutine[Any, Any, T]]) -> T:
    """Open the configured store, migrated, run `factory(store)`, close it."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)

    async def run() -> T:
        async with open_store(settings) as store:
            return await factory(store)

    return asyncio.run(run())
