"""The intake reads EMSI, CISU and EDXL-DE 2.0 by their content, as it reads CAP: one outcome per
message or per content, and what one message taught the index serves the next."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.core import Intake, Outcome
from services.intake.correlation import CorrelationIndex

DATA = Path(__file__).resolve().parents[1] / "data" / "intake"
CASE = "fr.fire.sis06.AF-20201002-0417"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def hub_message(name: str) -> dict[str, Any]:
    """The Hub Santé message object of a CISU document."""
    document = load(name)
    message: dict[str, Any] = document.get("message", document)
    return message


def emsi_message(case: str | None = None) -> dict[str, Any]:
    """The EMSI flood alert as a Hub Santé message: its header beside the `emsi` object."""
    emsi = load("emsi/vesubie_crue_alert.json")["emsi"]
    if case is not None:
        emsi["EVENT"]["MAIN_EVENT_ID"] = case
    return {
        "messageId": "fr.fire.sdis06.nexsis.msg-0001",
        "sender": {"name": "sgo-nexsis-06", "URI": "sge:sgo-nexsis-06"},
        "sentAt": "2020-10-02T17:46:00+02:00",
        "kind": "Report",
        "status": "Actual",
        "recipient": [{"name": "samu06-lrm", "URI": "sge:samu06-lrm"}],
        "emsi": emsi,
    }


def envelope(*messages: Any, status: str = "Actual") -> bytes:
    """An EDXL-DE 2.0 envelope in the Hub Santé's JSON form carrying `messages`."""
    return orjson.dumps(
        {
            "distributionID": "fr.fire.sdis06.cta_20201002-0500",
            "senderID": "fr.fire.sdis06.cta",
            "dateTimeSent": "2020-10-02T17:46:00+02:00",
            "dateTimeExpires": "2020-10-03T17:46:00+02:00",
            "distributionStatus": status,
            "distributionKind": "Report",
            "descriptor": {"language": "fr-FR"},
            "content": [{"jsonContent": {"embeddedJsonContent": {"message": m}}} for m in messages],
        }
    )


class Desk:
    """An intake whose index learns what it accepts, as the live intake does once published."""

    def __init__(self, *crises: tuple[str, str]) -> None:
        self.index = CorrelationIndex()
        for crisis_id, status in crises:
            self.index.observe({"type": "crisis.opened", "crisis_id": crisis_id, "status": status})
        self.intake = Intake(self.index)

    async def take(self, raw: bytes) -> list[Outcome]:
        outcomes = await self.intake.take(raw, name="inline", feed="hub-sante")
        assert not any(o.internal for o in outcomes), [o.error for o in outcomes]
        for outcome in outcomes:
            for keys, ref in outcome.learnt:
                self.index.remember(keys, ref)
            for event in outcome.events:
                self.index.observe(event.to_wire())
        return outcomes


def types(outcome: Outcome) -> list[str]:
    return [event.type for event in outcome.events]


async def test_an_emsi_in_xml_alone_gives_its_incident_bilan_and_resources() -> None:
    desk = Desk(("crue-vesubie", "Actual"))
    (outcome,) = await desk.take((DATA / "emsi/vesubie_crue_alert.xml").read_bytes())
    assert outcome.accepted, outcome.error
    assert outcome.alert is not None
    assert outcome.alert.startswith("emsi:")
    assert types(outcome)[0] == "incident.reported"
    assert "bilan.assessed" in types(outcome)
    assert "resource.engaged" in types(outcome)
    assert {e.crisis_id for e in outcome.events} == {"crue-vesubie"}
    # The input is kept, as JSON or XML, and referenced by the incident.
    (incident,) = [e for e in outcome.events if e.type == "incident.reported"]
    (original,) = incident.attachments
    assert original.mime_type == "application/xml"
    assert original.sha256 in outcome.blobs


async def test_a_cisu_case_then_its_resource_lists_become_what_changed() -> None:
    desk = Desk(("crue-vesubie", "Actual"))
    (created,) = await desk.take((DATA / "cisu/rc_eda_vesubie_flood.json").read_bytes())
    assert types(created)[0] == "incident.reported"
    assert created.events[0].attachments[0].mime_type == "application/json"
    (first,) = await desk.take((DATA / "cisu/rc_ri_vesubie_1.json").read_bytes())
    engaged = {e.resource_id for e in first.events if e.type == "resource.engaged"}
    assert len(engaged) == 3
    (again,) = await desk.take((DATA / "cisu/rc_ri_vesubie_1.json").read_bytes())
    assert again.events == []  # the same message: a copy
    (second,) = await desk.take((DATA / "cisu/rc_ri_vesubie_2.json").read_bytes())
    assert "resource.released" in types(second)
    released = {e.resource_id for e in second.events if e.type == "resource.released"}
    assert released <= engaged


