"""Secured NATS on a real nats-server: the generated configuration, each user's rights, and every
service doing its work on its own credential without a single permissions violation."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from schemas import subjects
from services.auth.app import AuthService
from services.auth.principals import act_subject
from services.cell.app import CellService
from services.cell.people import Role, add_person
from services.console.app import ConsoleService
from services.deploy.nats_config import (
    DECISION_EVENTS,
    ISSUER_FILE,
    SECRETS_FILE,
    Description,
    Permissions,
    TlsSpec,
    bcrypt_hash,
    bcrypt_matches,
    client_url,
    generate,
    load_description,
    load_secrets,
    permissions,
)
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.intake.app import IntakeService
from services.intake.own_events import FEED_EVENT_TYPES
from services.ops.app import OpsService
from services.picture.app import PictureService
from services.plans.app import PlansService
from services.replay.core import Recorded, Timeline
from services.replay.runner import Replay
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.embedded import free_port, server_binary
from services.runtime.settings import Settings
from services.runtime.topology import (
    CRISIS_STREAM,
    DEADLETTER_DURABLE,
    DEADLETTER_STREAM,
    EVENTLOG_DURABLE,
    REPLAY_STREAM,
    deadletter_consumer,
    ensure_topology,
    eventlog_consumer,
    topology,
)
from tests.integration.waiting import until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
DESCRIPTION = ROOT / "services" / "runtime" / "security.toml"
PLANS = ROOT / "services" / "plans" / "departements"
CORPUS = ROOT / "tests" / "data" / "intake"
ACTIVATED = "crisis.x.plan.activated"
CRISIS = "crue-vesubie"


def _for_test(description: Description, port: int, folder: Path) -> Description:
    """The repository's description, served on 127.0.0.1:`port`, storing under `folder`."""
    server = description.server.model_copy(
        update={
            "host": "127.0.0.1",
            "port": port,
            "store_dir": str(folder / "jetstream"),
            "log_file": str(folder / "nats.log"),
            "bcrypt_cost": 4,  # the cheapest: these secrets only live for the test
        }
    )
    return description.model_copy(update={"server": server})


@pytest.fixture(scope="module")
def kept_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Secrets for every user of the description, made once for the whole module."""
    folder = tmp_path_factory.mktemp("secrets")
    generate(_for_test(load_description(DESCRIPTION), 4222, folder), folder)
    return folder / SECRETS_FILE


@dataclass
class Secured:
    """A running nats-server on the generated configuration, and its users' URLs."""

    out: Path
    port: int
    log: Path

    def url(self, user: str) -> str:
        """The URL (with password) that user's env file gives."""
        return client_url(self.out / "users" / f"{user}.env")

    def violations(self) -> list[str]:
        """The permissions violations the server logged."""
        return [line for line in self.log.read_text().splitlines() if "Violation" in line]


@contextmanager
def _running(config: Path, port: int, log: Path) -> Iterator[None]:
    """nats-server, found as the embedded one is, run on `config` until the block ends."""
    process = subprocess.Popen(
        [str(server_binary()), "--config", str(config)], stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def secured(tmp_path: Path, kept_secrets: Path) -> Iterator[Secured]:
    """A server on the generated server.conf, the module's secrets reused: no new hash."""
    out = _secrets_in(tmp_path / "secure", kept_secrets)
    port = free_port()
    generated = generate(_for_test(load_description(DESCRIPTION), port, tmp_path), out)
    assert generated.new_secrets == ()
    with _running(generated.config, port, tmp_path / "nats.log"):
        yield Secured(out, port, tmp_path / "nats.log")


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


async def _client(url: str, errors: list[Exception] | None = None) -> Client:
    async def keep(error: Exception) -> None:
        if errors is not None:
            errors.append(error)

    return await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=keep)


async def _streams_by_admin(secured: Secured, settings: Settings) -> None:
    admin = await _client(secured.url("admin"))
    await ensure_topology(admin.jetstream(), topology(settings))
    await admin.close()


def _secrets_in(folder: Path, kept_secrets: Path) -> Path:
    folder.mkdir()
    shutil.copy(kept_secrets, folder / SECRETS_FILE)
    return folder


