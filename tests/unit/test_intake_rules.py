"""Correlation and routing rules of the intake, on small documents written in the tests."""

from __future__ import annotations

import base64
import codecs
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import orjson
import pytest

from schemas.envelope import Status
from schemas.events import (
    IncidentClosed,
    IncidentReported,
    IncidentUpdated,
    MainCouranteEntryRecorded,
)
from services.intake.core import Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex

pytestmark = pytest.mark.unit

SENDER = "cta-codis@sdis06.fr"
SENT = "2020-10-02T18:00:00+02:00"
CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
EDXL = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
NICE = (
    "<area><areaDesc>Nice</areaDesc>"
    "<polygon>43.70,7.25 43.70,7.27 43.72,7.27 43.72,7.25 43.70,7.25</polygon>"
    "<geocode><valueName>INSEE</valueName><value>06088</value></geocode></area>"
)


def ref(identifier: str, sender: str = SENDER, sent: str = SENT) -> str:
    """A CAP `references` triple."""
    return f"{sender},{identifier},{sent}"


def cap_alert(
    *,
    identifier: str = "SDIS06-TEST-0001",
    sender: str = SENDER,
    sent: str = SENT,
    status: str = "Actual",
    msg_type: str = "Alert",
    references: Sequence[str] = (),
    incidents: Sequence[str] = (),
    language: str = "fr-FR",
    event: str = "Inondation",
    severity: str = "Severe",
    headline: str | None = None,
    description: str | None = None,
    area: str = NICE,
    declaration: bool = True,
    scope: str | None = "Public",
    header_only: bool = False,
    note: str | None = None,
) -> str:
    """A CAP 1.2 alert; `area` is written as is, the other texts are escaped; `scope` None
    leaves `<scope>` out, `header_only` the `<info>`."""
    optional = "".join(
        f"<{name}>{escape(value)}</{name}>"
        for name, value in (("headline", headline), ("description", description))
        if value is not None
    )
    return (
        ('<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else "")
        + f'<alert xmlns="{CAP12}">'
        f"<identifier>{escape(identifier)}</identifier>"
        f"<sender>{escape(sender)}</sender>"
        f"<sent>{escape(sent)}</sent>"
        f"<status>{escape(status)}</status>"
        f"<msgType>{escape(msg_type)}</msgType>"
        + (f"<scope>{escape(scope)}</scope>" if scope is not None else "")
        + (f"<note>{escape(note)}</note>" if note is not None else "")
        + (f"<references>{escape(' '.join(references))}</references>" if references else "")
        + (f"<incidents>{escape(' '.join(incidents))}</incidents>" if incidents else "")
        + ("</alert>" if header_only else "<info>")
        + (
            ""
            if header_only
            else f"<language>{escape(language)}</language>"
            "<category>Met</category>"
            f"<event>{escape(event)}</event>"
            "<urgency>Immediate</urgency>"
            f"<severity>{escape(severity)}</severity>"
            "<certainty>Observed</certainty>"
            f"{optional}{area}"
            "</info></alert>"
        )
    )


def edxl(*alerts: str, status: str = "Actual") -> str:
    """An EDXL-DE envelope holding `alerts` (without their XML declaration) as embedded XML."""
    objects = "".join(
        f"<contentObject><xmlContent><embeddedXMLContent>{alert}"
        "</embeddedXMLContent></xmlContent></contentObject>"
        for alert in alerts
    )
    return (
        f'<EDXLDistribution xmlns="{EDXL}"><distributionID>COD06-1</distributionID>'
        f"<senderID>cod06@alpes-maritimes.gouv.fr</senderID><dateTimeSent>{SENT}</dateTimeSent>"
        f"<distributionStatus>{status}</distributionStatus>"
        f"<distributionType>Report</distributionType>{objects}</EDXLDistribution>"
    )


class Desk:
    """An intake and its index, publishing what it accepts the way the caller does."""

    def __init__(self, index: CorrelationIndex | None = None, **config: Any) -> None:
        self.index = CorrelationIndex() if index is None else index
        self.intake = Intake(self.index, IntakeConfig(**config))

    def open(self, crisis_id: str, status: str = "Actual") -> None:
        self.index.observe({"type": "crisis.opened", "crisis_id": crisis_id, "status": status})

    def close(self, crisis_id: str) -> None:
        self.index.observe({"type": "crisis.closed", "crisis_id": crisis_id})

    async def send(
        self,
        document: str | bytes,
        *,
        feed: str = "sdis06",
        crisis: str | None = None,
        publish: bool = True,
    ) -> list[Outcome]:
        raw = document.encode("utf-8") if isinstance(document, str) else document
        outcomes = await self.intake.take(raw, name="inline", feed=feed, crisis=crisis)
        assert not any(o.internal for o in outcomes), [o.error for o in outcomes]
        if publish:
            for outcome in outcomes:
                for keys, where in outcome.learnt:
                    self.index.remember(keys, where)
                for published in outcome.events:
                    self.index.observe(published.to_wire())
        return outcomes

    async def one(self, document: str | bytes, **kwargs: Any) -> Outcome:
        outcomes = await self.send(document, **kwargs)
        assert len(outcomes) == 1
        return outcomes[0]

    async def event(self, document: str | bytes, **kwargs: Any) -> Any:
        outcome = await self.one(document, **kwargs)
        assert outcome.accepted, outcome.error
        assert len(outcome.events) == 1, outcome.notes
        return outcome.events[0]


def refused(outcome: Outcome) -> str:
    """The path of a refusal, checking that it is one."""
    assert not outcome.accepted
    assert outcome.events == []
    assert not outcome.internal
    assert outcome.error is not None
    assert outcome.error.reason
    assert outcome.error.path is not None
    return outcome.error.path


# --- one alert, one incident -------------------------------------------------------------------


async def test_the_same_alert_twice_gives_no_events_the_second_time_and_says_why() -> None:
    desk = Desk()
    first = await desk.event(cap_alert())
    again = await desk.one(cap_alert())
    assert again.accepted
    assert again.events == []
    assert again.learnt == []
    assert any("already received" in note for note in again.notes)
    assert first.incident_id in again.notes[0]
    assert again.to_json()["warnings"] == again.notes


async def test_a_copy_written_differently_with_the_same_sender_and_identifier_is_a_duplicate() -> (
    None
):
    desk = Desk()
    await desk.event(cap_alert(headline="Crue"))
    again = await desk.one(cap_alert(headline="Crue majeure", declaration=False))
    assert again.accepted
    assert again.events == []


async def test_the_same_alert_relayed_in_an_edxl_envelope_after_the_plain_one_gives_nothing() -> (
    None
):
    desk = Desk()
    await desk.event(cap_alert())
    outcomes = await desk.send(edxl(cap_alert(declaration=False)))
    assert [o.accepted for o in outcomes] == [True]
    assert outcomes[0].events == []
    assert any("already received" in note for note in outcomes[0].notes)


async def test_one_alert_twice_in_one_envelope_gives_one_incident() -> None:
    outcomes = await Desk().send(edxl(cap_alert(declaration=False), cap_alert(declaration=False)))
    assert [len(o.events) for o in outcomes] == [1, 0]


async def test_event_ids_are_deterministic_across_two_fresh_intakes() -> None:
    alert = cap_alert(identifier="SDIS06-DET-1")
    update = cap_alert(
        identifier="SDIS06-DET-2", msg_type="Update", references=[ref("SDIS06-DET-1")]
    )
    runs = []
    for _ in range(2):
        desk = Desk()
        events = [await desk.event(alert), await desk.event(update)]
        runs.append([(e.event_id, e.incident_id, e.correlation_id, e.type) for e in events])
    assert runs[0] == runs[1]
    assert runs[0][0][0] != runs[0][1][0]  # two events, two ids
    assert runs[0][0][1] == runs[0][1][1]  # one incident


async def test_two_alerts_with_different_identifiers_are_two_incidents() -> None:
    desk = Desk()
    one = await desk.event(cap_alert(identifier="A-1"))
    two = await desk.event(cap_alert(identifier="A-2"))
    assert one.incident_id != two.incident_id
    assert one.event_id != two.event_id


async def test_the_same_identifier_from_two_senders_is_two_incidents() -> None:
    desk = Desk()
    one = await desk.event(cap_alert(sender="a@sdis06.fr"))
    two = await desk.event(cap_alert(sender="b@sdis06.fr"))
    assert one.incident_id != two.incident_id


# --- updates and cancels -----------------------------------------------------------------------


async def test_a_cap_update_amends_the_incident_of_the_alert_it_references() -> None:
    desk = Desk()
    desk.open("crue-06")
    first = await desk.event(cap_alert(identifier="V-1", severity="Severe"))
    update = await desk.event(
        cap_alert(
            identifier="V-2",
            msg_type="Update",
            references=[ref("V-1")],
            severity="Extreme",
            description="Situation à 20h00",
        )
    )
    assert isinstance(first, IncidentReported)
    assert isinstance(update, IncidentUpdated)
    assert (update.incident_id, update.crisis_id) == (first.incident_id, "crue-06")
    assert update.correlation_id == first.correlation_id
    assert update.severity == "extreme"
    assert update.description == "Situation à 20h00"
    assert update.note is not None
    assert "V-2" in update.note


async def test_an_update_goes_where_its_incident_is_even_once_another_crisis_is_opened() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="V-1"))
    assert first.crisis_id == "veille"
    desk.open("crue-06")
    update = await desk.event(
        cap_alert(identifier="V-2", msg_type="Update", references=[ref("V-1")])
    )
    assert update.crisis_id == "veille"


