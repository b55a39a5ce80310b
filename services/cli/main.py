"""`crisis`: the command line of crisis-cell. Each command is a thin shell over the services."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import webbrowser
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from schemas.export import export_schemas
from schemas.registry import DecodeError
from services.bootstrap import SERVICE_NAMES, Root, bus_url, open_bus
from services.cli import (
    cell_commands,
    login_commands,
    maincourante_commands,
    replay_commands,
    report_commands,
)
from services.cli.bus_commands import publish_one, read_event, stdout_line, tail
from services.cli.credentials import Held, NoCredentialError, choose
from services.cli.deadletter_commands import deadletter_app
from services.cli.feed_commands import feed_app
from services.cli.incident_commands import incident_app
from services.cli.log_commands import db_app, log_app
from services.cli.picture_commands import picture_app
from services.cli.review_commands import review_command
from services.cli.user_commands import user_app
from services.demo.alerts import FEED, demo_alerts
from services.demo.feed import feed, feed_alerts
from services.demo.people import demo_people
from services.demo.scenario import tempete_alex
from services.deploy.nats_config import DECISION_EVENTS
from services.runtime.bus import Bus
from services.runtime.discovery import NotRunningError, resolve_server
from services.runtime.embedded import EmbeddedServerError
from services.runtime.http import HttpServerError
from services.runtime.locks import LockedError
from services.runtime.logging import configure_logging, set_verbose
from services.runtime.publish import PublishError
from services.runtime.security import ADMIN, DEMO, SERVICE_USERS, bare
from services.runtime.settings import Settings, load_settings
from services.runtime.system import CrisisSystem
from services.runtime.topology import topology, write_stream_files

app = typer.Typer(
    name="crisis",
    help="crisis-cell: the crisis cell's event bus, log and shared operational picture.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
schemas_app = typer.Typer(help="The event catalogue.", no_args_is_help=True)
docs_app = typer.Typer(help="Documents for integrators: AsyncAPI.", no_args_is_help=True)
infra_app = typer.Typer(help="Deployment files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(feed_app, name="feed")
app.add_typer(incident_app, name="incident")
login_commands.register(app)
cell_commands.register(app)
report_commands.register(app)
replay_commands.register(app)
app.command("review")(review_command)
app.add_typer(user_app, name="user")
app.add_typer(log_app, name="log")
maincourante_commands.register(log_app)
app.add_typer(picture_app, name="picture")
app.add_typer(schemas_app, name="schemas")
app.add_typer(infra_app, name="infra")
app.add_typer(docs_app, name="docs")

out = Console()
err = Console(stderr=True)


@app.callback()
def _global_options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Show the libraries' INFO lines too (alembic, FastStream, nats-py); "
            "CRISIS_LOG_LEVEL sets crisis-cell's own.",
        ),
    ] = False,
) -> None:
    set_verbose(verbose)


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _url(settings: Settings, user: str = "admin") -> str:
    try:
        return bus_url(settings, user)
    except NotRunningError as exc:
        raise _fail(str(exc), 2) from None


async def _run_system(
    settings: Settings,
    names: Sequence[str],
    banner: str = "",
    *,
    announce: bool = True,
    owns_folder: bool = False,
) -> None:
    """Migrate the database, start the system, and run until Ctrl-C or SIGTERM; the system
    (`owns_folder`) first holds its folder and store, or refuses to start."""
    async with Root(settings) as root:
        if owns_folder:
            await root.own_folder()
        await root.migrated_store()
        system = CrisisSystem(settings, root.services(names), announce=announce)
        async with _stop_on_signal() as stop, system:
            out.print(_describe(system))
            out.print(banner or "Press Ctrl-C to stop.")
            await stop.wait()
            out.print("Stopping…")


@asynccontextmanager
async def _stop_on_signal() -> AsyncIterator[asyncio.Event]:
    """An event set by Ctrl-C or SIGTERM, with the handlers in place for the whole block."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _describe(system: CrisisSystem) -> Table:
    table = Table(title="crisis-cell is up", show_header=False, title_justify="left")
    where = "embedded nats-server" if system.embedded else "configured (CRISIS_NATS_URL)"
    table.add_row("NATS", f"{bare(system.nats_url)}  ({where})")  # never a password
    if system.embedded:
        table.add_row("JetStream data", str(system.embedded.store_dir.resolve()))
        table.add_row("server log", str(system.embedded.log_file.resolve()))
    table.add_row("streams", ", ".join(s.name or "" for s in topology(system.settings).streams))
    table.add_row("services", ", ".join(s.name for s in system.services) or "(none yet)")
    for service in system.services:
        url = getattr(service, "url", "")
        if url:
            table.add_row(f"{service.name} HTTP", f"{url}  (API docs: {url}/docs)")
    table.add_row("run file", str(system.settings.run_file.resolve()))
    return table


@app.command()
def up() -> None:
    """Start the bus (an embedded nats-server unless CRISIS_NATS_URL is set) and every service."""
    settings = _settings()

    try:
        asyncio.run(_run_system(settings, SERVICE_NAMES, owns_folder=True))
    except LockedError as exc:
        raise _refuse(exc) from None
    # NotRunningError: its CredentialError, when the embedded server's accounts cannot be made.
    except (EmbeddedServerError, HttpServerError, NotRunningError) as exc:
        raise _fail(str(exc), 2) from None
    out.print("Stopped cleanly.")


