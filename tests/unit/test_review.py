"""The after-action review (RETEX): delays, series, gaps, and its HTML and JSON renderings."""

from __future__ import annotations

import re
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CrisisOpened,
    DecisionTaken,
    IncidentMerged,
    MainCouranteEntryRecorded,
)
from schemas.wire import encode
from services.demo.scenario import tempete_alex
from services.picture.fold import fold, new_picture
from services.review import Review, review, to_html, to_json_bytes
from services.review.render import duration
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.unit

ALEX = "demo-alex-06"
Entry = tuple[int, str, dict[str, Any]]


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _entries(events: list[Envelope]) -> list[Entry]:
    """Log records of `events`: positions from 1, recorded a minute after they were received."""
    return [
        (position, _utc_text(event.received_at + timedelta(minutes=1)), orjson.loads(encode(event)))
        for position, event in enumerate(events, start=1)
    ]


def _alex(status: Status = Status.EXERCISE) -> tuple[list[Entry], Review]:
    entries = _entries(tempete_alex(ALEX, status=status))
    return entries, review(ALEX, entries)


def _first(entries: list[Entry], kind: str, **match: Any) -> dict[str, Any]:
    return next(
        e for _, _, e in entries if e["type"] == kind and all(e[k] == v for k, v in match.items())
    )