async def test_an_update_of_an_update_still_amends_the_first_incident() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="V-1"))
    await desk.event(cap_alert(identifier="V-2", msg_type="Update", references=[ref("V-1")]))
    third = await desk.event(
        cap_alert(identifier="V-3", msg_type="Update", references=[ref("V-2")])
    )
    assert isinstance(third, IncidentUpdated)
    assert third.incident_id == first.incident_id


async def test_a_cap_cancel_closes_the_incident_of_the_alerts_it_references() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="V-1"))
    await desk.event(cap_alert(identifier="V-2", msg_type="Update", references=[ref("V-1")]))
    closed = await desk.event(
        cap_alert(
            identifier="V-3",
            msg_type="Cancel",
            references=[ref("V-1"), ref("V-2")],
            description="Fin de vigilance rouge",
        )
    )
    assert isinstance(closed, IncidentClosed)
    assert (closed.incident_id, closed.crisis_id) == (first.incident_id, first.crisis_id)
    assert closed.reason == "Fin de vigilance rouge"
    assert closed.external_ids == [f"cap:{SENDER},V-3"]


async def test_a_cancel_of_an_alert_never_received_is_recorded_where_its_alert_would_go() -> None:
    desk = Desk()
    desk.open("crue-vesubie")
    outcome = await desk.one(
        cap_alert(
            identifier="V-9", msg_type="Cancel", references=[ref("NEVER-SEEN")], note="Erreur"
        )
    )
    assert outcome.accepted
    (entry,) = outcome.events
    assert isinstance(entry, MainCouranteEntryRecorded)
    assert entry.crisis_id == "crue-vesubie"
    assert entry.external_ids == [f"cap:{SENDER},V-9", f"cancels:cap:{SENDER},NEVER-SEEN"]
    assert "NEVER-SEEN" in entry.text
    assert "Erreur" in entry.text
    assert entry.actor == "feed:sdis06"