def _refuse(exc: LockedError) -> typer.Exit:
    """Another system runs from this folder: say so on one line (never wrapped), exit 2."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command()
def publish(
    file: Annotated[str, typer.Argument(help="JSON file holding one event, or - for stdin.")],
) -> None:
    """Administrator's tool: validate an event given as JSON and publish it as `admin`, waiting
    for JetStream's ack (decisions go through the cell instead)."""
    settings = _settings()
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    try:
        event = read_event(raw)
    except DecodeError as exc:
        raise _fail(f"invalid event, not published: {exc}") from None
    if event.type in DECISION_EVENTS:
        raise _fail(
            f"{event.type} is a decision of the cell: it goes through the cell, which checks who "
            "decides (for example `crisis plan activate`), never straight onto the bus"
        )
    if event.actor != ADMIN:
        # The actor is who the credential proves, not a name in the file.
        out.print(f"actor {event.actor!r} replaced by {ADMIN!r}, the credential that publishes")
        event = event.model_copy(update={"actor": ADMIN})
    url = _url(settings)
    try:
        stored = asyncio.run(publish_one(settings, url, event))
    except PublishError as exc:
        raise _fail(str(exc), code=2) from None
    note = " (already held: duplicate dropped)" if stored.duplicate else ""
    out.print(f"published {event.type} {event.event_id} as {stored.stream} #{stored.seq}{note}")


@app.command()
def service(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}.")],
) -> None:
    """Run one service alone in this process, on CRISIS_NATS_URL or the system running here."""
    settings = _settings()
    if name not in SERVICE_NAMES:
        raise _fail(f"no service {name!r}: choose one of {', '.join(SERVICE_NAMES)}")
    url = _url(settings, SERVICE_USERS.get(name, name))
    alone = settings.model_copy(update={"nats_url": url})
    try:
        asyncio.run(_run_system(alone, [name], f"Service {name} running. Ctrl-C stops."))
    except HttpServerError as exc:
        raise _fail(str(exc), 2) from None
    out.print("Stopped cleanly.")


@app.command()
def demo(
    interval: Annotated[
        float, typer.Option(help="Seconds between two events of the sample crisis.")
    ] = 1.0,
    sample: Annotated[
        str, typer.Option(help="alex (storm, 2020), aude (floods, 2018) or lubrizol (SEVESO fire).")
    ] = "alex",
) -> None:
    """Start the whole system on embedded defaults and feed it a sample crisis (EXERCICE)."""
    settings = _settings()
    from services.demo.samples import aude_2018, lubrizol_2019  # noqa: PLC0415 (large data)

    crises = {"alex": tempete_alex, "aude": aude_2018, "lubrizol": lubrizol_2019}
    if sample not in crises:
        raise _fail(f"no sample {sample!r}: choose among {', '.join(crises)}", 2)
    crisis_id = f"demo-{sample}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    events = crises[sample](crisis_id)

    async def run() -> None:
        root = Root(settings)
        await root.own_folder()  # before the people file of a running system is replaced
        people = demo_people(settings.people_path)
        await root.migrated_store()
        system = CrisisSystem(settings, root.services(), demo=True)
        async with root, _stop_on_signal() as stop, system, _player(system) as player:
            out.print(_describe(system))
            _announce_console(system, people)
            out.print(
                f"Feeding crisis [bold]{crisis_id}[/] ({events[0].name}, "  # type: ignore[attr-defined]
                f"[bold yellow]EXERCICE[/]): {len(events)} events, one every {interval:g}s. "
                "Ctrl-C stops."
            )
            watcher = asyncio.create_task(
                tail(
                    system.url_for(ADMIN),
                    crisis_id=crisis_id,
                    from_start=True,
                    write=stdout_line,
                    stop=stop,
                )
            )
            # The Vigicrues alerts are storm Alex's: the other samples bring their own news.
            wanted = sample == "alex"
            alerts = asyncio.create_task(
                _demo_alerts(system, crisis_id, interval * 10, stop) if wanted else asyncio.sleep(0)
            )
            await feed(player.js, events, interval=interval, stop=stop)
            await alerts
            if not stop.is_set():
                out.print("The sample crisis is all in; the system keeps running. Ctrl-C stops.")
            await stop.wait()
            await watcher
            out.print("Stopping…")

    try:
        asyncio.run(run())
    except LockedError as exc:
        raise _refuse(exc) from None
    except (EmbeddedServerError, HttpServerError) as exc:
        raise _fail(str(exc), 2) from None
    out.print("Stopped cleanly.")


@asynccontextmanager
async def _player(system: CrisisSystem) -> AsyncIterator[Bus]:
    """The demo's own connection: the user that plays the scripted exercise (only in the demo)."""
    async with open_bus(system.settings, url=system.url_for(DEMO), name="crisis-demo") as bus:
        yield bus


