"""`crisis db …` and `crisis log …`: the event log from a terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from services.bootstrap import bus_url, open_bus, open_store
from services.eventlog.archive import ArchiveError, export_log, import_log, verify_log
from services.eventlog.schema import current_revision, head_revision, upgrade
from services.eventlog.status import log_status
from services.eventlog.store import EventStore
from services.runtime.database import describe, make_engine
from services.runtime.discovery import NotRunningError
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings, load_settings

db_app = typer.Typer(help="The database of the event log.", no_args_is_help=True)
log_app = typer.Typer(help="The event log: export, import, verify, status.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _run(factory: Callable[[EventStore], Coroutine[Any, Any, T]]) -> T:
    """Open the configured store, migrated, run `factory(store)`, close it."""
    settings = _settings()

    async def run() -> T:
        async with open_store(settings) as store:
            return await factory(store)

    return asyncio.run(run())


def _progress(total: int | None, what: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and total is None,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the current schema (alembic migrations)."""
    settings = _settings()

    async def run() -> tuple[str | None, str | None]:
        engine = make_engine(settings.database_url)
        try:
            before = await current_revision(engine)
            await upgrade(engine)
            return before, await current_revision(engine)
        finally:
            await engine.dispose()

    before, after = asyncio.run(run())
    where = describe(settings.database_url)
    if before == after:
        out.print(f"{where}: already at revision {after} (head {head_revision()})")
    else:
        out.print(f"{where}: upgraded from {before or 'empty'} to {after}")


@log_app.command("export")
def log_export(
    crisis: Annotated[str | None, typer.Option(help="Only this crisis (default: all).")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Write the log as JSON Lines, one event a line, in stream order: the crisis archive."""

    async def run(store: EventStore) -> int:
        total = await store.count(crisis)
        target = out_file.open("wb") if out_file else sys.stdout.buffer
        try:
            with _progress(total, "export") as bar:
                task = bar.add_task("export", total=total)
                return await export_log(
                    store, target, crisis_id=crisis, progress=lambda n: bar.advance(task, n)
                )
        finally:
            if out_file:
                target.close()

    count = _run(run)
    err.print(f"exported {count} events" + (f" to {out_file}" if out_file else ""))


@log_app.command("import")
def log_import(
    file: Annotated[Path, typer.Argument(help="A file written by `crisis log export`.")],
) -> None:
    """Load an exported log; events already held are skipped (importing twice is harmless)."""

    async def run(store: EventStore) -> str:
        size = file.stat().st_size
        with file.open("rb") as lines, _progress(size, "import") as bar:
            task = bar.add_task("import", total=size)
            counted = _CountingLines(lines, lambda n: bar.advance(task, n))
            result = await import_log(store, counted)
        return (
            f"read {result.read} events: {result.added} added, {result.already_held} already held"
        )

    try:
        message = _run(run)
    except ArchiveError as exc:
        err.print(
            f"[bold red]error:[/] {file}: {exc}. The import stopped there; once the file is "
            "fixed, import it again: events already imported are skipped."
        )
        raise typer.Exit(1) from None
    out.print(message)


class _CountingLines:
    """Iterate the lines of a binary file, reporting the bytes read."""

    def __init__(self, lines: Any, advance: Callable[[int], None]) -> None:
        self.lines = lines
        self.advance = advance

    def __iter__(self) -> Any:
        for line in self.lines:
            self.advance(len(line))
            yield line


@log_app.command("verify")
def log_verify(
    crisis: Annotated[str | None, typer.Option(help="Only this crisis (default: all).")] = None,
) -> None:
    """Check the hash chain; report the first changed, missing or reordered record and exit 1."""

    database_url = _settings().database_url

    async def run(store: EventStore) -> tuple[int, list[Any]]:
        total = await store.count(crisis)
        with _progress(total, "verify") as bar:
            task = bar.add_task("verify", total=total)
            faults = await verify_log(
                store,
                crisis_id=crisis,
                progress=lambda n: bar.advance(task, n),
                database_url=database_url,
            )
        return total, faults

    total, faults = _run(run)
    if not faults:
        out.print(f"[green]chain intact[/]: {total} events verified")
        return
    for fault in faults:
        where = f"record {fault.crisis_seq}" + (
            f" (position {fault.position})" if fault.position is not None else ""
        )
        err.print(
            f"[bold red]chain broken[/] in crisis {fault.crisis_id} at {where}: {fault.problem}"
        )
    raise typer.Exit(1)


@log_app.command("status")
def log_status_command() -> None:
    """How far the log is behind the stream (consumer lag), and what it holds."""
    settings = _settings()
    try:
        url = bus_url(settings)
    except NotRunningError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None

    async def run(store: EventStore) -> Table:
        async with open_bus(settings, url=url, name="crisis-log-status") as bus:
            status = await log_status(bus.js, store)
        table = Table(title="event log", show_header=False, title_justify="left")
        table.add_row(
            "stream CRISIS", f"{status.stream_messages} messages, last #{status.stream_last_seq}"
        )
        table.add_row(
            "log", f"{status.log_events} events, last position #{status.log_last_position}"
        )
        table.add_row(
            "consumer lag",
            f"{status.lag} ({status.pending} not delivered, {status.ack_pending} awaiting ack)"
            if status.consumer_exists
            else "no consumer yet: is the event log running?",
        )
        table.add_row("redelivered", str(status.redelivered))
        table.add_row("rejected inputs", str(status.rejected))
        crises = Table("crisis", "events", "main courante", "first recorded", "last recorded")
        for crisis in await store.crises():
            crises.add_row(
                crisis.crisis_id,
                str(crisis.events),
                str(crisis.main_courante_entries),
                _when(crisis.first_recorded_at),
                _when(crisis.last_recorded_at),
            )
        out.print(table)
        return crises

    out.print(_run(run))


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