async def test_an_alert_withdrawn_before_it_came_is_reported_and_closed_at_once() -> None:
    desk = Desk()
    await desk.one(cap_alert(identifier="V-9", msg_type="Cancel", references=[ref("V-1")]))
    outcome = await desk.one(cap_alert(identifier="V-1"))
    reported, closed = outcome.events
    assert isinstance(reported, IncidentReported)
    assert isinstance(closed, IncidentClosed)
    assert closed.incident_id == reported.incident_id
    assert closed.crisis_id == reported.crisis_id
    assert closed.event_id != reported.event_id
    # A restarted intake learns the Cancel back from the stream and still closes the alert.
    cancel = await Desk().one(
        cap_alert(identifier="V-8", msg_type="Cancel", references=[ref("V-2")])
    )
    restarted = Desk()
    for event in cancel.events:
        restarted.index.observe(event.to_wire())
    late = await restarted.one(cap_alert(identifier="V-2"))
    assert [type(e) for e in late.events] == [IncidentReported, IncidentClosed]


async def test_a_cancel_naming_nothing_is_recorded_with_a_warning() -> None:
    outcome = await Desk().one(cap_alert(identifier="V-9", msg_type="Cancel"))
    (entry,) = outcome.events
    assert isinstance(entry, MainCouranteEntryRecorded)
    assert entry.crisis_id == "veille"
    assert any("names no alert" in w for w in outcome.warnings)


