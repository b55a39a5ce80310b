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
from services.eventlog.archive import (
    ArchiveError,
    check_archive,
    export_log,
    import_log,
    verify_log,
)
from services.eventlog.archive_key import (
    ArchiveKeyError,
    SigningKey,
    load_or_create,
    public_from_text,
)
from services.eventlog.schema import current_revision, head_revision, upgrade
from services.eventlog.sealed import ArchiveCheck
from services.eventlog.status import log_status
from services.eventlog.store import EventStore
from services.eventlog.streamcheck import StreamComparison, compare_with_stream
from services.runtime.database import describe, make_engine
from services.runtime.discovery import NotRunningError
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings, load_settings

db_app = typer.Typer(help="The database of the event log.", no_args_is_help=True)
log_app = typer.Typer(
    help="The event log: export, import, verify, status, key.", no_args_is_help=True
)

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
    """Write the log as a signed archive (JSON Lines, one event a line with its hash, in stream
    order, with signed checkpoints): the crisis archive."""
    settings = _settings()
    key = _archive_key(settings)

    async def run(store: EventStore) -> int:
        total = await store.count(crisis)
        target = out_file.open("wb") if out_file else sys.stdout.buffer
        try:
            with _progress(total, "export") as bar:
                task = bar.add_task("export", total=total)
                return await export_log(
                    store,
                    target,
                    key=key,
                    crisis_id=crisis,
                    progress=lambda n: bar.advance(task, n),
                )
        finally:
            if out_file:
                target.close()

    count = _run(run)
    err.print(
        f"exported {count} events" + (f" to {out_file}" if out_file else "") + f", signed by "
        f"key {key.key_id} ({settings.archive_key_path})"
    )


def _archive_key(settings: Settings) -> SigningKey:
    """The archive signing key of the settings, created (and said so) on first use."""
    path = settings.archive_key_path
    try:
        key, created = load_or_create(path)
    except ArchiveKeyError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    if created:
        err.print(f"created the archive signing key {path} (0600), key {key.key_id}")
    return key


def _public_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return public_from_text(path.read_text(encoding="utf-8"))
    except (OSError, ArchiveKeyError) as exc:
        err.print(f"[bold red]error:[/] {path}: {exc}")
        raise typer.Exit(1) from None


PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="The public key the archive must be signed by (PEM, from `crisis log key --out`). "
        "Without it, the key the archive names is taken at its word.",
    ),
]


def _check(file: Path, public_key: bytes | None) -> ArchiveCheck:
    size = file.stat().st_size
    with file.open("rb") as lines, _progress(size, "check") as bar:
        task = bar.add_task("check", total=size)
        return check_archive(
            _CountingLines(lines, lambda n: bar.advance(task, n)), public_key=public_key
        )


def _unsigned_warning(file: Path) -> str:
    return (
        f"{file} is an unsigned archive (no hashes, no signatures: written before they existed, "
        "or by hand). Its lines are valid events, but nothing proves they are what was exported."
    )


@log_app.command("import")
def log_import(
    file: Annotated[Path, typer.Argument(help="A file written by `crisis log export`.")],
    public_key: PublicKeyOption = None,
    require_signed: Annotated[
        bool,
        typer.Option(
            "--require-signed",
            help="Refuse an unsigned archive (also CRISIS_ARCHIVE_REQUIRE_SIGNED, and implied by "
            "--public-key).",
        ),
    ] = False,
) -> None:
    """Check an archive (every hash and signature), then load it; events already held are
    skipped (importing twice is harmless). An archive that does not verify is refused."""
    settings = _settings()
    expected = _public_key(public_key)
    check = _check(file, expected)
    if check.fault is not None:
        err.print(
            f"[bold red]refused:[/] {file}: {check.fault}. Nothing was imported.", soft_wrap=True
        )
        raise typer.Exit(1)
    if not check.signed:
        if require_signed or expected is not None or settings.archive_require_signed:
            err.print(
                f"[bold red]refused:[/] {_unsigned_warning(file)} Nothing was imported.",
                soft_wrap=True,
            )
            raise typer.Exit(1)
        err.print(f"[bold yellow]warning:[/] {_unsigned_warning(file)}", soft_wrap=True)

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
    if check.signed:
        message += f" (archive verified, signed by key {check.key_id})"
    out.print(message)


@log_app.command("key")
def log_key(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the public key (PEM) to this file for --public-key."),
    ] = None,
) -> None:
    """Show the archive signing key's fingerprint and public key (created on first use)."""
    settings = _settings()
    key = _archive_key(settings)
    if out_file is not None:
        out_file.write_text(key.public_pem(), encoding="utf-8")
        err.print(f"wrote the public key to {out_file}")
    else:
        out.print(key.public_pem(), end="")
    out.print(f"key {key.key_id} ({settings.archive_key_path})")


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
    archive: Annotated[
        Path | None,
        typer.Option(help="Check this archive file instead of the log, without importing it."),
    ] = None,
    public_key: PublicKeyOption = None,
) -> None:
    """Check the hash chains (the payload and the columns of every record); report the first
    changed, missing or reordered record and exit 1. With --archive, check a file instead."""
    if archive is not None:
        _verify_archive(archive, _public_key(public_key))
        return
    settings = _settings()
    database_url = settings.database_url

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
    diverged = _compare_with_stream(settings) if crisis is None else False
    if not faults and not diverged:
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


def _compare_with_stream(settings: Settings) -> bool:
    """Whether the log and the stream of the running system hold different events at one
    position (printed); said and skipped when no system runs (`streamcheck`)."""
    try:
        url = bus_url(settings)
    except NotRunningError:
        out.print("[dim]the stream was not compared: no system runs from this folder[/]")
        return False

    async def run(store: EventStore) -> StreamComparison:
        async with open_bus(settings, url=url, name="crisis-log-verify") as bus:
            return await compare_with_stream(store, bus.js)

    found = _run(run)
    for mismatch in found.mismatches:
        err.print(
            f"[bold red]log and stream differ[/] at position {mismatch.position}: "
            f"{mismatch.problem}",
            soft_wrap=True,
        )
    if found.more:
        err.print(f"[bold red]and {found.more} more positions differ[/]")
    if found.agrees:
        out.print(
            f"[dim]stream compared: {found.compared} positions agree, {found.unchecked} no "
            "longer on the stream[/]"
        )
    return not found.agrees


def _verify_archive(file: Path, public_key: bytes | None) -> None:
    _settings()
    check = _check(file, public_key)
    if check.fault is not None:
        err.print(f"[bold red]archive broken[/]: {file}: {check.fault}", soft_wrap=True)
        raise typer.Exit(1)
    if not check.signed:
        err.print(f"[bold red]not verified[/]: {_unsigned_warning(file)}", soft_wrap=True)
        raise typer.Exit(1)
    whose = (
        "the expected key"
        if public_key is not None
        else "the key it names (pass --public-key to check that it is yours)"
    )
    out.print(
        f"[green]archive intact[/]: {check.records} events of {check.crises} crises, every hash "
        f"and signature verified; signed by key {check.key_id}, {whose}; exported "
        f"{check.exported_at}"
    )


@log_app.command("status")
def log_status_command() -> None:
    """How far the log is behind the stream (consumer lag), and what it holds."""
    settings = _settings()
    try:
        url = bus_url(settings)
    except NotRunningError as exc:
        err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None

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
