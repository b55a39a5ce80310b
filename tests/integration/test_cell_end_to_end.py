"""The cell at work, end to end, on a real nats-server: from the first alert to the public alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import Result
from typer.testing import CliRunner

from services.auth.principals import act_subject
from services.cell.app import CellService
from services.cell.people import Role, add_person
from services.cli.credentials import Held, keep
from services.cli.main import app
from services.cli.report_commands import alert_cap
from services.comms.cap_out import validate_cap
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.intake.app import IntakeService
from services.intake.core import Intake
from services.intake.correlation import CorrelationIndex
from services.picture.app import PictureService
from services.plans.app import PlansService
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import Settings
from services.runtime.system import CrisisSystem
from services.runtime.topology import CRISIS_STREAM
from tests.integration.waiting import until
from tests.unit.test_read_access import OBSERVER, bearer, verifier

pytestmark = pytest.mark.integration

CRISIS = "crue-vesubie"
CORPUS = Path(__file__).parents[1] / "data" / "intake"
PLANS = Path(__file__).parents[2] / "services" / "plans" / "departements"


@pytest.fixture
async def system(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> AsyncIterator[tuple[CrisisSystem, EventStore]]:
    """Every service on the test server, with three people of the cell."""
    del bus
    wired = settings.model_copy(
        update={
            "nats_url": nats_server.url,
            "picture_port": 0,
            "intake_port": 0,
            "plans_dir": PLANS,
            "sitrep_check_every_s": 0.2,
        }
    )
    add_person(wired.people_path, "dircab", Role.DIRECTOR, "Directeur de cabinet")
    add_person(wired.people_path, "op.martin", Role.OPERATOR, "Paul Martin")
    add_person(wired.people_path, "obs.ars", Role.OBSERVER, "ARS")
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    services = [
        EventLogService(wired),
        PictureService(wired, verifier=verifier()),
        IntakeService(wired),
        CellService(wired),
        PlansService(wired),
    ]
    async with CrisisSystem(wired, services, announce=False) as running:
        yield running, store
    await store.close()


async def _act(system: CrisisSystem, actor: str, **command: Any) -> dict[str, Any]:
    assert system.bus is not None
    body = orjson.dumps({"command": {"crisis_id": CRISIS, **command}})
    reply = await system.bus.nc.request(act_subject(actor), body, timeout=15)
    answer: dict[str, Any] = orjson.loads(reply.data)
    return answer


async def _last_seq(system: CrisisSystem) -> int:
    info = await system.js.stream_info(CRISIS_STREAM)
    return int(info.state.last_seq)


def _service(system: CrisisSystem, kind: type) -> Any:
    return next(s for s in system.services if isinstance(s, kind))


async def test_a_crisis_from_the_first_alert_to_the_public_alert(
    system: tuple[CrisisSystem, EventStore],
) -> None:
    running, store = system
    # The director opens the crisis; an observer may not.
    refused = await _act(running, "obs.ars", act="open_crisis", name="x", departement="06")
    assert not refused["ok"]
    assert "observer" in refused["error"]
    opened = await _act(
        running,
        "dircab",
        act="open_crisis",
        name="Crues de la Vésubie et de la Roya",
        departement="06",
        nature="inondation",
    )
    assert opened["ok"], opened

    # Feeds bring the incident and the red vigilance in through the intake.
    intake = _service(running, IntakeService).live
    await until(lambda: _is_open(intake.index))
    [alert] = await intake.submit(
        (CORPUS / "cap12_vigicrues_rouge_vesubie.xml").read_bytes(), name="vigicrues", feed="vc"
    )
    assert alert.events[0].crisis_id == CRISIS
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

    # The plans service proposes ORSEC inondation by the rule that fired.
    cell = _service(running, CellService)

    async def proposed() -> bool:
        picture = cell.follower.picture(CRISIS) or {}
        return "orsec-inondation" in picture.get("plans", {})

    await until(proposed)
    plan = cell.follower.picture(CRISIS)["plans"]["orsec-inondation"]
    assert plan["state"] == "proposed"
    assert plan["proposed"]["rule"] == "inondation-vigilance-rouge"

    # Only the director activates it; a refused act publishes nothing.
    before = await _last_seq(running)
    denied = await _act(running, "op.martin", act="activate_plan", plan_code="orsec-inondation")
    assert not denied["ok"]
    assert "needs the role director" in denied["error"]
    assert await _last_seq(running) == before
    activated = await _act(running, "dircab", act="activate_plan", plan_code="orsec-inondation")
    assert activated["ok"], activated
    assert activated["events"][0]["proposal_event_id"] == plan["proposed"]["event_id"]

    # The operator keeps the main courante and drafts; the director validates and issues.
    for command in (
        {
            "act": "assess_bilan",
            "incident_id": alert.events[0].incident_id,
            "figures": {"disparus": 8, "evacues": 120},
            "source_of_figures": "SDIS 06",
        },
        {
            "act": "record_entry",
            "direction": "received",
            "sender": "CODIS 06",
            "text": "Pont emporté à Saint-Martin-Vésubie",
            "priority": "flash",
        },
        {"act": "draft_sitrep", "outlook": "Décrue attendue dans la nuit"},
        {
            "act": "draft_alert",
            "headline": "Alerte crue : Vésubie",
            "risk": "Crue torrentielle",
            "issuing_authority": "Préfet des Alpes-Maritimes",
            "severity": "extreme",
            "instructions": "Montez dans les étages, ne prenez pas votre véhicule.",
            "area": {"description": "Vallée de la Vésubie", "insee_codes": ["06127"]},
        },
    ):
        done = await _act(running, "op.martin", **command)
        assert done["ok"], done
    sitrep = await _act(running, "dircab", act="issue_sitrep", number=1)
    public = await _act(running, "dircab", act="issue_alert", alert_id="alert-0001")
    assert sitrep["ok"], sitrep
    assert public["ok"], public
    assert sitrep["events"][0]["bilan"]["disparus"] == 8

    # All of it is in the log…
    last = await _last_seq(running)

    async def logged() -> bool:
        return await store.last_position() >= last

    await until(logged)
    types = [r.type async for r in store.read(CRISIS)]
    for expected in (
        "crisis.opened",
        "incident.reported",
        "vigilance.changed",
        "plan.activation_proposed",
        "plan.activated",
        "bilan.assessed",
        "maincourante.entry_recorded",
        "sitrep.drafted",
        "sitrep.issued",
        "comms.public_alert_drafted",
        "comms.public_alert_issued",
    ):
        assert expected in types
    assert "plan.activated" not in types[: types.index("plan.activation_proposed")]

    # …and in the picture the picture service serves.
    url = _service(running, PictureService).url

    async def served() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=url, headers=bearer(OBSERVER)) as client:
            reply = await client.get(f"/crises/{CRISIS}/picture")
            body: dict[str, Any] = reply.json()
            return body

    async def complete() -> bool:
        return "alert-0001" in (await served()).get("alerts", {})

    await until(complete)
    picture = await served()
    assert picture["plans"]["orsec-inondation"]["state"] == "active"
    assert picture["sitrep"]["number"] == 1
    assert picture["sitrep"]["validated_by"] == "Directeur de cabinet"

    # The public alert goes out as CAP 1.2 that validates, and that the intake itself accepts.
    issued = public["events"][0]
    document = alert_cap(issued, "06")
    assert validate_cap(document) == []
    [back] = await Intake(CorrelationIndex()).take(document, name="cap-out", feed="test")
    assert back.accepted, back.error
    assert back.events[0].title == "Alerte crue : Vésubie"


async def _is_open(index: CorrelationIndex) -> bool:
    return CRISIS in index.open_crises


async def test_a_cadence_makes_the_cell_draft_the_report_when_due_for_the_director_to_issue(
    system: tuple[CrisisSystem, EventStore],
) -> None:
    running, _store = system
    opened = await _act(running, "dircab", act="open_crisis", name="Crue", departement="06")
    assert opened["ok"], opened
    denied = await _act(
        running,
        "op.martin",
        act="set_sitrep_cadence",
        every_minutes=60,
        first_due_at="2020-10-02T12:00:00+00:00",
    )
    assert "needs the role director" in denied["error"]
    cadence = await _act(
        running,
        "dircab",
        act="set_sitrep_cadence",
        every_minutes=60,
        first_due_at="2020-10-02T12:00:00+00:00",
    )
    assert cadence["ok"], cadence
    cell = _service(running, CellService)

    async def drafted() -> bool:
        return bool((cell.follower.picture(CRISIS) or {}).get("sitrep_drafts"))

    await until(drafted)
    [draft] = cell.follower.picture(CRISIS)["sitrep_drafts"].values()
    assert draft["actor"] == "service:sitrep"
    issued = await _act(running, "dircab", act="issue_sitrep", number=draft["number"])
    assert issued["ok"], issued


async def test_the_command_line_acts_through_the_cell_and_says_why_an_act_is_refused(
    system: tuple[CrisisSystem, EventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    running, _store = system
    monkeypatch.setenv("CRISIS_NATS_URL", running.nats_url)
    monkeypatch.setenv("CRISIS_VAR_DIR", str(running.settings.var_dir))
    monkeypatch.setenv("COLUMNS", "200")
    # Sessions as `crisis login` keeps them. This server has no auth callout: the cell's own
    # checks are under test here (tests/integration/test_trust.py has the server's).
    home = running.settings.var_dir / "home"
    monkeypatch.setenv("CRISIS_CREDENTIALS_DIR", str(home))
    for ident, role in (("dircab", "director"), ("op.martin", "operator"), ("nobody", "operator")):
        keep(
            running.settings.model_copy(update={"credentials_dir": home}),
            Held(ident, role, f"ccs_{ident}", "2999-01-01T00:00:00+00:00", running.nats_url),
        )
    runner = CliRunner()

    def crisis(*args: str) -> Result:
        return runner.invoke(app, list(args))

    opened = await asyncio.to_thread(
        crisis,
        "open",
        CRISIS,
        "--name",
        "Crue",
        "--departement",
        "06",
        "--exercise",
        "--as",
        "dircab",
    )
    assert opened.exit_code == 0, opened.output
    assert "crisis.opened EXERCICE" in opened.output
    refused = await asyncio.to_thread(
        crisis, "decision", "-c", CRISIS, "Évacuer", "--as", "op.martin"
    )
    assert refused.exit_code == 1
    assert "refused: op.martin is operator: take decision needs the role director" in (
        " ".join(refused.output.split())
    )
    reported = await asyncio.to_thread(
        crisis,
        "incident",
        "report",
        "-c",
        CRISIS,
        "--kind",
        "inondation",
        "--title",
        "Crue",
        "--insee",
        "06127",
        "--as",
        "op.martin",
    )
    assert reported.exit_code == 0, reported.output
    assert "incident_id=inc-0001" in reported.output
    unknown = await asyncio.to_thread(
        crisis, "task", "done", "task-0001", "-c", CRISIS, "--as", "nobody"
    )
    assert unknown.exit_code == 1
    assert "not a known, enabled person" in " ".join(unknown.output.split())


async def test_an_act_delivered_by_a_stream_rather_than_requested_is_refused(
    system: tuple[CrisisSystem, EventStore],
) -> None:
    running, _store = system
    assert running.bus is not None
    nc = running.bus.nc
    replies = await nc.subscribe("forged.reply")
    before = await _last_seq(running)
    forged = {
        "actor": "dircab",
        "command": {
            "act": "open_crisis",
            "crisis_id": CRISIS,
            "name": "Forged",
            "departement": "06",
        },
    }
    await nc.publish(act_subject("dircab"), orjson.dumps(forged), reply="forged.reply")
    answer = orjson.loads((await replies.next_msg(timeout=10)).data)
    assert answer == {"ok": False, "error": "acts are requests answered on an inbox"}
    assert await _last_seq(running) == before