async def test_a_header_only_alert_is_recorded_in_the_main_courante() -> None:
    outcome = await Desk().one(
        cap_alert(identifier="V-5", header_only=True, note="Exercice de transmission")
    )
    assert outcome.accepted
    (entry,) = outcome.events
    assert isinstance(entry, MainCouranteEntryRecorded)
    assert entry.crisis_id == "veille"
    assert "with no <info>" in entry.text
    assert "Exercice de transmission" in entry.text
    assert any("no <info> (CAP allows it)" in w for w in outcome.warnings)


async def test_a_header_only_update_is_a_note_on_the_incident_it_amends() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="V-1"))
    outcome = await desk.one(
        cap_alert(
            identifier="V-2",
            msg_type="Update",
            references=[ref("V-1")],
            header_only=True,
            note="Décrue amorcée",
        )
    )
    (update,) = outcome.events
    assert isinstance(update, IncidentUpdated)
    assert update.incident_id == first.incident_id
    assert update.note is not None
    assert "Décrue amorcée" in update.note
    assert update.title is None


@pytest.mark.parametrize(("scope", "said"), [(None, "missing"), ("", "empty")])
async def test_an_alert_without_its_scope_is_refused_never_taken_as_public(
    scope: str | None, said: str
) -> None:
    outcome = await Desk().one(cap_alert(scope=scope))
    assert refused(outcome) == "/alert/scope"
    assert outcome.error is not None
    assert said in outcome.error.reason
    assert "never guessed" in outcome.error.reason


async def test_an_unknown_scope_is_refused() -> None:
    outcome = await Desk().one(cap_alert(scope="Everyone"))
    assert refused(outcome) == "/alert/scope"


async def test_a_restricted_alert_says_it_is_not_for_the_public() -> None:
    event = await Desk().event(cap_alert(scope="restricted"))
    assert isinstance(event, IncidentReported)
    assert any("CAP scope Restricted: not for the public" in w for w in event.warnings)
    assert any("Restricted alert without <restriction>" in w for w in event.warnings)


async def test_an_update_with_empty_references_is_new_and_says_the_link_is_lost() -> None:
    document = cap_alert(identifier="V-2", msg_type="Update").replace(
        "<scope>Public</scope>", "<scope>Public</scope><references/>"
    )
    event = await Desk().event(document)
    assert isinstance(event, IncidentReported)
    assert any("the link to the alert it amends is lost" in w for w in event.warnings)


async def test_an_update_of_an_alert_never_received_is_reported_as_new_with_a_warning() -> None:
    desk = Desk()
    outcome = await desk.one(
        cap_alert(identifier="V-2", msg_type="Update", references=[ref("V-1")])
    )
    event = outcome.events[0]
    assert isinstance(event, IncidentReported)
    assert any(
        w.startswith("/alert/references:") and "has not received" in w for w in outcome.warnings
    )
    assert event.warnings == outcome.warnings
    # A later update of the same original amends that incident
    later = await desk.event(
        cap_alert(identifier="V-3", msg_type="Update", references=[ref("V-1")])
    )
    assert isinstance(later, IncidentUpdated)
    assert later.incident_id == event.incident_id


async def test_alerts_of_one_sender_naming_one_incidents_value_are_one_incident() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="S-1", incidents=["SDIS06-2020-4488"]))
    second = await desk.event(cap_alert(identifier="S-2", incidents=["SDIS06-2020-4488"]))
    assert isinstance(second, IncidentUpdated)
    assert second.incident_id == first.incident_id


async def test_the_same_incidents_value_from_another_sender_is_another_incident() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="S-1", incidents=["INC-1"]))
    other = await desk.event(
        cap_alert(identifier="S-1", sender="other@sdis06.fr", incidents=["INC-1"])
    )
    assert isinstance(other, IncidentReported)
    assert other.incident_id != first.incident_id


@pytest.mark.parametrize("msg_type", ["Ack", "Error"])
async def test_an_ack_or_an_error_message_is_accepted_and_records_nothing(msg_type: str) -> None:
    desk = Desk()
    await desk.event(cap_alert(identifier="V-1"))
    outcome = await desk.one(
        cap_alert(identifier="V-2", msg_type=msg_type, references=[ref("V-1")])
    )
    assert outcome.accepted
    assert outcome.events == []
    assert any(msg_type in note for note in outcome.notes)


