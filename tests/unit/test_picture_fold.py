"""The operational picture as a fold of events: what each family of events does to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest

from schemas.catalogue import EVENT_TYPES, type_name
from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CodStoodDown,
    CrisisClosed,
    CrisisOpened,
    DecisionTaken,
    IncidentAttached,
    IncidentClosed,
    IncidentHandedOver,
    IncidentMerged,
    IncidentReported,
    IncidentUpdated,
    InputRejected,
    MainCouranteEntryRecorded,
    PlanActivated,
    PlanActivationProposed,
    PlanDeactivated,
    PressReleasePublished,
    PublicAlertIssued,
    ResourceEngaged,
    ResourceReleased,
    ResourceRequested,
    SituationReportIssued,
    TaskAssigned,
    TaskCompleted,
    VigilanceChanged,
    VigipirateChanged,
)
from schemas.wire import encode
from services.demo.scenario import tempete_alex
from services.picture import views
from services.picture.fold import HANDLERS, LATEST_ENTRIES, Picture, fold, new_picture
from tests.unit.samples import LATER, OCCURRED_AT, PAYLOADS, incident_reported, sample_event

pytestmark = pytest.mark.unit

ALEX = "alex-06-2020"
T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)


def _event(cls: type[Envelope], **changes: Any) -> Envelope:
    return sample_event(cls, event_id=uuid4(), **changes)


def _wire(event: Envelope) -> dict[str, Any]:
    return orjson.loads(encode(event))  # type: ignore[no-any-return]


def _recorded_at(position: int) -> str:
    return (T0 + timedelta(minutes=position)).isoformat()


def _folded(*events: Envelope, picture: Picture | None = None) -> Picture:
    """The picture after `events`, folded at the positions that follow the picture's own."""
    picture = new_picture(ALEX) if picture is None else picture
    for event in events:
        position = picture["position"] + 1
        fold(picture, _wire(event), position, _recorded_at(position))
    return picture


