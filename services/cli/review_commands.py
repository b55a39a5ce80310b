"""`crisis review --crisis ID --out DIR`: the after-action review (RETEX), from the log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from services.bootstrap import open_store
from services.cli.cell_client import fail, out, settings
from services.eventlog.store import EventStore
from services.runtime.streams import instant_text


async def entries_of(store: EventStore, crisis_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    """The log of one crisis as (position, recorded_at, event) in order."""
    return [
        (record.position, instant_text(record.recorded_at), orjson.loads(record.payload))
        async for record in store.read(crisis_id)
    ]


def review_command(
    crisis: Annotated[str, typer.Option("--crisis", "-c", help="The crisis to review.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for review.html and .json.")],
) -> None:
    """Write the after-action review of a crisis: a self-contained HTML page and its figures."""
    from services.review.core import review  # noqa: PLC0415 (only this command needs it)
    from services.review.render import to_html, to_json_bytes  # noqa: PLC0415

    loaded = settings()

    async def load() -> list[tuple[int, str, dict[str, Any]]]:
        async with open_store(loaded) as store:
            return await entries_of(store, crisis)

    entries = asyncio.run(load())
    if not entries:
        raise fail(f"the log holds nothing of {crisis}")
    result = review(crisis, entries)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"review-{crisis}.html").write_text(to_html(result), encoding="utf-8")
    (out_dir / f"review-{crisis}.json").write_bytes(to_json_bytes(result))
    out.print(
        f"wrote {out_dir / f'review-{crisis}.html'} and its figures as JSON ({len(entries)} events)"
    )