async def test_nothing_is_remembered_until_the_caller_publishes() -> None:
    desk = Desk()
    await desk.send(cap_alert(identifier="V-1"), publish=False)
    assert len(desk.index) == 0
    # Not published, so taken again: same ids, so the bus keeps one
    again = await desk.event(cap_alert(identifier="V-1"))
    assert isinstance(again, IncidentReported)
    assert len(desk.index) > 0


# --- routing -----------------------------------------------------------------------------------


async def test_an_actual_alert_goes_to_the_open_real_crisis() -> None:
    desk = Desk()
    desk.open("crue-06")
    event = await desk.event(cap_alert())
    assert event.crisis_id == "crue-06"
    assert event.status is Status.ACTUAL


async def test_an_actual_alert_goes_to_the_most_recently_opened_real_crisis() -> None:
    desk = Desk()
    desk.open("crue-06")
    desk.open("feux-06")
    desk.open("exercice-orsec", "Exercise")
    assert (await desk.event(cap_alert())).crisis_id == "feux-06"


async def test_with_no_crisis_open_an_actual_alert_goes_to_the_standing_watch() -> None:
    assert (await Desk().event(cap_alert())).crisis_id == "veille"


async def test_an_exercise_alert_goes_to_the_standing_watch_while_only_a_real_crisis_is_open() -> (
    None
):
    desk = Desk()
    desk.open("crue-06")
    event = await desk.event(cap_alert(status="Exercise"))
    assert event.crisis_id == "veille"
    assert event.status is Status.EXERCISE


async def test_an_exercise_alert_goes_to_the_open_exercise_and_an_actual_one_does_not() -> None:
    desk = Desk()
    desk.open("crue-06")
    desk.open("exercice-orsec", "Exercise")
    exercise = await desk.event(cap_alert(identifier="E-1", status="Exercise"))
    actual = await desk.event(cap_alert(identifier="A-1"))
    assert exercise.crisis_id == "exercice-orsec"
    assert actual.crisis_id == "crue-06"


@pytest.mark.parametrize("status", ["Test", "System", "Draft"])
async def test_test_system_and_draft_alerts_go_to_the_standing_watch_with_their_status(
    status: str,
) -> None:
    desk = Desk()
    desk.open("crue-06")
    desk.open("exercice-orsec", "Exercise")
    event = await desk.event(cap_alert(status=status))
    assert event.crisis_id == "veille"
    assert event.status == status


async def test_once_the_crisis_is_closed_new_alerts_go_to_the_standing_watch_again() -> None:
    desk = Desk()
    desk.open("crue-06")
    assert (await desk.event(cap_alert(identifier="A-1"))).crisis_id == "crue-06"
    desk.close("crue-06")
    assert (await desk.event(cap_alert(identifier="A-2"))).crisis_id == "veille"


@pytest.mark.parametrize("msg_type", ["Update", "Cancel"])
async def test_an_exercise_message_amending_an_incident_of_an_open_real_crisis_is_refused(
    msg_type: str,
) -> None:
    desk = Desk()
    desk.open("crue-06")
    await desk.event(cap_alert(identifier="A-1"))
    outcome = await desk.one(
        cap_alert(identifier="E-2", status="Exercise", msg_type=msg_type, references=[ref("A-1")])
    )
    assert refused(outcome) == "/alert"
    assert outcome.error is not None
    assert "never mix" in outcome.error.reason


async def test_an_actual_update_amending_an_incident_of_an_open_exercise_is_refused() -> None:
    desk = Desk()
    desk.open("exercice-orsec", "Exercise")
    await desk.event(cap_alert(identifier="E-1", status="Exercise"))
    outcome = await desk.one(
        cap_alert(identifier="A-2", msg_type="Update", references=[ref("E-1")])
    )
    refused(outcome)
    assert outcome.error is not None
    assert "never mix" in outcome.error.reason


async def test_an_exercise_update_amends_an_incident_of_the_open_exercise() -> None:
    desk = Desk()
    desk.open("exercice-orsec", "Exercise")
    first = await desk.event(cap_alert(identifier="E-1", status="Exercise"))
    update = await desk.event(
        cap_alert(identifier="E-2", status="Exercise", msg_type="Update", references=[ref("E-1")])
    )
    assert isinstance(update, IncidentUpdated)
    assert (update.crisis_id, update.incident_id) == ("exercice-orsec", first.incident_id)


