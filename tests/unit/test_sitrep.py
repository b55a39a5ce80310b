"""Points de situation: numbering, content, the document, and its three renderings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest
from defusedxml import ElementTree as SafeET

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CrisisOpened,
    DecisionTaken,
    IncidentReported,
    PlanActivated,
    SituationReportDrafted,
    SituationReportIssued,
    TaskAssigned,
)
from schemas.wire import encode
from services.demo.scenario import tempete_alex
from services.picture.fold import Picture, fold, new_picture
from services.sitrep.core import (
    SitrepDocument,
    decisions_since,
    document_from,
    next_number,
    report_content,
    summarise,
)
from services.sitrep.render import SITREP_NS, to_edxl_sitrep, to_html, to_markdown
from tests.unit.samples import ENVELOPE, sample_event

pytestmark = pytest.mark.unit

T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)
NEXT_REPORT_AT = "2020-10-03T18:00:00+02:00"
DIRECTEUR = "Directeur de cabinet"


def _event(cls: type[Envelope], **changes: Any) -> Envelope:
    return sample_event(cls, event_id=uuid4(), **changes)


def _folded(events: list[Envelope], until: int | None = None) -> Picture:
    """The picture after the first `until` events (all by default), at positions from 1."""
    picture = new_picture(events[0].crisis_id)
    for position, event in enumerate(events[:until], 1):
        wire = orjson.loads(encode(event))
        fold(picture, wire, position, (T0 + timedelta(minutes=position)).isoformat())
    return picture


def _content(picture: Picture, *, number: int = 1, previous_position: int = 0) -> dict[str, Any]:
    return report_content(
        picture,
        number=number,
        as_of_position=picture["position"],
        summary=summarise(picture),
        outlook="Décrue attendue dans la nuit.",
        next_report_at=NEXT_REPORT_AT,
        previous_position=previous_position,
    )


def _document(picture: Picture, *, validated_by: str | None = DIRECTEUR) -> SitrepDocument:
    issued_at = "2020-10-03T12:00:00+02:00" if validated_by else None
    content = _content(picture, number=next_number(picture))
    return document_from(picture, content, validated_by=validated_by, issued_at=issued_at)


def _renderings(doc: SitrepDocument) -> tuple[str, str, bytes]:
    return to_markdown(doc), to_html(doc), to_edxl_sitrep(doc)


def test_every_fact_of_the_picture_keeps_its_stream_position() -> None:
    picture = _folded([_event(DecisionTaken)])
    assert picture["decisions"]["dec-0001"]["position"] == 1


@pytest.fixture(scope="module")
def alex() -> list[Envelope]:
    return tempete_alex()


# -- numbering -----------------------------------------------------------------------------------


def test_the_first_report_of_a_crisis_is_number_one() -> None:
    assert next_number(new_picture("alex-06-2020")) == 1


def test_the_next_number_follows_the_highest_report_issued_or_drafted() -> None:
    issued = _event(SituationReportIssued, number=2)
    drafted = _event(SituationReportDrafted, number=4)

    assert next_number(_folded([issued])) == 3
    assert next_number(_folded([issued, drafted])) == 5
    assert next_number(_folded([drafted, _event(SituationReportIssued, number=4)])) == 5


# -- content -------------------------------------------------------------------------------------


def test_the_content_validates_as_a_situation_report_issued_event(alex: list[Envelope]) -> None:
    content = _content(_folded(alex))

    issued = SituationReportIssued(**ENVELOPE, **content, validated_by=DIRECTEUR)

    assert issued.number == 1
    assert issued.bilan.assessed() == content["bilan"]
    assert [tally.service.value for tally in issued.resources] == sorted(
        tally.service.value for tally in issued.resources
    )
    assert set(content) == set(SituationReportIssued.model_fields) - set(Envelope.model_fields) - {
        "type",
        "schema_version",
        "validated_by",
    }


def test_storm_alex_content_matches_the_figures_plans_and_resources_the_cell_issued(
    alex: list[Envelope],
) -> None:
    issued = [event for event in alex if isinstance(event, SituationReportIssued)]

    for report in issued:
        content = _content(_folded(alex, report.as_of_position), number=report.number)

        assert content["bilan"] == report.bilan.assessed(), report.number
        assert content["active_plans"] == sorted(report.active_plans)
        assert {(r["service"], r["units"], r["personnel"]) for r in content["resources"]} == {
            (t.service.value, t.units, t.personnel) for t in report.resources
        }


def test_decisions_are_those_recorded_after_the_previous_reports_position() -> None:
    picture = new_picture("alex-06-2020")
    for position, decision_id in ((3, "dec-0001"), (7, "dec-0002"), (5, "dec-0003")):
        picture["decisions"][decision_id] = {"decision_id": decision_id, "position": position}

    assert decisions_since(picture, 0) == ["dec-0001", "dec-0003", "dec-0002"]
    assert decisions_since(picture, 3) == ["dec-0003", "dec-0002"]
    assert decisions_since(picture, 7) == []


def test_storm_alex_reports_list_only_the_decisions_since_the_previous_report(
    alex: list[Envelope],
) -> None:
    issued = [event for event in alex if isinstance(event, SituationReportIssued)]
    previous_position = 0

    for report in issued:
        picture = _folded(alex, report.as_of_position)
        content = _content(picture, number=report.number, previous_position=previous_position)

        assert content["decision_ids"] == report.decision_ids, report.number
        previous_position = report.as_of_position


def test_a_decision_whose_position_is_unknown_is_listed_rather_than_left_out() -> None:
    picture = _folded([_event(DecisionTaken)])
    picture["decisions"]["dec-0001"].pop("position", None)

    assert decisions_since(picture, 10_000) == ["dec-0001"]


def test_content_refuses_a_picture_folded_past_the_reports_position(
    alex: list[Envelope],
) -> None:
    picture = _folded(alex)

    with pytest.raises(ValueError, match="past the report"):
        report_content(
            picture,
            number=1,
            as_of_position=picture["position"] - 1,
            summary="Résumé.",
            outlook=None,
            next_report_at=None,
            previous_position=0,
        )


def test_the_summary_gives_open_incidents_the_most_severe_key_figures_and_active_plans(
    alex: list[Envelope],
) -> None:
    picture = _folded(alex)

    summary = summarise(picture)

    assert summary.startswith("6 incidents en cours ; le plus grave : ")
    assert picture["incidents"]["inc-0001"]["title"] in summary
    assert "disparus 8" in summary
    assert picture["plans"]["orsec-inondation"]["plan_name"] in summary
    assert summary == summarise(_folded(alex))


def test_the_summary_of_a_quiet_crisis_says_so() -> None:
    picture = _folded([_event(CrisisOpened)])

    assert summarise(picture) == "Aucun incident en cours. Aucun plan activé."


# -- the document --------------------------------------------------------------------------------


def test_the_document_shows_what_the_picture_holds_at_the_reports_position() -> None:
    incident = _event(IncidentReported)
    activated = _event(PlanActivated)
    task = _event(TaskAssigned)
    picture = _folded([_event(CrisisOpened), incident, activated, _event(DecisionTaken), task])

    doc = _document(picture)

    assert (doc.crisis_name, doc.departement, doc.number) == ("Tempête Alex", "06", 1)
    assert [i.incident_id for i in doc.incidents] == ["inc-0001"]
    assert [(p.code, p.by) for p in doc.active_plans] == [
        ("orsec-inondation", "Préfet des Alpes-Maritimes")
    ]
    assert [d.decision_id for d in doc.decisions] == ["dec-0001"]
    assert [(t.task_id, t.due_at) for t in doc.open_tasks] == [
        ("task-0001", picture["tasks"]["task-0001"]["due_at"])
    ]
    assert doc.as_of_recorded_at == picture["recorded_at"]
    assert not doc.is_draft


def test_a_draft_says_projet_and_an_issued_report_names_who_validated_it(
    alex: list[Envelope],
) -> None:
    picture = _folded(alex)

    draft = to_markdown(_document(picture, validated_by=None))
    issued = to_markdown(_document(picture))

    assert "PROJET" in draft.splitlines()[0]
    assert "PROJET" not in issued
    assert f"validé par {DIRECTEUR}" in issued


# -- renderings ----------------------------------------------------------------------------------


def test_rendering_is_byte_for_byte_the_same_for_the_same_document_and_the_same_events(
    alex: list[Envelope],
) -> None:
    doc = _document(_folded(alex))
    rebuilt = _document(_folded(tempete_alex()))

    assert _renderings(doc) == _renderings(doc)
    assert rebuilt == doc
    assert _renderings(rebuilt) == _renderings(doc)


def test_an_exercise_says_exercice_in_every_output(alex: list[Envelope]) -> None:
    doc = _document(_folded(alex))
    markdown, page, xml = _renderings(doc)

    assert doc.exercise
    assert "EXERCICE" in markdown.splitlines()[0]
    assert "<title>EXERCICE" in page
    assert 'class="banner exercise"' in page
    assert "<reportTitle>EXERCICE" in xml.decode()
    assert "<reportPurpose>EXERCICE" in xml.decode()


def test_a_real_crisis_never_says_exercice() -> None:
    doc = _document(_folded(tempete_alex(status=Status.ACTUAL)))
    markdown, page, xml = _renderings(doc)

    assert not doc.exercise
    assert "EXERCICE" not in markdown
    assert "EXERCICE" not in page
    assert b"EXERCICE" not in xml


def test_html_escapes_a_title_containing_a_script() -> None:
    hostile = "<script>alert('x')</script> & co"
    picture = _folded(
        [
            _event(CrisisOpened, name=hostile),
            _event(IncidentReported, title=hostile),
        ]
    )

    page = to_html(_document(picture))
    markdown = to_markdown(_document(picture))

    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert "<script" not in markdown.replace("\\<script", "")


def test_the_html_is_a_complete_french_page_that_prints_on_a4(alex: list[Envelope]) -> None:
    page = to_html(_document(_folded(alex)))

    assert page.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert page.endswith("</html>\n")
    assert "@page { size: A4;" in page
    assert "<link" not in page
    assert "<script" not in page
    for heading in ("Bilan", "Plans activés", "Moyens engagés", "Décisions", "Communication"):
        assert f"<h2>{heading}</h2>" in page


def test_the_edxl_sitrep_parses_with_its_namespace_and_report_number(
    alex: list[Envelope],
) -> None:
    issued = [e for e in alex if isinstance(e, SituationReportIssued)][-1]
    picture = _folded(alex, issued.as_of_position)
    content = _content(picture, number=issued.number)
    doc = document_from(picture, content, validated_by=DIRECTEUR, issued_at=issued.occurred_at)

    xml = to_edxl_sitrep(doc)
    root = SafeET.fromstring(xml)

    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert root.tag == f"{{{SITREP_NS}}}sitRep"
    assert root.findtext(f"{{{SITREP_NS}}}reportNumber") == str(issued.number)
    assert root.findtext(f"{{{SITREP_NS}}}incidentID") == picture["crisis_id"]
    missing = root.find(f".//{{{SITREP_NS}}}missing")
    assert missing is not None
    assert missing.text == str(issued.bilan.disparus)


def test_markdown_names_the_events_each_bilan_figure_comes_from() -> None:
    first = _event(BilanAssessed, incident_id="inc-0001", figures={"decedes": 1})
    second = _event(BilanAssessed, incident_id="inc-0002", figures={"decedes": 2})
    crisis_wide = _event(BilanAssessed, incident_id=None, figures={"disparus": 8})
    picture = _folded(
        [
            _event(IncidentReported),
            _event(IncidentReported, incident_id="inc-0002"),
            first,
            second,
            crisis_wide,
        ]
    )

    markdown = to_markdown(_document(picture))

    decedes = next(line for line in markdown.splitlines() if line.startswith("| Décédés"))
    assert "| 3 | somme des incidents |" in decedes
    assert f"inc-0001 : `{first.event_id}`" in decedes
    assert f"inc-0002 : `{second.event_id}`" in decedes
    assert f"`{crisis_wide.event_id}`" in markdown
