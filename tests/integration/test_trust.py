"""Every act is an authenticated principal's, on the secured embedded server: the attacks of the
trust issue, each refused by the server or the cell, and nothing stored for any of them."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nats
import orjson
import pytest
from click.testing import Result
from nats.aio.client import Client
from typer.testing import CliRunner

from schemas.envelope import Envelope
from schemas.events import MainCouranteEntryRecorded, PlanActivated
from services.auth.app import AuthService
from services.auth.callout import inbox_prefix, login_subject
from services.auth.principals import act_subject, subject_token
from services.auth.sessions import SessionStore
from services.cell.app import CellService
from services.cell.people import People, Role, add_person
from services.cli.bus_commands import tail
from services.cli.credentials import choose
from services.cli.main import app
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import Settings
from services.runtime.system import CrisisSystem
from services.runtime.topology import CRISIS_STREAM
from tests.integration.waiting import until
from tests.unit.samples import sample_event

pytestmark = pytest.mark.integration

CRISIS = "crue-vesubie"
PASSWORDS = {"dircab": "mot de passe du directeur", "op.martin": "mot de passe operateur"}
OPEN = ("open", CRISIS, "--name", "Crue", "--departement", "06", "--exercise")

Cli = Callable[..., Result]


@pytest.fixture
async def secured(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[CrisisSystem]:
    """The system as `crisis up` runs it: the embedded server with authentication on."""
    wired = settings.model_copy(
        update={"credentials_dir": tmp_path / "home", "sitrep_check_every_s": 3600}
    )
    add_person(wired.people_path, "dircab", Role.DIRECTOR, "Directeur", PASSWORDS["dircab"])
    add_person(wired.people_path, "op.martin", Role.OPERATOR, "Paul Martin", PASSWORDS["op.martin"])
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    await engine.dispose()
    monkeypatch.setenv("CRISIS_VAR_DIR", str(wired.var_dir))
    monkeypatch.setenv("CRISIS_CREDENTIALS_DIR", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    services = [AuthService(wired), EventLogService(wired), CellService(wired)]
    async with CrisisSystem(wired, services) as running:
        yield running


@pytest.fixture
def crisis() -> Cli:
    """The command line, in a thread (its commands run their own event loop)."""
    runner = CliRunner()

    async def run(*args: str, stdin: str | None = None) -> Result:
        return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin)

    return run  # type: ignore[return-value]


async def _login(crisis: Cli, ident: str, password: str | None = None) -> Result:
    result: Result = await crisis(
        "login", ident, "--password-stdin", stdin=(password or PASSWORDS[ident]) + "\n"
    )
    return result


def _said(result: Result) -> str:
    return " ".join(result.output.split())


async def _last_seq(system: CrisisSystem) -> int:
    info = await system.js.stream_info(CRISIS_STREAM)
    return int(info.state.last_seq)


async def _quiet(_error: Exception) -> None:
    """Violations are asserted through their effects, not printed."""


async def _connect(url: str, **options: object) -> Client:
    return await nats.connect(
        url, allow_reconnect=False, connect_timeout=2, error_cb=_quiet, **options
    )


async def test_a_client_without_a_credential_can_neither_publish_nor_read(
    secured: CrisisSystem,
) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _connect(secured.nats_url)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _connect(secured.nats_url, user="cell", password="a guess at the cell's secret")
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _connect(secured.nats_url, user="dircab", password="not the password")
    # The URL other commands find carries no credential; the credentials are 0600.
    assert "@" not in secured.nats_url
    users = secured.settings.nats_secure_dir / "users"
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in users.iterdir())


async def test_the_command_line_acts_only_as_a_person_logged_in(
    secured: CrisisSystem, crisis: Cli
) -> None:
    before = await _last_seq(secured)
    nobody = await crisis(*OPEN, "--as", "dircab")
    assert nobody.exit_code == 2  # an error the user acts on (log in): one line, exit 2
    assert "no live session of 'dircab'" in _said(nobody)
    assert (await _login(crisis, "op.martin")).exit_code == 0
    # Holding op.martin's session does not make anyone the director.
    posing = await crisis(*OPEN, "--as", "dircab")
    assert posing.exit_code == 2
    assert "crisis login dircab" in _said(posing)
    as_himself = await crisis(*OPEN)
    assert as_himself.exit_code == 1
    assert "op.martin is operator" in _said(as_himself)
    assert await _last_seq(secured) == before
    login = await _login(crisis, "dircab")
    assert login.exit_code == 0, login.output
    session_file = secured.settings.credentials_path / "sessions" / "dircab.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    opened = await crisis(*OPEN, "--as", "dircab")
    assert opened.exit_code == 0, opened.output
    store = EventStore(make_engine(secured.settings.database_url))
    try:
        await until(lambda: _actors_are(store, ["dircab"]))
    finally:
        await store.close()


async def _actors_are(store: EventStore, actors: list[str]) -> bool:
    return [record.actor async for record in store.read(crisis_id=CRISIS)] == actors


def _token(system: CrisisSystem, ident: str) -> str:
    """The session token `crisis login` kept for `ident`."""
    path = system.settings.credentials_path / "sessions" / f"{subject_token(ident)}.json"
    return str(orjson.loads(path.read_bytes())["token"])


async def _has(errors: list[Exception], text: str) -> bool:
    return any(text.lower() in str(error).lower() for error in errors)


async def _person(system: CrisisSystem, crisis: Cli, ident: str) -> Client:
    """A raw connection with the session `crisis login` gave `ident`."""
    assert (await _login(crisis, ident)).exit_code == 0
    return await _connect(
        system.nats_url, token=_token(system, ident), inbox_prefix=inbox_prefix(ident)
    )


async def test_a_raw_request_cannot_act_as_someone_else(secured: CrisisSystem, crisis: Cli) -> None:
    operator = await _person(secured, crisis, "op.martin")
    before = await _last_seq(secured)
    command = {"act": "open_crisis", "crisis_id": CRISIS, "name": "Forged", "departement": "06"}
    # On the director's subject: the server refuses the publish; nobody answers.
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await operator.request(act_subject("dircab"), orjson.dumps({"command": command}), 2)
    # On his own subject, claiming to be the director in the body: the cell refuses.
    claimed = orjson.dumps({"actor": "dircab", "command": command})
    answer = orjson.loads((await operator.request(act_subject("op.martin"), claimed, 10)).data)
    assert answer["ok"] is False
    assert "you act as 'op.martin'" in answer["error"]
    await operator.close()
    # Nor may he read another person's replies.
    errors: list[Exception] = []

    async def keep(error: Exception) -> None:
        errors.append(error)

    snoop = await nats.connect(
        secured.nats_url, token=_token(secured, "op.martin"), error_cb=keep, allow_reconnect=False
    )
    await snoop.subscribe(f"{inbox_prefix('dircab')}.>")
    await until(lambda: _has(errors, "Permissions Violation for Subscription"), 10)
    await snoop.close()
    assert await _last_seq(secured) == before


async def test_only_the_cell_publishes_a_decision(secured: CrisisSystem, crisis: Cli) -> None:
    before = await _last_seq(secured)
    event = orjson.dumps({"type": "plan.activated"})
    subject = f"crisis.{CRISIS}.plan.activated"
    clients = [
        await _connect(secured.urls["admin"]),
        await _connect(secured.urls["feed-vigicrues"]),
        await _connect(secured.urls["plans"]),
        await _person(secured, crisis, "dircab"),
    ]
    for client in clients:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await client.jetstream().publish(subject, event, timeout=1)
        await client.close()
    # The administrator's tool says so before trying.
    refused = await crisis("publish", str(_event_file(secured, PlanActivated)))
    assert refused.exit_code == 1
    assert "decision of the cell" in _said(refused)
    assert await _last_seq(secured) == before
    violations = (secured.settings.var_dir / "nats-server.log").read_text()
    for user in ("admin", "feed-vigicrues", "plans", "dircab"):
        assert f'"CRISIS/user:{user}" - Publish Violation - Subject "{subject}"' in violations


def _event_file(system: CrisisSystem, kind: type[Envelope]) -> Path:
    event = sample_event(kind, crisis_id=CRISIS, actor="dircab")
    path = system.settings.var_dir / f"{event.type}.json"
    path.write_bytes(event.model_dump_json().encode())
    return path


async def test_sessions_end_with_logout_a_new_password_or_a_disabled_person(
    secured: CrisisSystem, crisis: Cli
) -> None:
    assert (await _login(crisis, "dircab")).exit_code == 0
    assert (await crisis(*OPEN)).exit_code == 0
    token = _token(secured, "dircab")

    async def token_admitted() -> bool:
        try:
            client = await _connect(secured.nats_url, token=token)
        except nats.errors.Error:
            return False
        await client.close()
        return True

    assert await token_admitted()
    logged_out = await crisis("logout")
    assert logged_out.exit_code == 0
    assert "did not confirm" not in logged_out.output, logged_out.output
    assert not await token_admitted()  # revoked on the server, not only forgotten here
    assert "not logged in" in _said(await crisis("close", CRISIS))

    assert (await _login(crisis, "dircab")).exit_code == 0
    new_password = "un tout nouveau mot de passe"
    changed = await crisis(
        "user", "password", "dircab", "--password-stdin", stdin=new_password + "\n"
    )
    assert changed.exit_code == 0, changed.output
    turned = await crisis("close", CRISIS)
    assert turned.exit_code == 2
    assert "turned away" in _said(turned)
    assert (await _login(crisis, "dircab")).exit_code == 2  # the old password no longer works
    assert (await _login(crisis, "dircab", new_password)).exit_code == 0
    assert (await crisis("user", "disable", "dircab")).exit_code == 0
    assert "turned away" in _said(await crisis("close", CRISIS))


async def test_guessing_a_password_is_throttled_on_the_server(
    secured: CrisisSystem, crisis: Cli
) -> None:
    del secured
    for _ in range(5):
        assert (await _login(crisis, "dircab", "a wrong guess")).exit_code == 2
    right = await _login(crisis, "dircab")
    assert right.exit_code == 2
    assert "too many attempts" in _said(right)


async def test_crisis_publish_publishes_as_the_admin_never_as_the_name_in_the_file(
    secured: CrisisSystem, crisis: Cli
) -> None:
    published = await crisis("publish", str(_event_file(secured, MainCouranteEntryRecorded)))
    assert published.exit_code == 0, published.output
    assert "actor 'dircab' replaced by 'admin'" in _said(published)
    store = EventStore(make_engine(secured.settings.database_url))
    try:
        await until(lambda: _actors_are(store, ["admin"]))
    finally:
        await store.close()


async def test_a_person_has_no_jetstream_api_to_replace_the_event_logs_consumer(
    secured: CrisisSystem, crisis: Cli
) -> None:
    observer = await _person(secured, crisis, "op.martin")
    for subject, body in (
        ("$JS.API.CONSUMER.DELETE.CRISIS.eventlog", b""),
        (
            "$JS.API.CONSUMER.CREATE.CRISIS",
            orjson.dumps(
                {
                    "stream_name": "CRISIS",
                    "config": {"deliver_subject": f"{inbox_prefix('dircab')}.x"},
                }
            ),
        ),
    ):
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await observer.request(subject, body, timeout=1)
    await observer.close()
    names = {c.name for c in await secured.js.consumers_info(CRISIS_STREAM)}
    assert "eventlog" in names
    assert len(names) == 2  # the event log's durable and the cell's follower, nothing else


async def test_a_session_token_cannot_renew_itself(secured: CrisisSystem, crisis: Cli) -> None:
    person = await _person(secured, crisis, "op.martin")
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await person.request(login_subject("op.martin"), b"{}", timeout=1)
    await person.close()
    store = SessionStore(make_engine(secured.settings.database_url), People)
    try:
        assert len(await store.list()) == 1  # the session `crisis login` opened, no other
    finally:
        await store.engine.dispose()


async def test_a_person_reads_what_is_published_from_now_on(
    secured: CrisisSystem, crisis: Cli
) -> None:
    assert (await _login(crisis, "dircab")).exit_code == 0
    lines: list[str] = []
    stop = asyncio.Event()
    held = choose(secured.settings, "dircab")
    reader = asyncio.create_task(
        tail(
            secured.nats_url,
            crisis_id=None,
            from_start=False,
            write=lines.append,
            stop=stop,
            limit=1,
            person=held,
        )
    )
    await asyncio.sleep(0.5)
    assert (await crisis(*OPEN)).exit_code == 0
    await asyncio.wait_for(reader, 10)
    assert "crisis.opened" in lines[0]
    with pytest.raises(ValueError, match="admin credential"):
        await tail(
            secured.nats_url, crisis_id=None, from_start=True, write=lines.append, person=held
        )


async def test_the_database_is_readable_by_its_owner_only(secured: CrisisSystem) -> None:
    database = secured.settings.var_dir / "crisis.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


async def test_the_auth_service_stays_idle_on_a_server_without_the_callout(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> None:
    del bus
    wired = settings.model_copy(update={"nats_url": nats_server.url})
    auth = AuthService(wired)
    await auth.start(nats_server.url)  # no issuer seed under var/: it says so, and waits
    assert auth.authority is None
    await auth.stop()