async def test_an_actual_alert_in_an_exercise_envelope_is_taken_as_an_exercise() -> None:
    desk = Desk()
    desk.open("crue-06")
    desk.open("exercice-orsec", "Exercise")
    (outcome,) = await desk.send(edxl(cap_alert(declaration=False), status="Exercise"))
    event = outcome.events[0]
    assert event.status is Status.EXERCISE
    assert event.crisis_id == "exercice-orsec"
    assert any("envelope marked Exercise" in w for w in outcome.warnings)


async def test_a_forced_crisis_receives_new_incidents_but_not_updates_of_known_ones() -> None:
    desk = Desk()
    desk.open("crue-06")
    known = await desk.event(cap_alert(identifier="A-1"))
    forced = await desk.event(cap_alert(identifier="A-2"), crisis="forced")
    update = await desk.event(
        cap_alert(identifier="A-3", msg_type="Update", references=[ref("A-1")]), crisis="forced"
    )
    assert forced.crisis_id == "forced"
    assert (update.crisis_id, update.incident_id) == ("crue-06", known.incident_id)


async def test_an_incident_attached_to_a_crisis_takes_its_later_updates_there() -> None:
    desk = Desk()
    first = await desk.event(cap_alert(identifier="A-1"))
    assert first.crisis_id == "veille"
    desk.open("crue-06")
    desk.index.observe(
        {
            "type": "incident.attached",
            "crisis_id": "crue-06",
            "incident_id": first.incident_id,
            "from_crisis_id": "veille",
            "external_ids": first.external_ids,
        }
    )
    update = await desk.event(
        cap_alert(identifier="A-2", msg_type="Update", references=[ref("A-1")])
    )
    assert (update.crisis_id, update.incident_id) == ("crue-06", first.incident_id)
    again = await desk.one(cap_alert(identifier="A-1"))
    assert "in crue-06" in again.notes[0]


async def test_the_index_rebuilt_from_published_events_correlates_like_the_live_one() -> None:
    published = []
    desk = Desk()
    desk.open("crue-06")
    for document in (
        cap_alert(identifier="A-1", incidents=["INC-7"]),
        cap_alert(identifier="A-2", msg_type="Update", references=[ref("A-1")]),
    ):
        published += [e.to_wire() for o in await desk.send(document) for e in o.events]
    rebuilt = Desk()
    rebuilt.open("crue-06")
    for wire in published:
        rebuilt.index.observe(wire)
    for document in (
        cap_alert(identifier="A-3", msg_type="Update", references=[ref("A-2")]),
        cap_alert(identifier="A-4", incidents=["INC-7"]),
    ):
        event = await rebuilt.event(document)
        assert isinstance(event, IncidentUpdated)
        assert event.incident_id == published[0]["incident_id"]


# --- size and encodings ------------------------------------------------------------------------


async def test_an_input_over_the_size_limit_is_refused_before_it_is_read() -> None:
    document = cap_alert(description="x" * 2000).encode()
    assert len(document) > 2000
    outcome = await Desk(max_bytes=1000).one(document)
    assert refused(outcome) == "/"
    assert outcome.error is not None
    assert "limit" in outcome.error.reason
    assert f"{len(document):,}" in outcome.error.reason


@pytest.mark.parametrize("form", ["geojson", "events"])
async def test_json_over_the_size_limit_is_refused_too(form: str) -> None:
    body = orjson.dumps({"type": "Feature", "padding": "x" * 2000})
    outcomes = await Intake(CorrelationIndex(), IntakeConfig(max_bytes=1000)).take(
        body, name="inline", feed="sdis06", form=form
    )
    assert [refused(o) for o in outcomes] == ["/"]
    assert outcomes[0].error is not None
    assert "limit" in outcomes[0].error.reason


@pytest.mark.parametrize("declaration", [False, True])
async def test_a_control_byte_is_refused(declaration: bool) -> None:
    document = cap_alert(description="Crue\x01majeure", declaration=declaration).encode()
    outcome = await Desk().one(document)
    assert refused(outcome) == "/"
    assert outcome.error is not None
    assert "control byte 0x01" in outcome.error.reason


async def test_a_control_byte_is_refused_with_its_offset_in_a_document_without_declaration() -> (
    None
):
    document = cap_alert(description="Crue\x01majeure", declaration=False).encode()
    outcome = await Desk().one(document)
    assert outcome.error is not None
    offset = document.index(b"\x01")
    assert f"at byte {offset}:" in outcome.error.reason


