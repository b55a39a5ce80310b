"""`crisis feed watch`: poll a feed URL, or a drop folder, until Ctrl-C."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from services.intake.core import Outcome
from services.intake.errors import Rejection
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.cli.feed_commands import Taker

out = Console(stderr=True)
# A file written less than this long ago may still be being written: it waits for the next poll.
SETTLE_S = 1.0
ACCEPTED, REFUSED = "accepted", "refused"


async def poll(
    taker: Taker,
    source: str,
    folder: Path | None,
    settings: Settings,
    *,
    every: float,
    once: bool,
    as_json: bool,
    move: bool,
) -> None:
    """Poll `source` every `every` seconds (once if `once`), printing what each poll took."""
    from services.cli.feed_commands import print_outcomes  # noqa: PLC0415 (mutual import)

    seen: set[tuple[str, float, int]] = set()
    while True:
        started = time.monotonic()
        if folder is None:
            outcomes = await _poll_url(taker, source, settings)
        else:
            outcomes = await _poll_folder(taker, folder, seen, settings, move=move, settle=not once)
        if outcomes:
            print_outcomes(outcomes, as_json=as_json)
        refused = sum(o.refused for o in outcomes)
        new = sum(len(o.events) for o in outcomes)
        out.print(
            f"[dim]{time.strftime('%H:%M:%S')}[/] {source}: {len(outcomes)} alerts, "
            f"{new} new events, {refused} refused"
        )
        if once:
            return
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))


async def _poll_url(taker: Taker, url: str, settings: Settings) -> list[Outcome]:
    from services.cli.feed_commands import link_fetcher  # noqa: PLC0415 (mutual import)

    fetcher = link_fetcher(settings, source=url)
    try:
        raw = await fetcher.get(url, keep_oversized=True)
    except Rejection as exc:
        out.print(f"[yellow]{url}: {exc.reason}; trying again at the next poll[/]")
        return []
    return await taker.take(raw, name=url, fetch=fetcher)


async def _poll_folder(
    taker: Taker,
    folder: Path,
    seen: set[tuple[str, float, int]],
    settings: Settings,
    *,
    move: bool,
    settle: bool,
) -> list[Outcome]:
    from services.cli.feed_commands import link_fetcher  # noqa: PLC0415 (mutual import)

    outcomes = []
    for path, raw in await asyncio.to_thread(_new_files, folder, seen, settle):
        fetcher = link_fetcher(settings, root=folder)
        taken = await taker.take(raw, name=str(path), fetch=fetcher)
        outcomes += taken
        if move:
            target = folder / (ACCEPTED if not any(o.refused for o in taken) else REFUSED)
            await asyncio.to_thread(_move, path, target)
    return outcomes


def _new_files(
    folder: Path, seen: set[tuple[str, float, int]], settle: bool
) -> list[tuple[Path, bytes]]:
    """Files not seen yet, oldest first, that nobody is still writing."""
    found = []
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for path in files:
        stat = path.stat()
        key = (path.name, stat.st_mtime, stat.st_size)
        if key in seen or (settle and time.time() - stat.st_mtime < SETTLE_S):
            continue
        seen.add(key)
        found.append((path, path.read_bytes()))
    return found


def _move(path: Path, target: Path) -> None:
    target.mkdir(exist_ok=True)
    shutil.move(path, target / path.name)
