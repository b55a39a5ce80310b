"""The intake on a real nats-server, with the event log recording: feeds in, nothing lost."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from schemas.envelope import Status
from schemas.events import CrisisOpened
from services.cell.attach import attach_incident
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.intake.app import IntakeService
from services.intake.correlation import CorrelationIndex
from services.intake.dispatch import Dispatcher
from services.intake.feeds import add_feed
from services.intake.mapping import OBJECT_BUCKET
from services.picture.fold import new_picture
from services.picture.snapshots import SnapshotStore, picture_at
from services.runtime.bus import Bus
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, DEADLETTER_STREAM
from tests.integration.waiting import until

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "data" / "intake"
VIGICRUES = (CORPUS / "cap12_vigicrues_rouge_vesubie.xml").read_bytes()


@dataclass
class Deployment:
    settings: Settings
    store: EventStore
    bus: Bus
    tokens: dict[str, str]
    intake: IntakeService

    async def post(
        self, feed: str, body: bytes, kind: str = "cap", token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.tokens.get(feed, 'none')}"}
        async with httpx.AsyncClient(base_url=self.intake.url, timeout=10) as client:
            return await client.post(f"/feeds/{feed}/{kind}", content=body, headers=headers)

    async def events(self, crisis_id: str | None = None) -> list[dict[str, Any]]:
        return [orjson.loads(r.payload) async for r in self.store.read(crisis_id)]

    async def restart_intake(self) -> None:
        await self.intake.stop()
        self.intake = IntakeService(self.settings)
        await self.intake.start(self.settings.nats_url or "")


@pytest.fixture
async def deployment(
    nats_server: EmbeddedNatsServer, settings: Settings, bus: Bus
) -> AsyncIterator[Deployment]:
    """The event log and the intake on the test server; two feeds with their tokens."""
    wired = settings.model_copy(
        update={"nats_url": nats_server.url, "intake_port": 0, "intake_max_bytes": 64 * 1024}
    )
    tokens = {name: add_feed(wired.feeds_path, name) for name in ("vigicrues", "meteoalarm")}
    engine = make_engine(wired.database_url)
    await upgrade(engine)
    store = EventStore(engine)
    eventlog = EventLogService(wired, EventStore(make_engine(wired.database_url)))
    await eventlog.start(nats_server.url)
    intake = IntakeService(wired)
    await intake.start(nats_server.url)
    deployed = Deployment(wired, store, bus, tokens, intake)
    try:
        yield deployed
    finally:
        await deployed.intake.stop()
        await eventlog.stop()
        await store.close()


async def test_an_alert_posted_by_its_feed_is_logged_as_an_incident_of_the_standing_watch(
    deployment: Deployment,
) -> None:
    reply = await deployment.post("vigicrues", VIGICRUES)
    assert reply.status_code == 200, reply.text
    [outcome] = reply.json()["outcomes"]
    assert outcome["accepted"]
    [event] = outcome["events"]

    async def logged() -> bool:
        return any(e["event_id"] == event["event_id"] for e in await deployment.events("veille"))

    await until(logged)
    [recorded] = [e for e in await deployment.events("veille") if e["type"] == "incident.reported"]
    assert recorded["source"] == "vigicrues"
    assert recorded["actor"] == "feed:vigicrues"
    assert recorded["kind"] == "inondation"
    original = next(a for a in recorded["attachments"] if a["description"] == "Input as received")
    assert original["sha256"] == hashlib.sha256(VIGICRUES).hexdigest()
    objects = await deployment.bus.js.object_store(OBJECT_BUCKET)
    kept = await objects.get(original["sha256"])
    assert kept.data == VIGICRUES


async def test_the_same_alert_from_two_feeds_makes_one_incident(deployment: Deployment) -> None:
    first = await deployment.post("vigicrues", VIGICRUES)
    relayed = (CORPUS / "cap12_duplicate_of_vigicrues.xml").read_bytes()
    second = await deployment.post("meteoalarm", relayed)
    assert first.status_code == second.status_code == 200
    assert second.json()["outcomes"][0]["events"] == []
    assert "already received" in " ".join(second.json()["outcomes"][0]["warnings"])
    update = await deployment.post(
        "meteoalarm", (CORPUS / "cap12_vigicrues_update.xml").read_bytes()
    )

    async def updated() -> bool:
        return any(e["type"] == "incident.updated" for e in await deployment.events())

    await until(updated)
    events = await deployment.events()
    reported = [e for e in events if e["type"] == "incident.reported"]
    assert len(reported) == 1
    [changed] = [e for e in events if e["type"] == "incident.updated"]
    assert changed["incident_id"] == reported[0]["incident_id"]
    assert update.json()["outcomes"][0]["events"][0]["source"] == "meteoalarm"


async def _rejected(deployment: Deployment, reason: str) -> list[Any]:
    return [r for r in await deployment.store.rejected() if reason in r.reason]


async def test_an_unauthorised_sender_is_refused_counted_and_nothing_of_it_is_kept(
    deployment: Deployment,
) -> None:
    reply = await deployment.post("vigicrues", VIGICRUES, token="not-the-token")
    assert reply.status_code == 401
    assert "unauthorised" in reply.json()["error"]
    live = deployment.intake.live
    assert live is not None
    assert live.unauthorised_total == 1
    # Published before the answer if at all: an empty stream now is an empty stream for good.
    dead = await deployment.bus.js.stream_info(DEADLETTER_STREAM)
    assert dead.state.messages == 0
    assert not await _rejected(deployment, "unauthorised")
    assert not [e for e in await deployment.events() if e["type"] == "incident.reported"]


async def test_a_hostile_document_is_refused_and_kept_and_the_intake_keeps_working(
    deployment: Deployment,
) -> None:
    hostile = (CORPUS / "hostile_billion_laughs.xml").read_bytes()
    reply = await deployment.post("vigicrues", hostile)
    assert reply.status_code == 422
    [outcome] = reply.json()["outcomes"]
    assert outcome["error"]["path"] == "DOCTYPE"

    async def kept() -> bool:
        return bool(await _rejected(deployment, "DOCTYPE"))

    await until(kept)
    [row] = await _rejected(deployment, "DOCTYPE")
    assert row.raw == hostile
    assert row.field == "DOCTYPE"

    async def noted() -> bool:
        return any(e["type"] == "input.rejected" for e in await deployment.events("veille"))

    await until(noted)
    [event] = [e for e in await deployment.events("veille") if e["type"] == "input.rejected"]
    assert event["raw_sha256"] == hashlib.sha256(hostile).hexdigest()
    assert event["input_source"] == "vigicrues"
    good = await deployment.post("vigicrues", VIGICRUES)
    assert good.status_code == 200


async def test_an_oversized_input_is_refused_with_413_and_kept(deployment: Deployment) -> None:
    big = VIGICRUES + b"<!--" + b"x" * 70_000 + b"-->"
    reply = await deployment.post("vigicrues", big)
    assert reply.status_code == 413

    async def kept() -> bool:
        return bool(await _rejected(deployment, "over the limit"))

    await until(kept)
    [row] = await _rejected(deployment, "over the limit")
    assert big.startswith(row.raw)
    assert len(row.raw) > 64 * 1024


async def test_the_project_events_of_a_feed_are_checked_before_they_are_published(
    deployment: Deployment,
) -> None:
    event = orjson.loads((CORPUS / "event_incident_reported.json").read_bytes())
    as_other = await deployment.post("vigicrues", orjson.dumps(event), kind="events")
    assert as_other.status_code == 422
    assert as_other.json()["outcomes"][0]["error"]["path"] == "$.source"
    event.update(source="vigicrues", actor="feed:vigicrues")
    accepted = await deployment.post("vigicrues", orjson.dumps(event), kind="events")
    assert accepted.status_code == 200, accepted.text
    plan = {**event, "type": "plan.activated"}
    refused = await deployment.post("vigicrues", orjson.dumps(plan), kind="events")
    assert refused.status_code == 422
    assert "may not send 'plan.activated'" in refused.json()["outcomes"][0]["error"]["reason"]


async def test_a_restarted_intake_still_knows_the_alerts_it_took(deployment: Deployment) -> None:
    first = await deployment.post("vigicrues", VIGICRUES)
    incident_id = first.json()["outcomes"][0]["events"][0]["incident_id"]
    await deployment.restart_intake()
    again = await deployment.post("vigicrues", VIGICRUES)
    assert again.json()["outcomes"][0]["events"] == []
    update = await deployment.post(
        "vigicrues", (CORPUS / "cap12_vigicrues_update.xml").read_bytes()
    )
    [event] = update.json()["outcomes"][0]["events"]
    assert event["type"] == "incident.updated"
    assert event["incident_id"] == incident_id


async def test_a_restarted_intake_tells_a_resource_list_and_a_cancel_from_the_stream(
    deployment: Deployment,
) -> None:
    """What the index learns from resources and main courante entries survives a restart: the
    same RC-RI list under a new message id changes nothing, and an alert withdrawn before it
    came is closed when it comes."""
    hub = CORPUS / "cisu"
    case = await deployment.post("vigicrues", (hub / "rc_eda_vesubie_flood.json").read_bytes(),
                                 "events")  # fmt: skip
    assert case.status_code == 200, case.text
    listed = (hub / "rc_ri_vesubie_1.json").read_bytes()
    first = await deployment.post("vigicrues", listed, "events")
    engaged = [e for e in first.json()["outcomes"][0]["events"] if e["type"] == "resource.engaged"]
    assert len(engaged) == 3
    cancel = (CORPUS / "cap12_vigicrues_cancel.xml").read_bytes()
    assert (await deployment.post("vigicrues", cancel)).status_code == 200
    last = (await deployment.bus.js.stream_info(CRISIS_STREAM)).state.last_seq
    await until(lambda: _logged(deployment.store, last))

    await deployment.restart_intake()
    resent = listed.replace(b"msg-20201002-175500-0417", b"msg-20201002-180000-0418")
    again = await deployment.post("vigicrues", resent, "events")
    assert again.status_code == 200, again.text
    assert again.json()["outcomes"][0]["events"] == []
    withdrawn = await deployment.post("vigicrues", VIGICRUES)
    kinds = [e["type"] for e in withdrawn.json()["outcomes"][0]["events"]]
    assert kinds == ["incident.reported", "incident.closed"]


async def _logged(store: EventStore, position: int) -> bool:
    return await store.last_position() >= position


def _opened(crisis_id: str, status: Status) -> CrisisOpened:
    return CrisisOpened(
        crisis_id=crisis_id,
        occurred_at=datetime(2020, 10, 2, 12, tzinfo=UTC),
        source="console",
        actor="dircab",
        status=status,
        name="Crues de la Vésubie",
        kind="crise",
        departement="06",
        nature="inondation",
    )


async def test_alerts_go_to_the_open_crisis_of_their_status_and_attached_incidents_follow(
    deployment: Deployment,
) -> None:
    exercise = await deployment.post("vigicrues", (CORPUS / "cap12_exercise.xml").read_bytes())
    exercise_incident = exercise.json()["outcomes"][0]["events"][0]
    assert exercise_incident["crisis_id"] == "veille"
    # Reported while no crisis is open: to the standing watch.
    first = await deployment.post("vigicrues", VIGICRUES)
    incident_id = first.json()["outcomes"][0]["events"][0]["incident_id"]
    assert first.json()["outcomes"][0]["events"][0]["crisis_id"] == "veille"
    await publish_event(deployment.bus.js, _opened("crue-vesubie", Status.ACTUAL))
    live = deployment.intake.live
    assert live is not None

    async def seen_open() -> bool:
        return "crue-vesubie" in live.index.open_crises

    await until(seen_open)
    meteo = await deployment.post(
        "meteoalarm", (CORPUS / "cap12_meteofrance_orange_pluie.xml").read_bytes()
    )
    assert meteo.json()["outcomes"][0]["events"][0]["crisis_id"] == "crue-vesubie"
    test_alert = await deployment.post("meteoalarm", (CORPUS / "cap12_test.xml").read_bytes())
    assert test_alert.json()["outcomes"][0]["events"][0]["crisis_id"] == "veille"

    # An operator attaches the Vigicrues incident, reported in the standing watch, to the crisis.

    # The intake saw the crisis open live; the log may not have recorded it yet. The test alert
    # went to the standing watch last, and the log writes in stream order: once it is there,
    # everything before it (the crisis opened, the Vigicrues incident) is too.
    test_event_id = test_alert.json()["outcomes"][0]["events"][0]["event_id"]

    async def logged() -> bool:
        return any(e["event_id"] == test_event_id for e in await deployment.events("veille"))

    await until(logged)
    snapshots = SnapshotStore(deployment.store.engine)
    watch = await picture_at(deployment.store, snapshots, "veille")
    crisis = await picture_at(deployment.store, snapshots, "crue-vesubie")
    with pytest.raises(ValueError, match="never mix"):
        attach_incident(
            watch,
            crisis,
            exercise_incident["incident_id"],
            actor="op",
            reason=None,
            now=datetime.now(UTC),
        )
    for event in attach_incident(
        watch, crisis, incident_id, actor="op.martin", reason="même crue", now=datetime.now(UTC)
    ):
        await publish_event(deployment.bus.js, event)

    async def moved() -> bool:
        return live.index.find(
            [f"cap:{first.json()['outcomes'][0]['alert'][4:]}"]
        ) is not None and (
            live.index.find([first.json()["outcomes"][0]["alert"]]).crisis_id == "crue-vesubie"  # type: ignore[union-attr]
        )

    await until(moved)
    update = await deployment.post(
        "vigicrues", (CORPUS / "cap12_vigicrues_update.xml").read_bytes()
    )
    [event] = update.json()["outcomes"][0]["events"]
    assert event["crisis_id"] == "crue-vesubie"
    assert event["incident_id"] == incident_id

    async def folded() -> bool:
        picture = await picture_at(deployment.store, snapshots, "crue-vesubie")
        return (
            picture["incidents"].get(incident_id, {}).get("updated", {}).get("event_id")
            == (event["event_id"])
        )

    await until(folded)
    after = await picture_at(deployment.store, snapshots, "veille")
    assert after["incidents"][incident_id]["state"] == "handed_over"
    assert new_picture("x")["incidents"] == {}


async def test_a_feed_may_also_send_over_nats_under_its_own_subject_and_get_the_outcomes(
    deployment: Deployment,
) -> None:
    reply = await deployment.bus.nc.request("feeds.vigicrues.cap", VIGICRUES, timeout=10)
    [outcome] = orjson.loads(reply.data)["outcomes"]
    assert outcome["accepted"]
    assert outcome["events"][0]["source"] == "vigicrues"
    wrong = await deployment.bus.nc.request("feeds.vigicrues.pdf", b"x", timeout=10)
    assert "feeds.<name>.cap|geojson|events" in orjson.loads(wrong.data)["error"]


async def test_inputs_put_in_one_round_trip_read_back_whole_and_a_second_put_replaces_none(
    bus: Bus,
) -> None:
    """The dispatcher's own object-store put gives objects any NATS client reads; one already
    there goes through nats-py's put and stays whole; an empty and a multi-chunk input too."""
    dispatcher = Dispatcher(bus.js, CorrelationIndex(), max_payload=1024 * 1024)
    await dispatcher.start()
    contents = {"empty": b"", "small": VIGICRUES, "chunked": bytes(range(256)) * 2048}
    for name, content in contents.items():
        await dispatcher.store(name, content)
    dispatcher._stored.clear()  # as after a restart: the same names are put again
    for name, content in contents.items():
        await dispatcher.store(name, content)
    objects = await bus.js.object_store(OBJECT_BUCKET)
    for name, content in contents.items():
        kept = await objects.get(name)
        assert kept.data == content, name
        assert kept.info.size == len(content)
    listed = sorted(info.name for info in await objects.list())
    assert listed == sorted(contents)
    # No chunk is left behind by the second round: the stream holds each object's chunks once.
    info = await bus.js.stream_info(f"OBJ_{OBJECT_BUCKET}")
    assert info.state.messages == sum(-(-len(c) // (128 * 1024)) for c in contents.values()) + 3
