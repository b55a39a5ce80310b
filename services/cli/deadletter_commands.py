"""`crisis deadletter …`: the inputs that were refused, kept raw with their reason."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.bootstrap import open_store
from services.eventlog.store import RejectedInput
from services.runtime.logging import configure_logging
from services.runtime.settings import load_settings

deadletter_app = typer.Typer(
    help="Rejected inputs: what was refused, why, and the raw input.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
SHOWN = 4096


def _load(limit: int, source: str | None) -> list[RejectedInput]:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)

    async def run() -> list[RejectedInput]:
        async with open_store(settings) as store:
            return await store.rejected(limit=limit, source=source)

    return asyncio.run(run())


def _one(rejected_id: int) -> RejectedInput | None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)

    async def run() -> RejectedInput | None:
        async with open_store(settings) as store:
            return await store.rejected_one(rejected_id)

    return asyncio.run(run())


@deadletter_app.command("list")
def deadletter_list(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    source: Annotated[str | None, typer.Option(help="Only from this feed or source.")] = None,
) -> None:
    """The most recent rejected inputs, newest first."""
    found = _load(limit, source)
    if not found:
        out.print("no rejected input" + (f" from {source}" if source else ""))
        return
    table = Table("id", "rejected at", "source", "reason", "at", "size", "position")
    for item in found:
        table.add_row(
            str(item.id),
            item.rejected_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            item.source,
            item.reason if len(item.reason) <= 80 else item.reason[:79] + "…",
            item.field or "",
            f"{len(item.raw):,} B",
            str(item.position or ""),
        )
    out.print(table)
    out.print("`crisis deadletter show ID` for the reason in full and the raw input.")


@deadletter_app.command("show")
def deadletter_show(
    rejected_id: Annotated[int, typer.Argument(help="The id shown by `crisis deadletter list`.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="Write the raw input, exactly, to standard output.")
    ] = False,
) -> None:
    """One rejected input: where it came from, why it was refused, and what it said."""
    item = _one(rejected_id)
    if item is None:
        err.print(
            f"[bold red]error:[/] no rejected input {rejected_id}: see `crisis deadletter list`"
        )
        raise typer.Exit(1)
    if raw:
        sys.stdout.buffer.write(item.raw)
        return
    table = Table(show_header=False, title=f"rejected input {item.id}", title_justify="left")
    table.add_row("rejected at", item.rejected_at.isoformat())
    table.add_row("source", item.source)
    table.add_row("reason", item.reason)
    table.add_row("at", item.field or "(the input as a whole)")
    table.add_row("subject", item.subject or "")
    table.add_row("stream position", f"{item.stream or ''} {item.position or ''}".strip())
    table.add_row("content type", item.content_type or "")
    table.add_row("size / sha-256", f"{len(item.raw):,} bytes / {item.raw_sha256}")
    out.print(table)
    text = item.raw[:SHOWN].decode("utf-8", "replace")
    more = (
        f"\n… {len(item.raw) - SHOWN:,} more bytes (--raw for all)" if len(item.raw) > SHOWN else ""
    )
    out.print("raw input:", highlight=False)
    out.print(text + more, markup=False, highlight=False)