def _facts(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict of the picture that stands for a fact: it names the event it comes from."""
    if isinstance(value, dict):
        if "event_id" in value:
            yield value
        for item in value.values():
            yield from _facts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _facts(item)


def _assess(incident_id: str | None = "inc-0001", **figures: int) -> Envelope:
    return _event(BilanAssessed, incident_id=incident_id, figures=figures)


def _engaged(resource_id: str, service: str, units: int, personnel: int) -> Envelope:
    return _event(
        ResourceEngaged, resource_id=resource_id, service=service, units=units, personnel=personnel
    )


def _released(resource_id: str, service: str, units: int, personnel: int) -> Envelope:
    return _event(
        ResourceReleased, resource_id=resource_id, service=service, units=units, personnel=personnel
    )


# -- the crisis and its COD ----------------------------------------------------------------------


def test_a_picture_before_any_event_knows_nothing() -> None:
    picture = new_picture(ALEX)

    assert picture["crisis_id"] == ALEX
    assert picture["state"] == "unknown"
    assert picture["exercise"] is False
    assert picture["events"] == picture["position"] == 0
    assert picture["recorded_at"] is None


def test_the_fold_handles_every_event_type_of_the_catalogue() -> None:
    assert {type_name(cls) for cls in EVENT_TYPES} == set(HANDLERS)


def test_opening_a_crisis_sets_its_name_kind_departement_nature_and_open_state() -> None:
    opened = _event(CrisisOpened)

    picture = _folded(opened)

    assert picture["name"] == "Tempête Alex"
    assert picture["kind"] == "crise"
    assert picture["departement"] == "06"
    assert picture["nature"] == "inondation"
    assert picture["state"] == "open"
    assert picture["opened"]["event_id"] == str(opened.event_id)


def test_closing_a_crisis_keeps_its_name_and_records_the_closing_summary() -> None:
    closed = _event(CrisisClosed)

    picture = _folded(_event(CrisisOpened), closed)

    assert picture["name"] == "Tempête Alex"
    assert picture["state"] == "closed"
    assert picture["closed"]["summary"] == "Retour à la normale, fin de la phase d'urgence."
    assert picture["closed"]["event_id"] == str(closed.event_id)


def test_actual_events_leave_the_picture_unmarked() -> None:
    picture = _folded(_event(CrisisOpened), incident_reported())

    assert picture["exercise"] is False


def test_one_exercise_event_marks_the_picture_exercise_for_good() -> None:
    picture = _folded(
        _event(CrisisOpened, status=Status.EXERCISE), incident_reported(status=Status.ACTUAL)
    )

    assert picture["exercise"] is True


def test_the_cod_convened_then_stood_down_keeps_where_it_sat_and_says_why_it_stood_down() -> None:
    convened = _event(CodConvened)
    stood_down = _event(CodStoodDown)

    sitting = _folded(convened)
    assert sitting["cod"]["state"] == "convened"
    assert sitting["cod"]["location"] == "Préfecture des Alpes-Maritimes, salle COD"
    assert sitting["cod"]["services_present"] == ["SDIS 06", "DDSP", "Gendarmerie", "DDTM", "ARS"]
    assert sitting["cod"]["convened_by"] == "Directeur de cabinet"

    picture = _folded(stood_down, picture=sitting)

    assert picture["cod"]["state"] == "stood_down"
    assert picture["cod"]["reason"] == "Fin de la phase d'urgence."
    assert picture["cod"]["location"] == "Préfecture des Alpes-Maritimes, salle COD"
    assert picture["cod"]["event_id"] == str(stood_down.event_id)


# -- incidents -----------------------------------------------------------------------------------


def test_a_reported_incident_is_open_with_what_its_report_says() -> None:
    report = incident_reported()

    incident = _folded(report)["incidents"]["inc-0001"]

    assert incident["state"] == "open"
    assert incident["kind"] == "inondation"
    assert incident["severity"] == "extreme"
    assert incident["title"] == "Crue de la Vésubie à Saint-Martin-Vésubie"
    assert incident["location"] == _wire(report)["location"]
    assert incident["sources"] == ["Vigicrues", "CTA-CODIS 06"]
    assert incident["external_ids"] == ["urn:oid:2.49.0.1.250.0.2020.10.02.1"]
    assert incident["warnings"] == ["<expires> missing"]
    assert incident["reported"]["event_id"] == str(report.event_id)
    assert incident["bilan"] == {}


def test_an_update_changes_only_the_fields_it_gives_and_adds_its_new_sources() -> None:
    report = incident_reported()
    update = _event(
        IncidentUpdated,
        incident_id="inc-0001",
        severity="severe",
        sources=["CTA-CODIS 06", "Mairie de Saint-Martin-Vésubie"],
        note="Décrue amorcée.",
    )

    incident = _folded(report, update)["incidents"]["inc-0001"]

    assert incident["severity"] == "severe"
    assert incident["kind"] == "inondation"
    assert incident["title"] == "Crue de la Vésubie à Saint-Martin-Vésubie"
    assert incident["location"] == _wire(report)["location"]
    assert incident["sources"] == ["Vigicrues", "CTA-CODIS 06", "Mairie de Saint-Martin-Vésubie"]
    assert incident["updated"]["note"] == "Décrue amorcée."
    assert incident["updated"]["event_id"] == str(update.event_id)
    assert incident["reported"]["event_id"] == str(report.event_id)


def test_an_update_before_the_report_is_kept_under_the_incident_id() -> None:
    update = _event(IncidentUpdated, incident_id="inc-0009", sources=["CODIS 06"])

    incident = _folded(update)["incidents"]["inc-0009"]

    assert incident["state"] == "open"
    assert incident["reported"] is None
    assert incident["severity"] == "severe"
    assert incident["sources"] == ["CODIS 06"]


def test_an_incident_known_before_its_report_keeps_its_figures_and_sources_once_reported() -> None:
    assessed = _assess("inc-0009", disparus=2)
    update = _event(IncidentUpdated, incident_id="inc-0009", sources=["Mairie"])
    report = incident_reported(incident_id="inc-0009", sources=["CODIS 06"])

    picture = _folded(assessed, update, report)

    incident = picture["incidents"]["inc-0009"]
    assert incident["bilan"]["disparus"]["value"] == 2
    assert incident["sources"] == ["Mairie", "CODIS 06"]
    assert incident["reported"]["event_id"] == str(report.event_id)
    assert incident["title"] == "Crue de la Vésubie à Saint-Martin-Vésubie"
    assert picture["bilan"]["disparus"]["value"] == 2


def test_merged_duplicates_point_to_the_kept_incident_which_takes_their_sources() -> None:
    merge = _event(IncidentMerged, incident_id="inc-0001", merged_ids=["inc-0004", "inc-0007"])

    picture = _folded(
        incident_reported(sources=["Vigicrues"]),
        incident_reported(incident_id="inc-0004", sources=["Mairie"]),
        incident_reported(incident_id="inc-0007", sources=["Vigicrues", "CODIS 06"]),
        merge,
    )

    kept, *duplicates = (picture["incidents"][i] for i in ("inc-0001", "inc-0004", "inc-0007"))
    assert kept["state"] == "open"
    assert "merged_into" not in kept
    assert kept["sources"] == ["Vigicrues", "Mairie", "CODIS 06"]
    assert kept["updated"]["note"] == "Même crue signalée deux fois."
    assert kept["updated"]["event_id"] == str(merge.event_id)
    for duplicate in duplicates:
        assert duplicate["state"] == "merged"
        assert duplicate["merged_into"] == "inc-0001"
    assert views.view(picture, LATER.isoformat())["open_incidents"] == 1


def test_a_merged_duplicates_figures_leave_the_overall_sum_but_stay_on_the_duplicate() -> None:
    kept = _assess("inc-0001", disparus=3)
    duplicate = _assess("inc-0004", disparus=3, evacues=10)

    picture = _folded(
        kept, duplicate, _event(IncidentMerged, incident_id="inc-0001", merged_ids=["inc-0004"])
    )

    assert picture["bilan"]["disparus"]["value"] == 3
    assert picture["bilan"]["disparus"]["events"] == {"inc-0001": str(kept.event_id)}
    assert picture["bilan"]["evacues"]["value"] == 0
    assert picture["bilan"]["evacues"]["events"] == {}
    assert picture["incidents"]["inc-0004"]["bilan"]["disparus"]["value"] == 3


def test_an_incident_handed_over_leaves_the_bilan_and_counts_again_when_it_comes_back() -> None:
    kept = _assess("inc-0001", disparus=2)
    leaving = _assess("cap-0001", disparus=5)
    handed_over = _event(IncidentHandedOver, incident_id="cap-0001")
    later = _assess("cap-0001", disparus=7)

    picture = _folded(incident_reported(), kept, leaving, handed_over, later)

    assert picture["incidents"]["cap-0001"]["state"] == "handed_over"
    assert picture["incidents"]["cap-0001"]["handed_over"]["to_crisis_id"] == (
        "inondation-06-2020-10"
    )
    assert picture["bilan"]["disparus"]["value"] == 2
    assert picture["bilan"]["disparus"]["events"] == {"inc-0001": str(kept.event_id)}

    back = _event(IncidentAttached, incident_id="cap-0001", from_crisis_id="inondation-06-2020-10")
    picture = _folded(back, picture=picture)

    assert picture["incidents"]["cap-0001"]["state"] == "open"
    assert picture["incidents"]["cap-0001"]["attached"]["event_id"] == str(back.event_id)
    assert picture["bilan"]["disparus"]["value"] == 9


def test_an_attached_incident_is_reported_here_with_what_was_known_where_it_came_from() -> None:
    attached = _event(IncidentAttached)
    incident = _folded(attached)["incidents"]["cap-0001"]
    assert incident["title"] == "Vigilance rouge crues sur la Vésubie"
    assert incident["external_ids"] == ["cap:vigicrues@example.fr,FR-VC-2020-10-02-001"]
    assert incident["reported"]["event_id"] == str(attached.event_id)
    assert incident["attached"]["from_crisis_id"] == "veille"


def test_figures_given_for_a_duplicate_after_its_merge_are_not_counted_again() -> None:
    kept = _assess("inc-0001", disparus=3)

    picture = _folded(
        kept,
        _event(IncidentMerged, incident_id="inc-0001", merged_ids=["inc-0004"]),
        _assess("inc-0004", disparus=3),
    )

    assert picture["bilan"]["disparus"]["value"] == 3
    assert picture["bilan"]["disparus"]["events"] == {"inc-0001": str(kept.event_id)}
    assert picture["incidents"]["inc-0004"]["bilan"]["disparus"]["value"] == 3


def test_a_merge_leaves_a_crisis_wide_figure_standing() -> None:
    crisis_wide = _assess(None, disparus=8)

    picture = _folded(
        _assess("inc-0001", disparus=2),
        _assess("inc-0004", disparus=2),
        crisis_wide,
        _event(IncidentMerged, incident_id="inc-0001", merged_ids=["inc-0004"]),
    )

    assert picture["bilan"]["disparus"]["value"] == 8
    assert picture["bilan"]["disparus"]["basis"] == "crisis_wide"
    assert picture["bilan"]["disparus"]["events"] == {"crisis": str(crisis_wide.event_id)}


def test_a_closed_incident_is_closed_with_its_reason_and_its_figures_still_count() -> None:
    closing = _event(IncidentClosed, incident_id="inc-0001")

    picture = _folded(incident_reported(), _assess(decedes=1), closing)

    incident = picture["incidents"]["inc-0001"]
    assert incident["state"] == "closed"
    assert incident["closed"]["reason"] == "Décrue terminée."
    assert incident["closed"]["event_id"] == str(closing.event_id)
    assert picture["bilan"]["decedes"]["value"] == 1
    assert views.view(picture, LATER.isoformat())["open_incidents"] == 0


# -- bilan ---------------------------------------------------------------------------------------


def test_incident_figures_sum_into_the_overall_bilan_naming_each_contributing_event() -> None:
    vesubie = _assess("inc-0001", disparus=2, evacues=100)
    roya = _assess("inc-0002", disparus=3)

    picture = _folded(vesubie, roya)

    assert picture["bilan"]["disparus"]["value"] == 5
    assert picture["bilan"]["disparus"]["basis"] == "sum_of_incidents"
    assert picture["bilan"]["disparus"]["events"] == {
        "inc-0001": str(vesubie.event_id),
        "inc-0002": str(roya.event_id),
    }
    assert picture["bilan"]["disparus"]["recorded_at"] == _recorded_at(2)
    assert picture["bilan"]["evacues"]["value"] == 100
    assert picture["bilan"]["evacues"]["events"] == {"inc-0001": str(vesubie.event_id)}
    assert "decedes" not in picture["bilan"]


def test_each_incident_figure_keeps_its_value_its_source_and_its_event() -> None:
    assessed = _assess("inc-0001", disparus=2)

    figure = _folded(assessed)["incidents"]["inc-0001"]["bilan"]["disparus"]

    assert figure["value"] == 2
    assert figure["source_of_figures"] == "SDIS 06"
    assert figure["event_id"] == str(assessed.event_id)


def test_a_later_crisis_wide_figure_takes_over_the_sum_of_the_incidents() -> None:
    crisis_wide = _assess(None, disparus=8)

    picture = _folded(_assess("inc-0001", disparus=2), _assess("inc-0002", disparus=3), crisis_wide)

    assert picture["bilan"]["disparus"] == {
        "value": 8,
        "basis": "crisis_wide",
        "events": {"crisis": str(crisis_wide.event_id)},
        "recorded_at": _recorded_at(3),
    }
    assert picture["crisis_wide_bilan"]["disparus"]["value"] == 8
    assert picture["crisis_wide_bilan"]["disparus"]["event_id"] == str(crisis_wide.event_id)
    assert picture["incidents"]["inc-0001"]["bilan"]["disparus"]["value"] == 2


def test_a_crisis_wide_figure_only_takes_over_the_figures_it_gives() -> None:
    picture = _folded(_assess("inc-0001", disparus=2, evacues=40), _assess(None, disparus=8))

    assert picture["bilan"]["disparus"]["basis"] == "crisis_wide"
    assert picture["bilan"]["evacues"]["basis"] == "sum_of_incidents"
    assert picture["bilan"]["evacues"]["value"] == 40


def test_a_later_incident_figure_makes_the_sum_the_last_word_again() -> None:
    vesubie = _assess("inc-0001", disparus=2)
    roya = _assess("inc-0002", disparus=4)

    picture = _folded(vesubie, _assess(None, disparus=8), roya)

    assert picture["bilan"]["disparus"]["value"] == 6
    assert picture["bilan"]["disparus"]["basis"] == "sum_of_incidents"
    assert picture["bilan"]["disparus"]["events"] == {
        "inc-0001": str(vesubie.event_id),
        "inc-0002": str(roya.event_id),
    }
    assert picture["crisis_wide_bilan"]["disparus"]["value"] == 8


def test_a_zero_is_a_figure_that_counts() -> None:
    picture = _folded(_assess("inc-0001", decedes=0))

    assert picture["bilan"]["decedes"]["value"] == 0
    assert picture["incidents"]["inc-0001"]["bilan"]["decedes"]["value"] == 0


def test_a_zero_replaces_an_earlier_figure_of_the_same_incident() -> None:
    zero = _assess("inc-0001", disparus=0)

    picture = _folded(_assess("inc-0001", disparus=2), zero)

    assert picture["bilan"]["disparus"]["value"] == 0
    assert picture["bilan"]["disparus"]["events"] == {"inc-0001": str(zero.event_id)}


def test_a_zero_crisis_wide_figure_takes_over_the_sum() -> None:
    picture = _folded(_assess("inc-0001", disparus=2), _assess(None, disparus=0))

    assert picture["bilan"]["disparus"]["value"] == 0
    assert picture["bilan"]["disparus"]["basis"] == "crisis_wide"


def test_a_figure_assessed_again_on_the_same_incident_replaces_its_share() -> None:
    again = _assess("inc-0001", disparus=5)

    picture = _folded(_assess("inc-0001", disparus=2), _assess("inc-0002", disparus=1), again)

    assert picture["bilan"]["disparus"]["value"] == 6
    assert picture["bilan"]["disparus"]["events"]["inc-0001"] == str(again.event_id)
    assert picture["incidents"]["inc-0001"]["bilan"]["disparus"]["value"] == 5


def test_figures_an_assessment_leaves_out_keep_their_value_and_their_event() -> None:
    first = _assess("inc-0001", disparus=2, evacues=100)

    picture = _folded(first, _assess("inc-0001", evacues=150))

    assert picture["bilan"]["disparus"]["value"] == 2
    assert picture["bilan"]["disparus"]["events"] == {"inc-0001": str(first.event_id)}
    assert picture["bilan"]["evacues"]["value"] == 150


def test_a_sum_over_many_incidents_names_every_contributing_event_also_after_a_snapshot() -> None:
    assessments = [_assess(f"inc-{n:04d}", disparus=1) for n in range(100)]
    whole = _folded(*assessments)
    snapshot = orjson.loads(orjson.dumps(_folded(*assessments[:80])))

    resumed = _folded(*assessments[80:], picture=snapshot)

    expected = {f"inc-{n:04d}": str(a.event_id) for n, a in enumerate(assessments)}
    assert whole["bilan"]["disparus"]["value"] == 100
    assert whole["bilan"]["disparus"]["events"] == expected
    assert resumed == whole


# -- plans and postures --------------------------------------------------------------------------


def test_a_plan_goes_from_proposed_to_active_to_deactivated_saying_who_decided_and_when() -> None:
    proposed = _event(PlanActivationProposed)
    activated = _event(PlanActivated)
    deactivated = _event(PlanDeactivated, reason="Décrue.")

    picture = _folded(proposed)
    plan = picture["plans"]["orsec-inondation"]
    assert plan["state"] == "proposed"
    assert plan["plan_name"] == "ORSEC inondation"
    assert plan["category"] == "dispositions_specifiques"
    assert plan["proposed"]["rule"] == "inondation-extreme"
    assert plan["proposed"]["incident_ids"] == ["inc-0001"]
    assert plan["proposed"]["event_id"] == str(proposed.event_id)

    _folded(activated, picture=picture)
    plan = picture["plans"]["orsec-inondation"]
    assert plan["state"] == "active"
    assert plan["activated"]["decided_by"] == "Préfet des Alpes-Maritimes"
    assert plan["activated"]["decided_at"] == OCCURRED_AT.isoformat()
    assert plan["activated"]["event_id"] == str(activated.event_id)
    assert views.view(picture, LATER.isoformat())["active_plans"] == ["orsec-inondation"]

    _folded(deactivated, picture=picture)
    plan = picture["plans"]["orsec-inondation"]
    assert plan["state"] == "deactivated"
    assert plan["deactivated"]["decided_by"] == "Préfet des Alpes-Maritimes"
    assert plan["deactivated"]["decided_at"] == LATER.isoformat()
    assert plan["deactivated"]["reason"] == "Décrue."
    assert plan["activated"]["event_id"] == str(activated.event_id)
    assert views.view(picture, LATER.isoformat())["active_plans"] == []


def test_a_new_proposal_leaves_an_active_plan_active() -> None:
    picture = _folded(_event(PlanActivated), _event(PlanActivationProposed))

    assert picture["plans"]["orsec-inondation"]["state"] == "active"


def test_activating_a_plan_again_clears_its_deactivation() -> None:
    picture = _folded(_event(PlanActivated), _event(PlanDeactivated), _event(PlanActivated))

    assert picture["plans"]["orsec-inondation"]["state"] == "active"
    assert "deactivated" not in picture["plans"]["orsec-inondation"]


def test_the_vigipirate_posture_is_the_latest_with_who_decided_it() -> None:
    latest = _event(VigipirateChanged, posture="vigilance", scope="Alpes-Maritimes")

    picture = _folded(_event(VigipirateChanged), latest)

    assert picture["vigipirate"]["posture"] == "vigilance"
    assert picture["vigipirate"]["scope"] == "Alpes-Maritimes"
    assert picture["vigipirate"]["decided_by"] == "Premier ministre"
    assert picture["vigipirate"]["event_id"] == str(latest.event_id)


def test_vigilance_keeps_the_latest_colour_of_each_phenomenon() -> None:
    picture = _folded(
        _event(VigilanceChanged, phenomenon="pluie_inondation", colour="rouge"),
        _event(VigilanceChanged, phenomenon="orages", colour="orange"),
        _event(VigilanceChanged, phenomenon="pluie_inondation", colour="jaune"),
    )

    assert {name: v["colour"] for name, v in picture["vigilance"].items()} == {
        "pluie_inondation": "jaune",
        "orages": "orange",
    }
    assert picture["vigilance"]["orages"]["bulletin_ref"] == "Bulletin du 02/10/2020 06h00"
    assert picture["vigilance"]["orages"]["valid_until"] == LATER.isoformat()


# -- resources -----------------------------------------------------------------------------------


def test_engaging_adds_to_the_service_total_and_releasing_takes_away_down_to_removal() -> None:
    picture = _folded(_engaged("res-1", "sdis", 4, 16))
    assert picture["engaged_by_service"] == {"sdis": {"units": 4, "personnel": 16}}

    _folded(_engaged("res-2", "sdis", 2, 8), _engaged("res-3", "samu_smur", 1, 4), picture=picture)
    assert picture["engaged_by_service"] == {
        "sdis": {"units": 6, "personnel": 24},
        "samu_smur": {"units": 1, "personnel": 4},
    }

    _folded(_released("res-1", "sdis", 4, 16), picture=picture)
    assert picture["engaged_by_service"] == {
        "sdis": {"units": 2, "personnel": 8},
        "samu_smur": {"units": 1, "personnel": 4},
    }

    _folded(_released("res-2", "sdis", 2, 8), picture=picture)
    assert picture["engaged_by_service"] == {"samu_smur": {"units": 1, "personnel": 4}}
    assert picture["resources"]["res-2"]["state"] == "released"


def test_a_requested_resource_is_listed_but_not_counted_as_engaged() -> None:
    request = _event(ResourceRequested)

    picture = _folded(request)

    assert picture["resources"]["res-ccf-83"]["state"] == "requested"
    assert picture["resources"]["res-ccf-83"]["requested"]["event_id"] == str(request.event_id)
    assert picture["engaged_by_service"] == {}


def test_engaging_a_resource_again_replaces_its_share_of_its_service() -> None:
    picture = _folded(_engaged("res-1", "sdis", 4, 16), _engaged("res-1", "sdis", 6, 20))

    assert picture["engaged_by_service"] == {"sdis": {"units": 6, "personnel": 20}}


def test_a_released_resource_keeps_the_incident_and_mission_it_was_engaged_for() -> None:
    picture = _folded(_event(ResourceRequested), _event(ResourceEngaged), _event(ResourceReleased))

    resource = picture["resources"]["res-ccf-83"]
    assert resource["state"] == "released"
    assert resource["incident_id"] == "inc-0001"
    assert resource["mission"] == "Protection de Lantosque"
    assert {"requested", "engaged", "released"} <= resource.keys()
    assert picture["engaged_by_service"] == {}


# -- main courante, decisions, tasks -------------------------------------------------------------


def _entry(**changes: Any) -> Envelope:
    return _event(MainCouranteEntryRecorded, entry_id=f"mc-{uuid4().hex[:8]}", **changes)


def test_main_courante_entries_are_numbered_from_one_without_gaps() -> None:
    picture = _folded(
        _entry(), incident_reported(), _entry(), _event(DecisionTaken), _entry(text="Troisième.")
    )

    journal = picture["main_courante"]
    assert journal["count"] == 3
    assert [entry["number"] for entry in journal["latest"]] == [1, 2, 3]
    assert journal["latest"][-1]["text"] == "Troisième."
    assert journal["latest"][-1]["sender"] == "CODIS 06"


def test_only_the_latest_fifty_entries_are_kept_but_all_are_counted() -> None:
    entries = [_entry(text=f"Message {n}.") for n in range(1, LATEST_ENTRIES + 11)]

    journal = _folded(*entries)["main_courante"]

    assert LATEST_ENTRIES == 50
    assert journal["count"] == 60
    assert len(journal["latest"]) == 50
    assert [entry["number"] for entry in journal["latest"]] == list(range(11, 61))
    assert journal["latest"][0]["text"] == "Message 11."
    assert journal["latest"][-1]["event_id"] == str(entries[-1].event_id)


def test_a_follow_up_is_overdue_once_its_deadline_has_passed() -> None:
    picture = _folded(_entry(), _entry(follow_up_owner=None, follow_up_due=None))
    before = LATER - timedelta(minutes=1)
    after = LATER + timedelta(minutes=1)

    shown_before = views.view(picture, before.isoformat())["main_courante"]["latest"]
    shown_after = views.view(picture, after.astimezone(UTC).isoformat())["main_courante"]["latest"]

    assert [entry["overdue"] for entry in shown_before] == [False, False]
    assert [entry["overdue"] for entry in shown_after] == [True, False]


def test_decisions_are_kept_by_id_with_who_took_them_and_what_about() -> None:
    decision = _event(DecisionTaken, rationale="Crue en cours.")

    picture = _folded(decision)

    assert picture["decisions"]["dec-0001"]["text"] == "Fermeture des écoles de la vallée."
    assert picture["decisions"]["dec-0001"]["taken_by"] == "Directeur de cabinet"
    assert picture["decisions"]["dec-0001"]["rationale"] == "Crue en cours."
    assert picture["decisions"]["dec-0001"]["incident_ids"] == ["inc-0001"]
    assert picture["decisions"]["dec-0001"]["event_id"] == str(decision.event_id)


def test_an_open_task_is_overdue_after_its_due_time_and_not_before() -> None:
    picture = _folded(_event(TaskAssigned))
    task = picture["tasks"]["task-0001"]
    assert task["state"] == "open"
    assert task["assignee"] == "Mairie de Lantosque"

    before = views.view(picture, (LATER - timedelta(seconds=1)).isoformat())
    at_due_time = views.view(picture, LATER.isoformat())
    after = views.view(picture, (LATER + timedelta(seconds=1)).astimezone(UTC).isoformat())

    assert before["tasks"]["task-0001"]["overdue"] is False
    assert at_due_time["tasks"]["task-0001"]["overdue"] is False
    assert after["tasks"]["task-0001"]["overdue"] is True
    assert (before["open_tasks"], before["overdue_tasks"]) == (1, 0)
    assert (after["open_tasks"], after["overdue_tasks"]) == (1, 1)


def test_a_completed_task_is_never_overdue() -> None:
    completed = _event(TaskCompleted)

    picture = _folded(_event(TaskAssigned), completed)

    task = picture["tasks"]["task-0001"]
    assert task["state"] == "done"
    assert task["completed"]["outcome"] == "Centre ouvert, 40 places."
    assert task["completed"]["event_id"] == str(completed.event_id)
    shown = views.view(picture, (LATER + timedelta(days=1)).isoformat())
    assert shown["tasks"]["task-0001"]["overdue"] is False
    assert (shown["open_tasks"], shown["overdue_tasks"]) == (0, 0)


def test_a_task_without_a_due_time_is_never_overdue() -> None:
    picture = _folded(_event(TaskAssigned, due_at=None))

    shown = views.view(picture, (LATER + timedelta(days=30)).isoformat())

    assert shown["tasks"]["task-0001"]["overdue"] is False
    assert shown["open_tasks"] == 1


def test_the_view_leaves_the_picture_unchanged_and_hides_the_running_sums() -> None:
    picture = _folded(_event(TaskAssigned), _assess(disparus=1))
    before = orjson.loads(orjson.dumps(picture))

    shown = views.view(picture, LATER.isoformat())

    assert picture == before
    assert "bilan_sums" not in shown
    assert shown["shown_at"] == LATER.isoformat()
    assert "overdue" not in picture["tasks"]["task-0001"]


# -- communication and reports -------------------------------------------------------------------


def test_alerts_and_press_releases_are_kept_by_id_with_who_validated_them() -> None:
    alert = _event(PublicAlertIssued)
    release = _event(PressReleasePublished)

    picture = _folded(alert, release, _event(PublicAlertIssued, alert_id="alert-0002"))

    assert set(picture["alerts"]) == {"alert-0001", "alert-0002"}
    assert picture["alerts"]["alert-0001"]["channel"] == "fr_alert"
    assert picture["alerts"]["alert-0001"]["severity"] == "extreme"
    assert picture["alerts"]["alert-0001"]["validated_by"] == "Directeur de cabinet"
    assert picture["alerts"]["alert-0001"]["event_id"] == str(alert.event_id)
    assert picture["press_releases"]["cp-0001"]["title"] == "Point de situation de 18h00"
    assert picture["press_releases"]["cp-0001"]["event_id"] == str(release.event_id)


def test_the_situation_report_shown_is_the_one_with_the_highest_number() -> None:
    second = _event(SituationReportIssued, number=2, summary="Deuxième point.")

    picture = _folded(_event(SituationReportIssued), second, _event(SituationReportIssued))

    assert picture["sitrep"]["number"] == 2
    assert picture["sitrep"]["summary"] == "Deuxième point."
    assert picture["sitrep"]["event_id"] == str(second.event_id)


def test_rejected_inputs_are_counted() -> None:
    picture = _folded(_event(InputRejected), incident_reported(), _event(InputRejected))

    assert picture["rejected_inputs"] == 2


# -- bookkeeping ---------------------------------------------------------------------------------


def test_position_recorded_at_and_event_count_follow_the_last_folded_event() -> None:
    picture = new_picture(ALEX)

    fold(picture, _wire(incident_reported()), 7, "2020-10-02T12:07:00+00:00")
    fold(picture, _wire(_event(InputRejected)), 12, "2020-10-02T12:12:00+00:00")

    assert picture["position"] == 12
    assert picture["recorded_at"] == "2020-10-02T12:12:00+00:00"
    assert picture["events"] == 2


def test_an_event_at_a_position_already_folded_changes_nothing() -> None:
    picture = _folded(_entry(), _assess(disparus=1))
    before = orjson.loads(orjson.dumps(picture))

    fold(picture, _wire(_assess(disparus=5)), 2, _recorded_at(9))
    fold(picture, _wire(_entry()), 1, _recorded_at(9))

    assert picture == before


def test_every_fact_carries_its_event_id_and_when_it_occurred_and_was_recorded() -> None:
    picture = new_picture(ALEX)
    times: dict[str, tuple[str, str]] = {}

    for cls in PAYLOADS:
        event = _event(cls, occurred_at=OCCURRED_AT + timedelta(minutes=len(times)))
        _folded(event, picture=picture)
        times[str(event.event_id)] = (_wire(event)["occurred_at"], picture["recorded_at"])

        facts = list(_facts(picture))
        if cls is not InputRejected:
            assert str(event.event_id) in {fact["event_id"] for fact in facts}, cls.__name__
        for fact in facts:
            assert (fact["occurred_at"], fact["recorded_at"]) == times[fact["event_id"]], fact
            assert fact["actor"] == "op.dupont"


def test_every_crisis_gets_its_own_picture_from_its_first_event() -> None:
    pictures: views.Pictures = {}

    views.fold_any(pictures, _wire(incident_reported()), 1, _recorded_at(1))
    views.fold_any(pictures, _wire(incident_reported(crisis_id="roya-2020")), 2, _recorded_at(2))
    views.fold_any(pictures, _wire(_event(CrisisOpened)), 3, _recorded_at(3))

    assert set(pictures) == {ALEX, "roya-2020"}
    assert (pictures[ALEX]["events"], pictures[ALEX]["position"]) == (2, 3)
    assert (pictures["roya-2020"]["events"], pictures["roya-2020"]["position"]) == (1, 2)
    assert pictures[ALEX]["name"] == "Tempête Alex"
    assert pictures["roya-2020"]["name"] is None


def test_a_diff_lists_what_was_added_removed_and_changed_by_path() -> None:
    before = {"a": 1, "b": {"c": 2, "d": [1]}, "gone": True}
    after = {"a": 1, "b": {"c": 3, "d": [1, 2], "e": None}}

    assert views.diff(before, after) == [
        {"path": "b.c", "change": "changed", "before": 2, "after": 3},
        {"path": "b.d", "change": "changed", "before": [1], "after": [1, 2]},
        {"path": "b.e", "change": "added", "after": None},
        {"path": "gone", "change": "removed", "before": True},
    ]


# -- the storm Alex scenario ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def alex() -> list[Envelope]:
    return tempete_alex()


def _alex_pictures(events: list[Envelope]) -> list[Picture]:
    """The picture of the scenario after each of its events (positions counted from 1)."""
    picture = new_picture(events[0].crisis_id)
    after_each = []
    for position, event in enumerate(events, 1):
        fold(picture, _wire(event), position, _recorded_at(position))
        after_each.append(orjson.loads(orjson.dumps(picture)))
    return after_each


def _of(events: list[Envelope], cls: type[Any]) -> list[Any]:
    return [event for event in events if isinstance(event, cls)]


def test_storm_alex_folds_into_an_open_exercise_crisis_with_its_cod_convened(
    alex: list[Envelope],
) -> None:
    picture = _alex_pictures(alex)[-1]
    (opened,) = _of(alex, CrisisOpened)
    (convened,) = _of(alex, CodConvened)

    assert picture["name"] == opened.name
    assert picture["state"] == "open"
    assert picture["exercise"] is any(event.is_exercise for event in alex)
    assert picture["cod"]["state"] == "convened"
    assert picture["cod"]["location"] == convened.location
    assert picture["cod"]["event_id"] == str(convened.event_id)
    assert picture["events"] == picture["position"] == len(alex)


def test_storm_alex_keeps_orsec_inondation_active_as_the_prefet_decided(
    alex: list[Envelope],
) -> None:
    picture = _alex_pictures(alex)[-1]
    (activation,) = [a for a in _of(alex, PlanActivated) if a.plan_code == "orsec-inondation"]
    (proposal,) = [
        p for p in _of(alex, PlanActivationProposed) if p.plan_code == "orsec-inondation"
    ]
    active = {a.plan_code for a in _of(alex, PlanActivated)} - {
        d.plan_code for d in _of(alex, PlanDeactivated)
    }

    shown = views.view(picture, alex[-1].occurred_at.isoformat())

    assert shown["active_plans"] == sorted(active)
    assert "orsec-inondation" in shown["active_plans"]
    plan = picture["plans"]["orsec-inondation"]
    assert plan["activated"]["decided_by"] == activation.decided_by
    assert plan["activated"]["decided_at"] == activation.decided_at.isoformat()
    assert (
        plan["proposed"]["event_id"] == str(proposal.event_id) == str(activation.proposal_event_id)
    )
    assert plan["proposed"]["rule"] == proposal.rule


def test_storm_alex_ends_with_the_missing_as_counted_crisis_wide_by_sdis_06(
    alex: list[Envelope],
) -> None:
    picture = _alex_pictures(alex)[-1]
    last = [a for a in _of(alex, BilanAssessed) if a.figures.disparus is not None][-1]

    assert last.incident_id is None
    assert last.source_of_figures == "SDIS 06"
    assert picture["bilan"]["disparus"] == {
        "value": 8,
        "basis": "crisis_wide",
        "events": {"crisis": str(last.event_id)},
        "recorded_at": _recorded_at(alex.index(last) + 1),
    }
    assert last.figures.disparus == 8
    assert picture["crisis_wide_bilan"]["disparus"]["source_of_figures"] == "SDIS 06"
    for assessed in _of(alex, BilanAssessed):
        if assessed.incident_id is not None:
            figures = picture["incidents"][assessed.incident_id]["bilan"]
            assert {n: figures[n]["value"] for n in assessed.figures.assessed()} == (
                assessed.figures.assessed()
            )


def test_storm_alex_bilan_plans_and_resources_match_each_situation_report_at_its_position(
    alex: list[Envelope],
) -> None:
    after_each = _alex_pictures(alex)
    sitreps = _of(alex, SituationReportIssued)
    assert sitreps

    for sitrep in sitreps:
        picture = after_each[sitrep.as_of_position - 1]
        assert {name: f["value"] for name, f in picture["bilan"].items()} == (
            sitrep.bilan.assessed()
        ), sitrep.number
        assert views.view(picture, sitrep.occurred_at.isoformat())["active_plans"] == sorted(
            sitrep.active_plans
        )
        assert picture["engaged_by_service"] == {
            tally.service.value: {"units": tally.units, "personnel": tally.personnel}
            for tally in sitrep.resources
        }
    assert after_each[-1]["sitrep"]["number"] == max(s.number for s in sitreps)


def test_storm_alex_vigilance_went_red_for_pluie_inondation_and_ends_on_its_last_colour(
    alex: list[Envelope],
) -> None:
    after_each = _alex_pictures(alex)
    changes = [v for v in _of(alex, VigilanceChanged) if v.phenomenon == "pluie_inondation"]

    colours = [
        p["vigilance"]["pluie_inondation"]["colour"]
        for p in after_each
        if "pluie_inondation" in p["vigilance"]
    ]

    assert "rouge" in colours
    assert "rouge" in {change.colour for change in changes}
    assert colours[-1] == changes[-1].colour
    assert after_each[-1]["vigilance"]["pluie_inondation"]["event_id"] == str(changes[-1].event_id)
    assert set(after_each[-1]["vigilance"]) == {v.phenomenon for v in _of(alex, VigilanceChanged)}


def test_storm_alex_keeps_every_incident_decision_task_and_message_of_the_scenario(
    alex: list[Envelope],
) -> None:
    picture = _alex_pictures(alex)[-1]
    entries = _of(alex, MainCouranteEntryRecorded)
    assigned = {t.task_id for t in _of(alex, TaskAssigned)}
    completed = {t.task_id for t in _of(alex, TaskCompleted)}

    shown = views.view(picture, alex[-1].occurred_at.isoformat())

    assert set(picture["incidents"]) == {i.incident_id for i in _of(alex, IncidentReported)}
    assert set(picture["decisions"]) == {d.decision_id for d in _of(alex, DecisionTaken)}
    assert set(picture["alerts"]) == {a.alert_id for a in _of(alex, PublicAlertIssued)}
    assert set(picture["press_releases"]) == {
        r.release_id for r in _of(alex, PressReleasePublished)
    }
    assert picture["main_courante"]["count"] == len(entries)
    assert [e["entry_id"] for e in picture["main_courante"]["latest"]] == [
        e.entry_id for e in entries[-LATEST_ENTRIES:]
    ]
    assert [e["number"] for e in picture["main_courante"]["latest"]] == list(
        range(1, len(entries) + 1)
    )[-LATEST_ENTRIES:]
    assert shown["open_tasks"] == len(assigned - completed)
    assert {t for t, task in picture["tasks"].items() if task["state"] == "done"} == completed


def test_closing_a_merged_duplicate_keeps_it_merged_and_its_figures_out_of_the_sums() -> None:
    picture = _folded(
        _assess("inc-0004", disparus=3),
        _event(IncidentMerged, incident_id="inc-0001", merged_ids=["inc-0004"]),
        _event(IncidentClosed, incident_id="inc-0004"),
    )
    assert picture["incidents"]["inc-0004"]["state"] == "merged"
    assert picture["incidents"]["inc-0004"]["closed"] is not None
    assert picture["bilan"]["disparus"]["value"] == 0