def _announce_console(system: CrisisSystem, people: list[tuple[str, str, str]]) -> None:
    console = next((s for s in system.services if s.name == "console"), None)
    url = getattr(console, "url", "")
    if not url:
        return
    out.print(f"\n[bold]Console: {url}[/]  (log in as one of these demo people)")
    for ident, role, password in people:
        out.print(f"  {ident:<10} {role:<9} password: {password}")
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        webbrowser.open(url)


async def _demo_alerts(
    system: CrisisSystem, crisis_id: str, interval: float, stop: asyncio.Event
) -> None:
    """Vigicrues CAP alerts through the intake, once it sees the demo crisis open."""
    from services.intake.app import IntakeService  # noqa: PLC0415 (only when running)

    intake = next((s for s in system.services if isinstance(s, IntakeService)), None)
    if intake is None or intake.live is None:
        return
    live = intake.live

    def taken(name: str, outcomes: list[Any]) -> None:
        for outcome in outcomes:
            said = ", ".join(f"{e.type} {getattr(e, 'incident_id', '')}" for e in outcome.events)
            out.print(f"[cyan]intake[/] {name} ({FEED}, CAP): {said or 'nothing new'}")

    await feed_alerts(
        live,
        demo_alerts(),
        ready=lambda: crisis_id in live.index.open_crises,
        interval=interval,
        stop=stop,
        on_taken=taken,
        feed_name=FEED,
    )


@app.command("tail")
def tail_command(
    crisis: Annotated[str | None, typer.Option(help="Only this crisis.")] = None,
    from_start: Annotated[bool, typer.Option(help="Begin at the first stored event.")] = False,
    as_: Annotated[
        str | None, typer.Option("--as", help="Which of your sessions reads (`crisis login`).")
    ] = None,
) -> None:
    """Print live events, one line each, until Ctrl-C: as the person logged in (what is
    published from now on), or with the admin credential (the stream, --from-start too)."""
    settings = _settings()
    session: Held | None = None
    if as_ is not None or not from_start:
        try:
            session = choose(settings, as_)
        except NoCredentialError as exc:
            if as_ is not None:
                raise _fail(str(exc)) from None
    if session is not None and from_start:
        raise _fail("--from-start reads the stream: run it with the admin credential, without --as")
    url = _url(settings) if session is None else resolve_server(settings)

    what = f"crisis {crisis}" if crisis else "every crisis"
    since = "from the stream's start" if from_start else "from now"

    async def run() -> None:
        async with _stop_on_signal() as stop:
            await tail(
                url,
                crisis_id=crisis,
                from_start=from_start,
                write=stdout_line,
                stop=stop,
                person=session,
                # On standard error: standard output holds the events alone.
                following=lambda: err.print(f"following {what}, {since} (Ctrl-C stops)"),
            )

    asyncio.run(run())


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the schema files into.")],
) -> None:
    """Write one JSON Schema file per event type, and an index.json."""
    written = export_schemas(directory)
    out.print(f"wrote {len(written) - 1} event schemas and index.json to {directory}")


@docs_app.command("asyncapi")
def docs_asyncapi(
    directory: Annotated[Path, typer.Argument(help="Folder for the documents.")] = Path(
        "docs/asyncapi"
    ),
) -> None:
    """Write the AsyncAPI document of every service's channels (FastStream generates them)."""
    from services.docs import export_asyncapi  # noqa: PLC0415 (FastStream's specification)

    written = export_asyncapi(directory)
    out.print(f"wrote {len(written)} AsyncAPI documents to {directory}")


@infra_app.command("streams")
def infra_streams(
    directory: Annotated[Path, typer.Argument(help="Folder for the stream definitions.")] = Path(
        "infra/jetstream"
    ),
) -> None:
    """Write the stream definitions as JSON files for `nats stream add --config`."""
    for path in write_stream_files(topology(_settings()), directory):
        out.print(f"wrote {path}")


@infra_app.command("nats-config")
def infra_nats_config(
    description: Annotated[Path, typer.Argument(help="The security description (TOML).")] = Path(
        "services/runtime/security.toml"
    ),
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for the output; default: secure/ beside the description."
        ),
    ] = None,
    rotate: Annotated[
        list[str] | None, typer.Option(help="Give this user a new password (repeatable).")
    ] = None,
) -> None:
    """Write nats-server's config (accounts, users, permissions) and each user's credentials."""
    from services.deploy import nats_config  # noqa: PLC0415 (only this command needs it)

    folder = out_dir or description.parent / "secure"
    try:
        done = nats_config.generate(
            nats_config.load_description(description),
            folder,
            rotate=rotate or (),
            on_new=lambda name: out.print(f"new secret for {name} (hashing…)"),
        )
    except nats_config.SecurityConfigError as exc:
        raise _fail(str(exc)) from None
    out.print(f"wrote {done.config}")
    out.print(f"wrote {len(done.credentials)} credentials files under {folder / 'users'} (0600)")
    kept = len(done.credentials) - len(done.new_secrets)
    out.print(f"secrets in {done.secrets} (0600): {kept} kept, {len(done.new_secrets)} new")


if __name__ == "__main__":
    app()
