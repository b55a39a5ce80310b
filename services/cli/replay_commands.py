"""`crisis replay`: a past crisis re-published under `replay.<session>.`, or forked as an exercise.

While it runs: space pauses and resumes, `f` jumps ten minutes of crisis time ahead, `q` stops;
from another terminal, `crisis replay-control SESSION pause|resume|seek INSTANT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import termios
import tty
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import nats
import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from schemas import subjects
from schemas.wire import REGISTRY
from services.bootstrap import bus_url, open_bus, open_store
from services.cli.cell_client import fail, out, settings
from services.cli.picture_commands import parse_instant
from services.eventlog.store import EventStore
from services.picture.fold import Picture, fold, new_picture
from services.replay.core import Recorded, Timeline, fork_event, window
from services.replay.runner import Replay
from services.runtime.discovery import NotRunningError
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.streams import instant_text

STEP = timedelta(minutes=10)


async def _recorded(store: EventStore, crisis_id: str) -> list[Recorded]:
    return [
        Recorded(record.position, record.recorded_at, orjson.loads(record.payload))
        async for record in store.read(crisis_id)
    ]


def _summary(picture: Picture) -> str:
    incidents = sum(1 for i in picture["incidents"].values() if i["state"] == "open")
    plans = sum(1 for p in picture["plans"].values() if p.get("state") == "active")
    figure = picture["bilan"].get("decedes")
    dead = figure.get("value") if figure else None
    figures = f", {dead} décédés" if dead else ""
    return f"{incidents} incidents ouverts, {plans} plans actifs{figures}"


@contextlib.contextmanager
def _keys(loop: asyncio.AbstractEventLoop, replay: Replay, stop: asyncio.Event) -> Iterator[None]:
    """Space, f and q on a terminal; nothing when the input is not one."""
    if not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def pressed() -> None:
        key = sys.stdin.read(1)
        if key == " ":
            replay.resume() if replay.paused else replay.pause()
        elif key == "f" and replay.clock is not None:
            with contextlib.suppress(ValueError):
                replay.seek(replay.clock + STEP)
        elif key == "q":
            stop.set()

    tty.setcbreak(fd)
    loop.add_reader(fd, pressed)
    try:
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def replay_command(
    crisis: Annotated[str, typer.Option("--crisis", "-c", help="The past crisis to replay.")],
    start: Annotated[str | None, typer.Option("--from", help="From this instant.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Up to this instant.")] = None,
    speed: Annotated[float, typer.Option(help="Original spacing divided by this.")] = 60.0,
    fastest: Annotated[bool, typer.Option("--max", help="As fast as the bus takes it.")] = False,
    session: Annotated[str | None, typer.Option(help="Replay session name.")] = None,
    as_exercise: Annotated[
        str | None, typer.Option("--as-exercise", help="Fork into this new exercise crisis.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="With --as-exercise: up to this instant.")
    ] = None,
) -> None:
    """Replay a past crisis beside the live ones, or fork it into a new exercise crisis."""
    loaded = settings()
    try:
        # A replay writes under replay.> only. A fork writes a new exercise crisis into the live
        # stream, recorded decisions included, as they were taken: only the cell's credential
        # may publish those (the administrator's files under var/nats/users).
        url = bus_url(loaded, "replay" if as_exercise is None else "cell")
    except NotRunningError as exc:
        raise fail(str(exc), 2) from None
    if speed <= 0:
        raise fail("--speed must be above 0 (or use --max)", 2)

    async def load() -> list[Recorded]:
        async with open_store(loaded) as store:
            return await _recorded(store, crisis)

    events = asyncio.run(load())
    if not events:
        raise fail(f"the log holds nothing of {crisis}")
    if as_exercise is not None:
        if as_exercise == crisis:
            raise fail("the exercise needs a new crisis id", 2)
        limit = parse_instant(until) if until else None
        count = asyncio.run(_fork(loaded, url, window(events, None, limit), as_exercise))
        out.print(
            f"{count} events of {crisis} replayed into exercise crisis [bold]{as_exercise}[/]"
        )
        return
    chosen = window(
        events, parse_instant(start) if start else None, parse_instant(end) if end else None
    )
    name = session or f"{crisis}-{datetime.now(UTC):%H%M%S}"
    done = asyncio.run(_replay(loaded, url, Timeline(chosen), name, None if fastest else speed))
    out.print(f"replay session [bold]{name}[/]: {done} of {len(chosen)} events replayed")


async def _replay(
    loaded: Settings, url: str, timeline: Timeline, session: str, speed: float | None
) -> int:
    # An empty timeline folds nothing into its picture.
    picture = new_picture(str(timeline.events[0].event["crisis_id"]) if len(timeline) else "")
    async with open_bus(loaded, url=url, name="crisis-replay") as bus:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
            transient=False,
        ) as progress:
            task = progress.add_task("replay", total=len(timeline))
            pace = "max" if speed is None else f"x{speed:g}"

            def shown(index: int, recorded: Recorded) -> None:
                fold(picture, recorded.event, index + 1, instant_text(recorded.recorded_at))
                state = "⏸ " if replay.paused else "⏵ "
                clock = recorded.recorded_at.strftime("%d/%m/%Y %H:%M")
                progress.update(
                    task, advance=1, description=f"{state}{clock} UTC {pace} — {_summary(picture)}"
                )

            replay = Replay(bus.js, timeline, session=session, speed=speed, on_event=shown)
            await replay.listen(bus.nc)
            out.print(
                f"session [bold]{session}[/] under replay.{session}.… "
                "(space: pause/resume, f: +10 min, q: stop)"
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signal_name in ("SIGINT", "SIGTERM"):
                # Only the main thread may take signals (a test may run this in another).
                with contextlib.suppress(RuntimeError, ValueError):
                    loop.add_signal_handler(getattr(signal, signal_name), stop.set)
            with _keys(loop, replay, stop):
                return await replay.run(stop)


async def _fork(loaded: Settings, url: str, events: list[Recorded], new_crisis: str) -> int:
    async with open_bus(loaded, url=url, name="crisis-fork") as bus:
        with Progress(
            TextColumn("fork"), BarColumn(), MofNCompleteColumn(), console=out
        ) as progress:
            task = progress.add_task("fork", total=len(events))
            for recorded in events:
                event = REGISTRY.decode(fork_event(recorded.event, new_crisis))
                await publish_event(bus.js, event)
                progress.advance(task)
    return len(events)


def replay_control(
    session: Annotated[str, typer.Argument(help="The replay session.")],
    action: Annotated[str, typer.Argument(help="pause, resume or seek.")],
    to: Annotated[str | None, typer.Argument(help="With seek: the instant to jump to.")] = None,
) -> None:
    """Pause, resume or move forward a running replay."""
    loaded = settings()
    try:
        url = bus_url(loaded, "replay")
    except NotRunningError as exc:
        raise fail(str(exc), 2) from None
    order: dict[str, Any] = {"action": action}
    if to is not None:
        order["to"] = parse_instant(to).isoformat()

    async def send() -> dict[str, Any]:
        async with open_bus(loaded, url=url, name="crisis-replay-control") as bus:
            reply = await bus.nc.request(
                subjects.replay_control(session), orjson.dumps(order), timeout=5
            )
            answer: dict[str, Any] = orjson.loads(reply.data)
            return answer

    try:
        answer = asyncio.run(send())
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        raise fail(f"no replay session {session!r} is running") from None
    if not answer.get("ok"):
        raise fail(str(answer.get("error")))
    out.print(f"{session}: {'paused' if answer['paused'] else 'running'} at {answer['clock']}")


def register(app: typer.Typer) -> None:
    """Put `crisis replay` and `crisis replay-control` on the command line."""
    app.command("replay")(replay_command)
    app.command("replay-control")(replay_control)
