"""`crisis feed …`: take CAP, Atom/RSS, EDXL-DE, GeoJSON or event files and URLs in.

`crisis feed FILE_OR_URL…` reads each input (`take` is implied), `crisis feed watch` polls a feed
or a drop folder, `crisis feed add|list|rotate|disable|enable` manage the feeds allowed to post
over HTTP (a running intake follows the feeds file: no restart).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from services.bootstrap import bus_url, open_bus
from services.intake.core import Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.errors import Rejection
from services.intake.feeds import (
    FeedRegistry,
    FeedsFileError,
    add_feed,
    rotate_token,
    set_enabled,
)
from services.intake.fetch import LinkFetcher, is_url
from services.intake.links import LinkLimits
from services.runtime.discovery import NotRunningError
from services.runtime.logging import configure_logging
from services.runtime.publish import PublishError
from services.runtime.settings import Settings, load_settings

out = Console()
err = Console(stderr=True)
USAGE_ERROR = 2


class _TakeByDefault(TyperGroup):
    """`crisis feed FILE…` means `crisis feed take FILE…`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click's Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["take", *args]
        return super().parse_args(ctx, args)


feed_app = typer.Typer(
    cls=_TakeByDefault,
    help="Take alerts in from files, URLs, feeds and drop folders; manage HTTP feeds.",
    no_args_is_help=True,
)


class Taker(Protocol):
    """Reads one input: the live intake (publishing), or a dry run."""

    async def take(self, raw: bytes, *, name: str, fetch: LinkFetcher) -> list[Outcome]:
        """The outcomes of one input."""


class _DryRun:
    """Parses and maps without a bus; inputs taken in one run still meet in its index."""

    def __init__(self, settings: Settings, feed: str, crisis: str | None) -> None:
        self.index = CorrelationIndex()
        self.intake = Intake(
            self.index,
            IntakeConfig(
                language=settings.intake_language,
                max_bytes=settings.intake_max_bytes,
                links=LinkLimits(
                    max_links=settings.intake_fetch_max_links,
                    budget_s=settings.intake_fetch_budget_s,
                ),
            ),
        )
        self.feed, self.crisis = feed, crisis

    async def take(self, raw: bytes, *, name: str, fetch: LinkFetcher) -> list[Outcome]:  # noqa: ARG002
        # What entries link to is not fetched: each such entry's outcome says "not fetched".
        outcomes = await self.intake.take(raw, name=name, feed=self.feed, crisis=self.crisis)
        for outcome in outcomes:
            for keys, ref in outcome.learnt:
                self.index.remember(keys, ref)
            for wire in outcome.wires:
                self.index.observe(wire)
        return outcomes


class _Live:
    def __init__(self, live: Any, feed: str, crisis: str | None) -> None:
        self.live, self.feed, self.crisis = live, feed, crisis

    async def take(self, raw: bytes, *, name: str, fetch: LinkFetcher) -> list[Outcome]:
        outcomes: list[Outcome] = await self.live.submit(
            raw, name=name, feed=self.feed, crisis=self.crisis, fetch=fetch
        )
        return outcomes


@asynccontextmanager
async def _taker(
    settings: Settings, *, feed: str, crisis: str | None, dry_run: bool
) -> AsyncIterator[Taker]:
    if dry_run:
        yield _DryRun(settings, feed, crisis)
        return
    try:
        url = bus_url(settings, "intake")
    except NotRunningError as exc:
        raise _fail(f"{exc} (or use --dry-run to check inputs without a bus)") from None
    from services.intake.app import LiveIntake  # noqa: PLC0415 (FastAPI comes with it)

    async with open_bus(settings, url=url, name="crisis-feed") as bus:
        live = LiveIntake(bus.js, settings)
        await live.start()
        try:
            yield _Live(live, feed, crisis)
        finally:
            await live.stop()


def _fail(message: str, code: int = USAGE_ERROR) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def link_fetcher(
    settings: Settings, *, source: str | None = None, root: Path | None = None
) -> LinkFetcher:
    """The fetcher of `crisis feed`: public hosts, CRISIS_INTAKE_FETCH_ALLOW_HOSTS, and the host
    of the URL the operator named (they chose it; what its feed links to there is theirs too)."""
    hosts = list(settings.intake_fetch_allow_hosts)
    if source and is_url(source) and urlsplit(source).hostname:
        hosts.append(urlsplit(source).hostname or "")
    return LinkFetcher(
        max_bytes=settings.intake_max_bytes,
        timeout_s=settings.intake_fetch_timeout_s,
        root=root,
        allow_hosts=hosts,
    )