def _event_ids(value: Any) -> set[str]:
    """Every event id the review's JSON names, wherever it is."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"event_id", "max_event_id"} and item is not None:
                found.add(item)
            elif key in {"event_ids", "sources"}:
                found.update(item)
            else:
                found |= _event_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= _event_ids(item)
    return found


# -- delays --------------------------------------------------------------------------------------


def test_delays_are_measured_from_the_first_report() -> None:
    entries, result = _alex()
    delays = {d.key: d for d in result.delays}
    report = _first(entries, "incident.reported")
    # The first report: occurred 08:45, received a minute later, recorded at 08:47.
    assert delays["first_report"].recorded_at == "2020-10-02T06:47:00Z"
    assert delays["first_report"].minutes == 0.0
    assert delays["first_report"].event_ids == (report["event_id"],)
    # The COD sat before it: convened 07:30, recorded 07:32, 75 minutes before.
    cod = _first(entries, "cod.convened")
    assert delays["cod_convened"].minutes == -75.0
    assert delays["cod_convened"].event_ids == (report["event_id"], cod["event_id"])
    # ORSEC inondation: proposed 15:50 (recorded 15:52), activated 16:30 (received 16:36, 16:37).
    proposal = _first(entries, "plan.activation_proposed", plan_code="orsec-inondation")
    activation = _first(entries, "plan.activated", plan_code="orsec-inondation")
    assert delays["plan_proposed:orsec-inondation"].minutes == 7 * 60 + 5
    assert delays["plan_activated:orsec-inondation"].minutes == 7 * 60 + 50
    assert delays["plan_proposed:orsec-inondation"].event_ids[1] == proposal["event_id"]
    assert delays["plan_activated:orsec-inondation"].event_ids[1] == activation["event_id"]
    # First alert at 11:45 (recorded 11:47), first report of the situation at 22:30 (22:32).
    assert delays["first_public_alert"].minutes == 3 * 60
    assert delays["first_sitrep"].minutes == 13 * 60 + 45


def test_the_delays_come_in_the_order_of_the_response() -> None:
    _, result = _alex()
    assert [d.key for d in result.delays] == [
        "first_report",
        "cod_convened",
        "plan_proposed:orsec-inondation",
        "plan_activated:orsec-inondation",
        "plan_proposed:orsec-soutien-populations",
        "plan_activated:orsec-soutien-populations",
        "first_public_alert",
        "first_sitrep",
    ]


def test_a_crisis_with_no_incident_gives_no_delays_and_renders() -> None:
    events = [
        sample_event(CrisisOpened, event_id=uuid4()),
        sample_event(CodConvened, event_id=uuid4()),
        sample_event(DecisionTaken, event_id=uuid4()),
    ]
    result = review("alex-06-2020", _entries(events))
    assert all(d.minutes is None for d in result.delays)
    cod = next(d for d in result.delays if d.key == "cod_convened")
    assert cod.recorded_at is not None
    assert cod.event_ids == (str(events[1].event_id),)
    assert next(d for d in result.delays if d.key == "first_sitrep").recorded_at is None
    assert result.known_vs_happened.incidents == ()
    assert result.known_vs_happened.median_minutes is None
    assert result.decisions[0].minutes_after_first_report is None
    assert "Aucun incident signalé." in to_html(result)
    assert orjson.loads(to_json_bytes(result)) == result.to_json()


def test_an_empty_log_gives_an_empty_review_that_still_renders() -> None:
    result = review("vide", [])
    assert result.crisis.opened is None
    assert result.bilan == ()
    assert result.resources == ()
    assert "<svg" not in to_html(result)


# -- series --------------------------------------------------------------------------------------


def test_bilan_series_end_at_the_pictures_final_values() -> None:
    entries, result = _alex()
    picture = new_picture(ALEX)
    for position, recorded_at, event in entries:
        fold(picture, event, position, recorded_at)
    finals = {s.name: s.points[-1].value for s in result.bilan}
    assert finals == {name: figure["value"] for name, figure in picture["bilan"].items()}
    assert all(s.final_value == s.points[-1].value for s in result.bilan)
    disparus = next(s for s in result.bilan if s.name == "disparus")
    assert [p.value for p in disparus.points] == [2, 8]


def test_resource_series_end_at_the_engaged_totals() -> None:
    entries, result = _alex()
    picture = new_picture(ALEX)
    for position, recorded_at, event in entries:
        fold(picture, event, position, recorded_at)
    finals = {s.service: (s.points[-1].units, s.points[-1].personnel) for s in result.resources}
    engaged = picture["engaged_by_service"]
    assert finals == {name: (t["units"], t["personnel"]) for name, t in engaged.items()}
    assert result.resources[0].service == "sdis"


def test_every_figure_names_events_that_exist_in_the_input() -> None:
    entries, result = _alex()
    known = {e["event_id"] for _, _, e in entries}
    position_of = {e["event_id"]: position for position, _, e in entries}
    named = _event_ids(result.to_json())
    assert named
    assert named <= known
    points = [p for s in result.bilan for p in s.points] + [
        p for s in result.resources for p in s.points
    ]
    assert all(position_of[p.event_id] == p.position for p in points)


def test_a_merge_that_lowers_a_figure_is_a_point_of_its_series() -> None:
    first, second = incident_reported(incident_id="inc-a"), incident_reported(incident_id="inc-b")
    merge = sample_event(
        IncidentMerged, event_id=uuid4(), incident_id="inc-a", merged_ids=["inc-b"]
    )
    events = [
        first,
        second,
        *(
            sample_event(BilanAssessed, event_id=uuid4(), incident_id=i, figures={"impliques": 3})
            for i in ("inc-a", "inc-b")
        ),
        merge,
    ]
    result = review("alex-06-2020", _entries(events))
    (impliques,) = result.bilan
    assert [p.value for p in impliques.points] == [3, 6, 3]
    assert impliques.points[-1].event_id == str(merge.event_id)


# -- known versus happened -----------------------------------------------------------------------


def test_known_versus_happened_gaps_are_recorded_minus_occurred() -> None:
    entries, result = _alex()
    reports = [(rec, e) for _, rec, e in entries if e["type"] == "incident.reported"]
    expected = [
        (datetime.fromisoformat(rec) - datetime.fromisoformat(e["occurred_at"])).total_seconds()
        / 60
        for rec, e in reports
    ]
    gaps = result.known_vs_happened.incidents
    assert [g.incident_id for g in gaps] == [e["incident_id"] for _, e in reports]
    assert [g.gap_minutes for g in gaps] == expected
    assert result.known_vs_happened.median_minutes == statistics.median(expected)
    assert result.known_vs_happened.max_minutes == max(expected)
    largest = gaps[expected.index(max(expected))]
    assert result.known_vs_happened.max_event_id == largest.event_id


# -- timeline and decisions ----------------------------------------------------------------------


def test_the_timeline_numbers_the_main_courante_and_keeps_the_key_events() -> None:
    _, result = _alex()
    assert [line.number for line in result.timeline.main_courante] == list(range(1, 11))
    kinds = [k.type for k in result.timeline.key_events]
    assert kinds[0] == "crisis.opened"
    for kind in ("cod.convened", "plan.activated", "vigilance.changed", "sitrep.issued"):
        assert kind in kinds
    assert "task.assigned" not in kinds
    positions = [k.position for k in result.timeline.key_events]
    assert positions == sorted(positions)


def test_decisions_say_who_took_them_and_who_recorded_them() -> None:
    _, result = _alex()
    first = result.decisions[0]
    assert (first.decision_id, first.taken_by, first.actor) == (
        "dec-0001",
        "Préfet des Alpes-Maritimes",
        "dircab.martin",
    )
    # Schools closed the day before the first report.
    assert first.minutes_after_first_report is not None
    assert first.minutes_after_first_report < 0


def test_a_position_already_folded_is_left_out() -> None:
    entries, result = _alex()
    again = review(ALEX, [*entries[:10], entries[3], *entries[10:]])
    assert again == result


# -- renderings ----------------------------------------------------------------------------------


def test_the_html_is_deterministic_and_carries_its_charts() -> None:
    entries, result = _alex()
    page = to_html(result)
    assert page == to_html(review(ALEX, entries))
    assert page.startswith("<!DOCTYPE html>")
    for heading in (
        "Retour d&#x27;expérience",
        "Chronologie",
        "Délais clés",
        "Bilan dans le temps",
        "Moyens engagés",
        "Décisions",
        "Connu / survenu",
    ):
        assert heading in page
    # One chart per bilan figure, two of resources, one of delays.
    assert page.count("<svg") == len(result.bilan) + 2 + 1
    assert page.count('class="step"') == len(result.bilan) + 2 * len(result.resources)
    assert "EXERCICE" in page


def test_the_html_is_self_contained() -> None:
    _, result = _alex()
    page = to_html(result)
    assert not re.search(r"<script|<link|<img|src=|href=|@import|url\(", page)


def test_an_actual_crisis_has_no_exercise_banner() -> None:
    _, result = _alex(Status.ACTUAL)
    assert not result.crisis.exercise
    assert "EXERCICE" not in to_html(result)


def test_a_script_in_a_main_courante_text_is_escaped() -> None:
    events = tempete_alex(ALEX)
    hostile = "<script>alert('RETEX')</script> & \"guillemets\""
    index = next(i for i, e in enumerate(events) if isinstance(e, MainCouranteEntryRecorded))
    events[index] = events[index].model_copy(update={"text": hostile})
    page = to_html(review(ALEX, _entries(events)))
    assert "<script" not in page
    assert (
        "&lt;script&gt;alert(&#x27;RETEX&#x27;)&lt;/script&gt; &amp; &quot;guillemets&quot;" in page
    )


def test_the_json_is_deterministic_with_sorted_keys() -> None:
    entries, result = _alex()
    data = to_json_bytes(result)
    assert data == to_json_bytes(review(ALEX, entries))
    assert orjson.loads(data) == result.to_json()
    top_keys = re.findall(rb'^  "(\w+)":', data, flags=re.MULTILINE)
    assert top_keys == sorted(top_keys)
    assert b'\n  "crisis": {\n' in data


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (None, "—"),
        (0.0, "0 min"),
        (45.4, "45 min"),
        (470.0, "7 h 50 min"),
        (-75.0, "\u22121 h 15 min"),
        (1565.0, "1 j 02 h 05 min"),
    ],
)
def test_durations_read_in_hours_and_minutes(minutes: float | None, shown: str) -> None:
    assert duration(minutes) == shown