async def test_a_control_byte_is_refused_with_its_offset_in_the_raw_bytes() -> None:
    document = cap_alert(description="Crue\x01majeure").encode()
    outcome = await Desk().one(document)
    assert outcome.error is not None
    offset = document.index(b"\x01")
    assert f"at byte {offset}:" in outcome.error.reason


async def test_an_unknown_declared_encoding_is_refused() -> None:
    document = cap_alert().replace('encoding="UTF-8"', 'encoding="x-klingon"').encode()
    outcome = await Desk().one(document)
    assert refused(outcome) == "/?xml"
    assert outcome.error is not None
    assert "x-klingon" in outcome.error.reason


async def test_bytes_that_break_the_declared_utf_8_are_refused() -> None:
    document = cap_alert(description="Crue @@").encode().replace(b"@@", b"\xff\xfe")
    outcome = await Desk().one(document)
    refused(outcome)
    assert outcome.error is not None
    assert "0xff" in outcome.error.reason


@pytest.mark.parametrize(
    ("codec", "bom"), [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)]
)
async def test_utf_16_with_a_byte_order_mark_is_read(codec: str, bom: bytes) -> None:
    text = cap_alert(description="Crue très forte, évacuation").replace("UTF-8", "UTF-16")
    event = await Desk().event(bom + text.encode(codec))
    assert event.description == "Crue très forte, évacuation"


async def test_utf_16_without_a_byte_order_mark_is_refused() -> None:
    outcome = await Desk().one(cap_alert().replace("UTF-8", "UTF-16").encode("utf-16-le"))
    refused(outcome)


async def test_latin_1_declared_is_read_in_latin_1_with_a_warning() -> None:
    text = cap_alert(description="Crue très forte").replace("UTF-8", "ISO-8859-1")
    outcome = await Desk().one(text.encode("iso-8859-1"))
    assert outcome.events[0].description == "Crue très forte"
    assert any(w.startswith("/?xml:") for w in outcome.warnings)


@pytest.mark.parametrize("document", [b"", b"   \n\t", b"\xef\xbb\xbf"])
async def test_an_empty_input_is_refused(document: bytes) -> None:
    outcome = await Desk().one(document)
    assert refused(outcome) == "/"


async def test_an_envelope_with_base64_cap_is_read_and_bad_base64_is_refused_alone() -> None:
    inner = base64.b64encode(cap_alert(identifier="B-1").encode()).decode()
    document = (
        f'<EDXLDistribution xmlns="{EDXL}"><distributionStatus>Actual</distributionStatus>'
        "<contentObject><nonXMLContent><mimeType>application/cap+xml</mimeType>"
        f"<contentData>{inner}</contentData></nonXMLContent></contentObject>"
        "<contentObject><nonXMLContent><mimeType>application/cap+xml</mimeType>"
        "<contentData>not base64 at all!</contentData></nonXMLContent></contentObject>"
        "</EDXLDistribution>"
    )
    good, bad = await Desk().send(document)
    assert good.accepted
    assert good.alert == f"cap:{SENDER},B-1"
    assert refused(bad).endswith("/nonXMLContent")


# --- GeoJSON -----------------------------------------------------------------------------------