async def read_input(source: str, settings: Settings) -> tuple[bytes, LinkFetcher]:
    """The bytes of a file, a URL or stdin (`-`), and the fetcher for what it links to."""
    if is_url(source):
        fetcher = link_fetcher(settings, source=source)
        # Over the limit is read up to it: the intake refuses it with its reason, and keeps it.
        return await fetcher.get(source, keep_oversized=True), fetcher
    return await asyncio.to_thread(_read_local, source, settings)


def _read_local(source: str, settings: Settings) -> tuple[bytes, LinkFetcher]:
    if source == "-":
        return sys.stdin.buffer.read(), link_fetcher(settings)
    path = Path(source)
    with path.open("rb") as handle:
        raw = handle.read(settings.intake_max_bytes + 1)
    return raw, link_fetcher(settings, root=path.resolve().parent)


def _event_line(event: dict[str, Any]) -> str:
    what = event.get("incident_id") or event.get("reason", "")[:40]
    exercise = " [bold yellow]EXERCICE[/]" if event["status"] == "Exercise" else ""
    status = "" if event["status"] in ("Actual", "Exercise") else f" ({event['status']})"
    return f"{event['type']} → {event['crisis_id']}/{escape(str(what))}{status}{exercise}"


def print_outcomes(outcomes: Sequence[Outcome], *, as_json: bool) -> None:
    """One JSON line per outcome, or a table."""
    if as_json:
        for outcome in outcomes:
            sys.stdout.write(orjson.dumps(outcome.to_json()).decode() + "\n")
        sys.stdout.flush()
        return
    for outcome in outcomes:
        data = outcome.to_json()
        mark = (
            "[green]✓ accepted[/]"
            if outcome.accepted
            else "[bold red]✗ refused[/] "
            if outcome.refused
            else f"[yellow]○ {outcome.verdict}[/]"
        )
        alert = f"  [dim]{escape(outcome.alert)}[/]" if outcome.alert else ""
        out.print(f"{mark}  {escape(outcome.input)} [dim]{escape(outcome.path)}[/]{alert}")
        for event in data["events"]:
            out.print(f"      {_event_line(event)}")
        if outcome.accepted and not data["events"]:
            out.print("      [dim]no new event[/]")
        if outcome.error is not None:
            out.print(f"      [red]{escape(str(outcome.error))}[/]")
        for warning in data["warnings"]:
            out.print(f"      [yellow]! {escape(warning)}[/]")


async def _take_all(taker: Taker, sources: Sequence[str], settings: Settings) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for source in sources:
        try:
            raw, fetcher = await read_input(source, settings)
        except OSError as exc:
            raise _fail(f"cannot read {source}: {exc.strerror or exc}") from None
        except Rejection as exc:
            raise _fail(f"cannot fetch {source}: {exc.reason}") from None
        outcomes += await taker.take(raw, name=source, fetch=fetcher)
    return outcomes