def test_the_output_is_the_same_until_a_secret_is_rotated(
    tmp_path: Path, kept_secrets: Path
) -> None:
    description = _for_test(load_description(DESCRIPTION), 4222, tmp_path)
    first = generate(description, _secrets_in(tmp_path / "a", kept_secrets))
    config = first.config.read_bytes()
    assert generate(description, tmp_path / "a").new_secrets == ()
    assert first.config.read_bytes() == config
    for private in (first.secrets, *first.credentials):
        assert private.stat().st_mode & 0o777 == 0o600
    before = load_secrets(first.secrets)
    assert generate(description, tmp_path / "a", rotate=["plans"]).new_secrets == ("plans",)
    after = load_secrets(first.secrets)
    assert after["plans"] != before["plans"]
    assert {n: s for n, s in after.items() if n != "plans"} == {
        n: s for n, s in before.items() if n != "plans"
    }
    assert bcrypt_matches(after["plans"].password, after["plans"].bcrypt)
    # A published test vector (OpenBSD's), and the server checks the rest.
    salt = bytes.fromhex("10410410410410410410410410410410")  # "CCCCCCCCCCCCCCCCCCCCC."
    assert bcrypt_hash("U*U", 5, salt) == (
        "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
    )


def test_the_description_keeps_decisions_to_the_cell_and_feeds_out_of_the_stream() -> None:
    users = load_description(DESCRIPTION).all_users()
    decides = {n for n, u in users.items() if "crisis.*.plan.activated" in permissions(u).publish}
    # The zone relays the départements' own decisions into the zone's stream.
    assert decides == {"cell", "zone"}
    assert {n for n, u in users.items() if u.decides} == {"cell", "zone"}
    # The admin publishes with `crisis publish`, but no decision.
    admin = set(permissions(users["admin"]).publish)
    assert not {f"crisis.*.{t}" for t in DECISION_EVENTS} & admin
    plans = [s for s in permissions(users["plans"]).publish if s.startswith("crisis.")]
    assert plans == ["crisis.*.plan.activation_proposed", "crisis.*.vigipirate.posture_proposed"]
    # A feed sends under its own name only, and reads only its replies (the outcomes).
    assert permissions(users["feed-vigicrues"]) == Permissions(
        publish=("feeds.vigicrues.>",), subscribe=("_INBOX.>",), allow_responses=False
    )
    # What the intake lets a feed state, it may publish.
    intake = set(permissions(users["intake"]).publish)
    assert {f"crisis.*.{t}" for t in FEED_EVENT_TYPES} <= intake


def test_monitoring_and_tls_are_off_unless_asked(tmp_path: Path, kept_secrets: Path) -> None:
    description = _for_test(load_description(DESCRIPTION), 4222, tmp_path)
    closed = generate(description, _secrets_in(tmp_path / "closed", kept_secrets))
    text = closed.config.read_text()
    assert "\nhttp" not in text
    assert "\ntls {" not in text
    assert "CRISIS_NATS_URL=nats://" in closed.credentials[0].read_text()
    tls = TlsSpec(
        cert_file="/c/server.pem", key_file="/c/key.pem", ca_file="/c/ca.pem", verify=True
    )
    server = description.server.model_copy(update={"monitoring_port": 8222, "tls": tls})
    opened = generate(
        description.model_copy(update={"server": server}),
        _secrets_in(tmp_path / "opened", kept_secrets),
    )
    text = opened.config.read_text()
    assert '\nhttp: "127.0.0.1:8222"\n' in text
    assert 'cert_file: "/c/server.pem"' in text
    assert "verify: true" in text
    assert "CRISIS_NATS_URL=tls://" in opened.credentials[0].read_text()
    with pytest.raises(ValueError, match="both cert_file and key_file"):
        TlsSpec(cert_file="/c/server.pem")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make certificates")