async def test_an_envelope_carries_a_cisu_case_and_an_emsi_about_it_as_one_incident() -> None:
    desk = Desk(("crue-vesubie", "Actual"))
    raw = envelope(hub_message("cisu/rc_eda_vesubie_flood.json"), emsi_message(case=CASE))
    cisu, emsi = await desk.take(raw)
    assert cisu.path == "/content[0]/jsonContent/embeddedJsonContent/message"
    assert types(cisu)[0] == "incident.reported"
    assert types(emsi)[0] == "incident.updated"
    assert emsi.events[0].incident_id == cisu.events[0].incident_id


async def test_an_exercise_envelope_makes_its_messages_exercise() -> None:
    desk = Desk(("exercice-06", "Exercise"))
    (outcome,) = await desk.take(
        envelope(hub_message("cisu/rc_eda_vesubie_flood.json"), status="Exercise")
    )
    assert outcome.accepted, outcome.error
    assert {e.status.value for e in outcome.events} == {"Exercise"}
    assert {e.crisis_id for e in outcome.events} == {"exercice-06"}


async def test_a_content_that_is_no_known_message_is_refused_alone() -> None:
    desk = Desk()
    good, odd = await desk.take(
        envelope(hub_message("cisu/rc_eda_vesubie_flood.json"), {"messageId": "x", "hello": 1})
    )
    assert good.accepted
    assert odd.refused
    assert odd.error is not None
    assert "is not a CAP alert, an EMSI or a CISU message" in odd.error.reason


async def test_an_xml_envelope_carries_a_cap_alert_and_an_emsi() -> None:
    alert = (DATA / "cap12_vigicrues_rouge_vesubie.xml").read_bytes()
    emsi = (DATA / "emsi/vesubie_crue_alert.xml").read_bytes().split(b"?>", 1)[1]
    encoded = base64.b64encode(alert).decode()
    raw = (
        (
            '<edxlDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:2.0">'
            "<distributionID>d-1</distributionID><senderID>fr.fire.sdis06.cta</senderID>"
            "<dateTimeSent>2020-10-02T17:46:00+02:00</dateTimeSent>"
            "<dateTimeExpires>2020-10-03T17:46:00+02:00</dateTimeExpires>"
            "<distributionStatus>Actual</distributionStatus><distributionKind>Report</distributionKind>"
            "<content><contentObject><otherContent><mimeType>application/cap+xml</mimeType>"
            f"<contentData>{encoded}</contentData></otherContent></contentObject></content>"
            "<content><contentObject><contentXML><embeddedXMLContent>"
        ).encode()
        + emsi
        + b"</embeddedXMLContent></contentXML></contentObject></content></edxlDistribution>"
    )
    cap, emsi_outcome = await Desk(("crue-vesubie", "Actual")).take(raw)
    assert types(cap) == ["incident.reported"], cap.error
    assert emsi_outcome.accepted, emsi_outcome.error
    assert types(emsi_outcome)[0] == "incident.reported"


def _mutations() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.text(max_size=30),
        st.lists(st.text(max_size=5), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(-(10**15), 10**15), max_size=2),
    )


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*at, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*at, i))
    return found


BASE = orjson.loads(
    envelope(
        hub_message("cisu/rc_eda_vesubie_flood.json"),
        emsi_message(case=CASE),
        hub_message("cisu/rc_ri_vesubie_1.json"),
    )
)
PATHS = _paths(BASE)


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), _mutations(), st.booleans()), max_size=4))
async def test_a_damaged_envelope_of_messages_gives_only_clean_outcomes(
    changes: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    document = json.loads(json.dumps(BASE))
    for path, value, remove in changes:
        parent = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if remove and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    outcomes = await Intake(CorrelationIndex()).take(
        orjson.dumps(document), name="fuzz", feed="hub-sante"
    )
    assert outcomes
    for outcome in outcomes:
        assert not outcome.internal, outcome.error
        assert outcome.accepted or outcome.error is not None