def feature(
    *,
    id_: str | None = "sdis06-2020-9001",
    geometry: dict[str, Any] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    base = {
        "title": "Inondation quartier de la gare",
        "kind": "inondation",
        "severity": "severe",
        "occurred_at": "2020-10-02T19:00:00+02:00",
    }
    if id_ is not None:
        base["id"] = id_
    return {
        "type": "Feature",
        "geometry": geometry or {"type": "Point", "coordinates": [7.25, 43.70]},
        "properties": base | properties,
    }


def collection(*features: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": "FeatureCollection", "features": list(features)})


async def test_geojson_coordinates_are_read_longitude_first() -> None:
    event = await Desk().event(collection(feature()))
    assert isinstance(event, IncidentReported)
    assert event.location.point is not None
    assert (event.location.point.lat, event.location.point.lon) == (43.70, 7.25)


async def test_the_same_feature_twice_is_a_duplicate() -> None:
    desk = Desk()
    first = await desk.event(collection(feature()))
    (again,) = await desk.send(collection(feature()))
    assert again.accepted
    assert again.events == []
    assert any("already received" in note for note in again.notes)
    assert first.source == "sdis06"


async def test_a_feature_sent_again_with_changes_updates_its_incident() -> None:
    desk = Desk()
    first = await desk.event(collection(feature(severity="severe")))
    update = await desk.event(collection(feature(severity="extreme", title="Crue majeure")))
    assert isinstance(update, IncidentUpdated)
    assert update.incident_id == first.incident_id
    assert (update.severity, update.title) == ("extreme", "Crue majeure")
    assert update.event_id != first.event_id


async def test_a_feature_sent_again_closed_closes_its_incident() -> None:
    desk = Desk()
    first = await desk.event(collection(feature(state="open")))
    closed = await desk.event(collection(feature(state="closed")))
    assert isinstance(closed, IncidentClosed)
    assert (closed.incident_id, closed.crisis_id) == (first.incident_id, first.crisis_id)


async def test_the_same_feature_id_from_another_feed_is_another_incident() -> None:
    desk = Desk()
    one = await desk.event(collection(feature()), feed="sdis06")
    two = await desk.event(collection(feature()), feed="sdis83")
    assert isinstance(two, IncidentReported)
    assert one.incident_id != two.incident_id


async def test_a_multipolygon_gives_one_polygon_per_member_in_lat_lon() -> None:
    square = [[7.50, 43.93], [7.52, 43.93], [7.52, 43.94], [7.50, 43.94], [7.50, 43.93]]
    other = [[7.58, 44.08], [7.60, 44.08], [7.60, 44.09], [7.58, 44.09], [7.58, 44.08]]
    geometry = {"type": "MultiPolygon", "coordinates": [[square], [other]]}
    event = await Desk().event(collection(feature(geometry=geometry)))
    polygons = event.location.polygons
    assert len(polygons) == 2
    assert (polygons[0].points[0].lat, polygons[0].points[0].lon) == (43.93, 7.50)
    assert (polygons[1].points[2].lat, polygons[1].points[2].lon) == (44.09, 7.60)


async def test_a_single_feature_document_is_read_too() -> None:
    event = await Desk().event(orjson.dumps(feature()))
    assert isinstance(event, IncidentReported)


async def test_a_feature_without_id_is_known_by_its_content_with_a_warning() -> None:
    desk = Desk()
    (outcome,) = await desk.send(collection(feature(id_=None)))
    assert outcome.accepted
    assert any("no id" in w for w in outcome.warnings)
    (again,) = await desk.send(collection(feature(id_=None)))
    assert again.events == []


async def test_a_feature_routes_like_an_alert_by_its_status() -> None:
    desk = Desk()
    desk.open("crue-06")
    desk.open("exercice-orsec", "Exercise")
    actual = await desk.event(collection(feature(id_="f-1")))
    exercise = await desk.event(collection(feature(id_="f-2", status="Exercise")))
    assert (actual.crisis_id, exercise.crisis_id) == ("crue-06", "exercice-orsec")
    assert exercise.status is Status.EXERCISE


@pytest.mark.parametrize(
    ("geometry", "path"),
    [
        ({"type": "Point", "coordinates": [200, 95]}, "$.features[0].geometry"),
        ({"type": "Point", "coordinates": [7.25]}, "$.features[0].geometry"),
        ({"type": "LineString", "coordinates": [[7, 43], [7, 44]]}, "$.features[0].geometry"),
        (
            {"type": "Polygon", "coordinates": [[[7, 43], [7.1, 43], [7.1, 43.1]]]},
            "$.features[0].geometry",
        ),
    ],
)
async def test_a_feature_with_unusable_geometry_is_refused_at_its_geometry(
    geometry: dict[str, Any], path: str
) -> None:
    outcome = await Desk().one(collection(feature(geometry=geometry)))
    assert refused(outcome) == path


async def test_a_bad_feature_is_refused_alone_and_the_others_are_read() -> None:
    outcomes = await Desk().send(
        collection(
            feature(id_="f-1"),
            feature(id_="f-2", geometry={"type": "Point", "coordinates": [200, 95]}),
            feature(id_="f-3"),
        )
    )
    assert [o.accepted for o in outcomes] == [True, False, True]
    assert [o.path for o in outcomes] == [
        "$.features[0]",
        "$.features[1].geometry",
        "$.features[2]",
    ]