FeedOption = Annotated[
    str, typer.Option("--feed", help="Name of the feed the inputs come from (a subject token).")
]
CrisisOption = Annotated[
    str | None,
    typer.Option(help="Send new incidents to this crisis instead of routing them by status."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Parse and map only: no bus, nothing published.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per alert, per line.")]


@feed_app.command("take")
def take(
    sources: Annotated[list[str], typer.Argument(help="Files, http(s) URLs, or - for stdin.")],
    feed: FeedOption = "cli",
    crisis: CrisisOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Take inputs in: exit 0 when every alert was accepted, 1 when any was refused."""
    settings = _settings()
    _check_feed(feed)

    async def run() -> list[Outcome]:
        async with _taker(settings, feed=feed, crisis=crisis, dry_run=dry_run) as taker:
            return await _take_all(taker, sources, settings)

    try:
        outcomes = asyncio.run(run())
    except PublishError as exc:
        raise _fail(str(exc), code=1) from None
    print_outcomes(outcomes, as_json=as_json)
    refused = sum(o.refused for o in outcomes)
    if not as_json:
        verb = "checked (dry run)" if dry_run else "taken in"
        accepted = sum(o.accepted for o in outcomes)
        skipped = len(outcomes) - accepted - refused
        left = f", {skipped} links not fetched" if skipped else ""
        out.print(f"{accepted} accepted, {refused} refused{left}, {verb}.")
    if refused:
        raise typer.Exit(1)


def _check_feed(feed: str) -> None:
    from schemas.subjects import SubjectError, token  # noqa: PLC0415 (only for this check)

    try:
        token(feed, what="feed name")
    except SubjectError as exc:
        raise _fail(str(exc)) from None


@feed_app.command("watch")
def watch(
    source: Annotated[str, typer.Argument(help="A feed URL to poll, or a drop folder.")],
    every: Annotated[float, typer.Option(min=0.1, help="Seconds between two polls.")] = 60.0,
    feed: FeedOption = "watch",
    crisis: CrisisOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    once: Annotated[bool, typer.Option(help="Poll once and exit.")] = False,
) -> None:
    """Poll a feed URL, or a drop folder whose files move to accepted/ or refused/ once read."""
    settings = _settings()
    _check_feed(feed)
    folder = None if is_url(source) else Path(source)
    if folder is not None and not folder.is_dir():
        raise _fail(f"{source} is neither an http(s) URL nor a folder")

    async def run() -> None:
        from services.cli.feed_watch import poll  # noqa: PLC0415 (keeps start-up light)

        async with _taker(settings, feed=feed, crisis=crisis, dry_run=dry_run) as taker:
            await poll(
                taker,
                source,
                folder,
                settings,
                every=every,
                once=once,
                as_json=as_json,
                move=not dry_run,
            )

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        out.print("Stopped.")


@feed_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Feed name, used in URLs and subjects.")],
    description: Annotated[str, typer.Option(help="Who the feed is.")] = "",
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="A non-public host its links may name (repeatable; rarely needed)."),
    ] = None,
) -> None:
    """Allow a feed to post over HTTP; its token is printed once and kept only as a digest."""
    settings = _settings()
    try:
        token = add_feed(settings.feeds_path, name, description, allow_host or ())
    except (FeedsFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
    out.print(f"feed [bold]{escape(name)}[/] added to {settings.feeds_path}")
    out.print(f"token (shown once): [bold]{token}[/]")
    out.print(
        f"post with: curl -H 'Authorization: Bearer {token}' --data-binary @alert.xml "
        f"http://{settings.intake_host}:{settings.intake_port}/feeds/{name}/cap"
    )
    out.print("a running intake takes the new feed at its next request: no restart needed.")


NameArgument = Annotated[str, typer.Argument(help="Name of the feed.")]


@feed_app.command("rotate")
def rotate(name: NameArgument) -> None:
    """Give a feed a new token, printed once; the old one stops working at once."""
    settings = _settings()
    try:
        token = rotate_token(settings.feeds_path, name)
    except FeedsFileError as exc:
        raise _fail(str(exc)) from None
    out.print(f"feed [bold]{escape(name)}[/]: new token (shown once): [bold]{token}[/]")
    out.print("the old token is refused from now on, by a running intake too.")


@feed_app.command("disable")
def disable(name: NameArgument) -> None:
    """Refuse a feed's posts from now on (its token is kept: `enable` takes it back)."""
    _enable(name, enabled=False)


@feed_app.command("enable")
def enable(name: NameArgument) -> None:
    """Accept a disabled feed's posts again, with its token."""
    _enable(name, enabled=True)


def _enable(name: str, *, enabled: bool) -> None:
    settings = _settings()
    try:
        set_enabled(settings.feeds_path, name, enabled=enabled)
    except FeedsFileError as exc:
        raise _fail(str(exc)) from None
    state = "enabled" if enabled else "disabled"
    out.print(f"feed [bold]{escape(name)}[/] {state}; a running intake follows at once.")


@feed_app.command("list")
def list_feeds() -> None:
    """The feeds allowed to post over HTTP."""
    settings = _settings()
    try:
        registry = FeedRegistry.load(settings.feeds_path)
    except FeedsFileError as exc:
        raise _fail(str(exc)) from None
    if not registry.feeds:
        out.print(f"no feed in {settings.feeds_path}: add one with `crisis feed add NAME`")
        return
    table = Table("feed", "enabled", "description")
    for item in registry.feeds.values():
        table.add_row(escape(item.name), "yes" if item.enabled else "no", escape(item.description))
    out.print(table)