async def test_with_a_certificate_clients_speak_tls(tmp_path: Path, kept_secrets: Path) -> None:
    certificates = _certificates(tmp_path / "pki")
    port, monitoring = free_port(), free_port()
    description = _for_test(load_description(DESCRIPTION), port, tmp_path)
    server = description.server.model_copy(
        update={
            "monitoring_port": monitoring,
            "client_host": "localhost",
            "tls": TlsSpec(
                cert_file=str(certificates / "server.pem"),
                key_file=str(certificates / "server.key"),
            ),
        }
    )
    out = _secrets_in(tmp_path / "secure", kept_secrets)
    generated = generate(description.model_copy(update={"server": server}), out)
    with _running(generated.config, port, tmp_path / "nats.log"):
        trusted = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
        url = client_url(out / "users" / "picture.env")
        assert url.startswith("tls://picture:")
        client = await nats.connect(url, tls=trusted, allow_reconnect=False, connect_timeout=2)
        await client.close()
        # Without the CA, the server is not trusted; the monitoring port answers on localhost.
        with pytest.raises((ssl.SSLError, nats.errors.Error, OSError)):
            await _client(url)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{monitoring}/healthz")).status_code == 200


def _certificates(folder: Path) -> Path:
    """A CA and a server certificate for localhost, made with openssl."""
    folder.mkdir()

    command = str(shutil.which("openssl"))

    def openssl(*args: str) -> None:
        subprocess.run([command, *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.cnf",
        "-out",
        "server.pem",
    )
    return folder


async def test_a_client_without_the_right_password_is_refused(
    secured: Secured, settings: Settings
) -> None:
    # People go through the auth service (auth callout); everyone else is the server's own.
    wired = settings.model_copy(update={"auth_issuer_file": secured.out / ISSUER_FILE})
    add_person(wired.people_path, "dircab", Role.DIRECTOR, "Directeur", "le-mot-de-passe-du-dircab")
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    auth = AuthService(wired, store=EventStore(engine))
    await auth.start(secured.url("auth"))
    try:
        for url in (
            f"nats://127.0.0.1:{secured.port}",
            f"nats://cell:not-its-password@127.0.0.1:{secured.port}",
            f"nats://dircab:not-the-password@127.0.0.1:{secured.port}",
        ):
            with pytest.raises(nats.errors.Error, match="Authorization Violation"):
                await _client(url)
        person = await _client(f"nats://dircab:le-mot-de-passe-du-dircab@127.0.0.1:{secured.port}")
        with pytest.raises(nats.errors.TimeoutError):
            await person.jetstream().publish(ACTIVATED, b"{}", timeout=1)
        await person.close()
    finally:
        await auth.stop()
        await engine.dispose()
    assert [v for v in secured.violations() if "user:dircab" in v] != []


async def test_only_the_cell_may_publish_a_plan_activation(
    secured: Secured, settings: Settings
) -> None:
    # A service may read the streams' configuration, never create or change a stream.
    picture = await _client(secured.url("picture"))
    with pytest.raises(nats.errors.TimeoutError):
        await ensure_topology(picture.jetstream(timeout=0.25), topology(settings))
    await picture.close()
    await _streams_by_admin(secured, settings)

    for user in ("plans", "feed-vigicrues", "intake", "admin"):
        errors: list[Exception] = []
        client = await _client(secured.url(user), errors)
        with pytest.raises(nats.errors.TimeoutError):
            await client.jetstream().publish(ACTIVATED, b"{}", timeout=0.25)
        await client.close()
        assert any("permissions violation for publish" in str(e) for e in errors), user

    admin = await _client(secured.url("admin"))
    with pytest.raises(NotFoundError):
        await admin.jetstream().get_last_msg(CRISIS_STREAM, ACTIVATED)
    cell = await _client(secured.url("cell"))
    ack = await cell.jetstream().publish(ACTIVATED, b"{}", timeout=2)
    assert (await admin.jetstream().get_last_msg(CRISIS_STREAM, ACTIVATED)).seq == ack.seq
    await cell.close()
    await admin.close()
    refused = {line.split('"CRISIS/user:')[1].split('"')[0] for line in secured.violations()}
    assert refused == {"picture", "plans", "feed-vigicrues", "intake", "admin"}


async def test_the_event_log_creates_its_durables_fetches_and_dead_letters(
    secured: Secured, settings: Settings
) -> None:
    await _streams_by_admin(secured, settings)
    cell = await _client(secured.url("cell"))
    await cell.jetstream().publish("crisis.x.crisis.opened", b"{}")
    await cell.close()

    eventlog = await _client(secured.url("eventlog"))
    js = eventlog.jetstream()
    live = await js.pull_subscribe(
        subjects.LIVE_ALL, EVENTLOG_DURABLE, CRISIS_STREAM, config=eventlog_consumer(settings)
    )
    [message] = await live.fetch(1, timeout=2)
    await message.ack_sync()
    floor = (await live.consumer_info()).ack_floor
    assert floor is not None
    assert floor.stream_seq == 1
    assert (await js.get_msg(CRISIS_STREAM, 1)).subject == "crisis.x.crisis.opened"

    await js.publish("deadletter.eventlog", b"raw", timeout=2)
    await js.publish("crisis.x.input.rejected", b"{}", timeout=2)
    rejected = await js.pull_subscribe(
        subjects.DEADLETTER_ALL, DEADLETTER_DURABLE, DEADLETTER_STREAM, config=deadletter_consumer()
    )
    [kept] = await rejected.fetch(1, timeout=2)
    await kept.ack_sync()
    with pytest.raises(nats.errors.TimeoutError):
        await js.publish("crisis.x.incident.reported", b"{}", timeout=0.25)
    await eventlog.close()
    assert len(secured.violations()) == 1


async def test_an_ordered_consumer_answers_flow_control(
    secured: Secured, settings: Settings
) -> None:
    # Past about 2 MB in flight the server asks `$JS.FC.…`; unanswered, the consumer stalls.
    await _streams_by_admin(secured, settings)
    cell = await _client(secured.url("cell"))
    for _ in range(100):
        await cell.jetstream().publish("crisis.fc.sitrep.drafted", b"x" * 60_000)
    await cell.close()
    picture = await _client(secured.url("picture"))
    received: list[int] = []
    done = asyncio.Event()

    async def fold(msg: Any) -> None:
        received.append(msg.metadata.sequence.stream)
        if len(received) == 100:
            done.set()

    await picture.jetstream().subscribe(
        subjects.LIVE_ALL, stream=CRISIS_STREAM, ordered_consumer=True, cb=fold
    )
    await asyncio.wait_for(done.wait(), 5)
    await picture.close()
    assert secured.violations() == []


@pytest.fixture
async def log_store(settings: Settings) -> AsyncIterator[EventStore]:
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    yield store
    await store.close()


async def test_every_service_works_on_its_own_credential(
    secured: Secured, settings: Settings, log_store: EventStore
) -> None:
    await _streams_by_admin(secured, settings)
    wired = settings.model_copy(
        update={
            "picture_port": 0,
            "intake_port": 0,
            "console_port": 0,
            "ops_port": 0,
            "plans_dir": PLANS,
        }
    )
    add_person(wired.people_path, "dircab", Role.DIRECTOR, "Directeur de cabinet")
    services: dict[str, Any] = {
        "eventlog": EventLogService(wired),
        "picture": PictureService(wired),
        "intake": IntakeService(wired),
        "cell": CellService(wired),
        "plans": PlansService(wired),
        "console": ConsoleService(wired),
        "ops": OpsService(wired),
    }
    async with AsyncExitStack() as running:
        for name, service in services.items():
            # As `crisis service NAME` starts: the streams checked, then the service.
            async with connect(secured.url(name), plan=topology(wired)):
                pass
            await service.start(secured.url(name))
            running.push_async_callback(service.stop)
        # Acts come in on the console's identity, as the console sends them.
        console = await _client(secured.url("console"))
        running.push_async_callback(console.close)

        async def act(**command: Any) -> dict[str, Any]:
            body = {"command": {"crisis_id": CRISIS, **command}}
            reply = await console.request(act_subject("dircab"), orjson.dumps(body), timeout=10)
            answer: dict[str, Any] = orjson.loads(reply.data)
            assert answer["ok"], answer
            return answer

        await act(act="open_crisis", name="Crues", departement="06", nature="inondation")
        intake = services["intake"].live
        await until(lambda: _true(CRISIS in intake.index.open_crises))
        alert = (CORPUS / "cap12_vigicrues_rouge_vesubie.xml").read_bytes()
        [taken] = await intake.submit(alert, name="vigicrues", feed="vigicrues")
        assert taken.accepted, taken.error
        [refused] = await intake.submit(b"<alert", name="broken", feed="vigicrues")
        assert not refused.accepted
        vigilance = {
            "type": "vigilance.changed",
            "schema_version": 1,
            "crisis_id": CRISIS,
            "occurred_at": "2020-10-02T06:00:00+02:00",
            "source": "meteo",
            "actor": "feed:meteo",
            "departement": "06",
            "phenomenon": "pluie_inondation",
            "colour": "rouge",
            "valid_from": "2020-10-02T06:00:00+02:00",
        }
        [taken] = await intake.submit(orjson.dumps(vigilance), name="vigilance", feed="meteo")
        assert taken.accepted, taken.error
        # What concerns no incident known here is recorded on the intake's own credential.
        cancel = (CORPUS / "cap12_vigicrues_cancel.xml").read_bytes()
        cancel = cancel.replace(b"FR-VIGICRUES-SPC-MEDEST-20201002T160000", b"NEVER-RECEIVED")
        [taken] = await intake.submit(cancel, name="cancel", feed="vigicrues")
        assert [e.type for e in taken.events] == ["maincourante.entry_recorded"], taken.error
        # A partner's case and its resource list: the resources are the intake's to publish.
        case = (CORPUS / "cisu" / "rc_eda_vesubie_flood.json").read_bytes()
        [taken] = await intake.submit(case, name="case", feed="hub-sante")
        assert taken.accepted, taken.error
        listed = (CORPUS / "cisu" / "rc_ri_vesubie_1.json").read_bytes()
        [taken] = await intake.submit(listed, name="resources", feed="hub-sante")
        assert [e.type for e in taken.events].count("resource.engaged") == 3, taken.error

        # The plans service proposes; only the cell activates, for the director.
        cell = services["cell"]
        await until(lambda: _true("orsec-inondation" in _plans(cell.follower.picture(CRISIS))))
        await act(act="activate_plan", plan_code="orsec-inondation")

        admin = await _client(secured.url("admin"))
        running.push_async_callback(admin.close)
        last = (await admin.jetstream().stream_info(CRISIS_STREAM)).state.last_seq
        await until(lambda: _at(log_store, last))
        await until(lambda: _rejected(log_store))
        pictures = services["picture"].live.pictures
        await until(lambda: _true(pictures[CRISIS]["position"] >= last - 1))
        assert pictures[CRISIS]["plans"]["orsec-inondation"]["state"] == "active"

        async with httpx.AsyncClient(base_url=services["ops"].url) as http:
            assert (await http.get("/ready")).status_code == 200
            assert (await http.get("/metrics")).status_code == 200

        # A review replays the crisis on its own identity, beside the live one.
        replayed = await _replay(secured, log_store)
        assert replayed == await log_store.count(CRISIS)
        assert (await admin.jetstream().stream_info(REPLAY_STREAM)).state.messages == replayed
    assert secured.violations() == []


async def _true(value: bool) -> bool:
    return value


def _plans(picture: dict[str, Any] | None) -> dict[str, Any]:
    plans: dict[str, Any] = (picture or {}).get("plans", {})
    return plans


async def _at(store: EventStore, position: int) -> bool:
    return await store.last_position() >= position


async def _rejected(store: EventStore) -> bool:
    return await store.count_rejected() >= 1


async def _replay(secured: Secured, store: EventStore) -> int:
    events = [
        Recorded(r.position, r.recorded_at, orjson.loads(r.payload))
        async for r in store.read(CRISIS)
    ]
    async with connect(secured.url("replay"), name="crisis-replay") as bus:
        replay = Replay(bus.js, Timeline(events), session="retex", speed=None)
        await replay.listen(bus.nc)
        control = await _client(secured.url("replay"))
        answer = await control.request(subjects.replay_control("retex"), b'{"action": "pause"}')
        await control.close()
        assert orjson.loads(answer.data)["ok"]
        replay.resume()
        return await replay.run(asyncio.Event())
