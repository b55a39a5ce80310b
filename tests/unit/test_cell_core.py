"""The cell's acts: who may do what, what each act gives, and every refusal (nothing published)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from schemas.wire import encode
from services.cell.commands import Command
from services.cell.core import Refused, allowed, decide
from services.cell.people import Person, Role
from services.picture.fold import Picture, fold, new_picture

pytestmark = pytest.mark.unit

T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)
DIRCAB = Person("dircab", Role.DIRECTOR, "Directeur de cabinet")
OPERATOR = Person("op.dupont", Role.OPERATOR, "Claire Dupont")
OBSERVER = Person("obs.ars", Role.OBSERVER, "ARS")
FEED = Person("feed:sdis06", Role.FEED)
COMMANDS: TypeAdapter[Any] = TypeAdapter(Command)
CRISIS = "crue-06"
WHERE = {"description": "Saint-Martin-Vésubie", "insee_codes": ["06127"]}


class Cell:
    """Decides acts and folds what they give, as the service does."""

    def __init__(self) -> None:
        self.pictures: dict[str, Picture] = {}
        self.position = 0
        self.now = T0

    def act(self, person: Person, **command: Any) -> list[Any]:
        command.setdefault("crisis_id", CRISIS)
        events = decide(COMMANDS.validate_python(command), person, self.pictures, self.now)
        for event in events:
            self.position += 1
            picture = self.pictures.setdefault(event.crisis_id, new_picture(event.crisis_id))
            fold(picture, orjson.loads(encode(event)), self.position, self.now.isoformat())
        self.now += timedelta(minutes=5)
        return events

    def refused(self, person: Person, **command: Any) -> str:
        before = (self.position, orjson.dumps(self.pictures))
        with pytest.raises(Refused) as refusal:
            self.act(person, **command)
        assert (self.position, orjson.dumps(self.pictures)) == before
        return str(refusal.value)

    @property
    def picture(self) -> Picture:
        return self.pictures[CRISIS]


@pytest.fixture
def cell() -> Cell:
    opened = Cell()
    opened.act(DIRCAB, act="open_crisis", name="Crues de la Vésubie", departement="06")
    return opened


def _report(cell: Cell, person: Person = OPERATOR, **extra: Any) -> str:
    [event] = cell.act(
        person,
        act="report_incident",
        kind="inondation",
        severity="severe",
        title="Crue de la Vésubie",
        location=WHERE,
        **extra,
    )
    return str(event.incident_id)


def test_opening_a_crisis_takes_a_director_and_gives_crisis_opened_with_the_actor() -> None:
    cell = Cell()
    assert "needs the role director" in cell.refused(
        OPERATOR, act="open_crisis", name="Crue", departement="06"
    )
    [event] = cell.act(DIRCAB, act="open_crisis", name="Crue", departement="06", exercise=True)
    assert event.type == "crisis.opened"
    assert event.actor == "dircab"
    assert event.is_exercise
    assert cell.picture["exercise"]


def test_a_crisis_cannot_be_opened_twice_nor_the_standing_watch_opened_or_closed(
    cell: Cell,
) -> None:
    assert "already exists" in cell.refused(
        DIRCAB, act="open_crisis", name="Encore", departement="06"
    )
    assert "always open" in cell.refused(
        DIRCAB, act="open_crisis", crisis_id="veille", name="Veille", departement="06"
    )
    assert "never closed" in cell.refused(DIRCAB, act="close_crisis", crisis_id="veille")


def test_acts_on_a_crisis_that_is_not_open_are_refused(cell: Cell) -> None:
    assert "not open" in cell.refused(
        OPERATOR,
        act="record_entry",
        crisis_id="autre",
        direction="received",
        sender="CODIS",
        text="x",
    )
    cell.act(DIRCAB, act="close_crisis", summary="Fin")
    assert "is closed" in cell.refused(
        OPERATOR, act="record_entry", direction="received", sender="CODIS", text="x"
    )


def test_an_observer_can_do_nothing(cell: Cell) -> None:
    for command in (
        {"act": "record_entry", "direction": "received", "sender": "CODIS", "text": "x"},
        {
            "act": "report_incident",
            "kind": "feu",
            "severity": "minor",
            "title": "t",
            "location": WHERE,
        },
        {"act": "draft_sitrep"},
    ):
        assert "observer" in cell.refused(OBSERVER, **command)


def test_the_cod_is_convened_by_the_director_and_stood_down_once(cell: Cell) -> None:
    assert "needs the role director" in cell.refused(
        OPERATOR, act="convene_cod", location="Préfecture"
    )
    [event] = cell.act(
        DIRCAB,
        act="convene_cod",
        location="Préfecture, salle COD",
        services_present=["SDIS 06", "DDSP"],
    )
    assert event.convened_by == "Directeur de cabinet"
    assert "already convened" in cell.refused(DIRCAB, act="convene_cod", location="ici")
    cell.act(DIRCAB, act="stand_down_cod")
    assert "not convened" in cell.refused(DIRCAB, act="stand_down_cod")


def test_incidents_are_numbered_updated_and_closed_and_a_closed_one_refuses_updates(
    cell: Cell,
) -> None:
    first, second = _report(cell), _report(cell, FEED)
    assert (first, second) == ("inc-0001", "inc-0002")
    assert cell.picture["incidents"][first]["sources"] == ["Claire Dupont"]
    assert "must change something" in cell.refused(
        OPERATOR, act="update_incident", incident_id=first
    )
    cell.act(OPERATOR, act="update_incident", incident_id=first, severity="extreme")
    assert cell.picture["incidents"][first]["severity"] == "extreme"
    assert "needs the role" in cell.refused(FEED, act="close_incident", incident_id=first)
    cell.act(OPERATOR, act="close_incident", incident_id=first, reason="Décrue")
    assert "is closed" in cell.refused(OPERATOR, act="update_incident", incident_id=first, note="x")
    assert "no incident inc-0009" in cell.refused(
        OPERATOR, act="close_incident", incident_id="inc-0009"
    )


def test_the_bilan_is_given_with_its_source_for_an_incident_or_the_crisis(cell: Cell) -> None:
    incident = _report(cell)
    cell.act(
        OPERATOR,
        act="assess_bilan",
        incident_id=incident,
        figures={"urgences_absolues": 3, "disparus": 8},
        source_of_figures="SDIS 06",
    )
    assert cell.picture["bilan"]["disparus"]["value"] == 8
    assert "at least one figure" in cell.refused(
        OPERATOR, act="assess_bilan", figures={}, source_of_figures="SAMU"
    )


def test_only_the_director_activates_and_deactivates_plans(cell: Cell) -> None:
    cell.act(
        OPERATOR,
        act="propose_plan",
        plan_code="orsec-inondation",
        plan_name="ORSEC inondation",
        category="dispositions_specifiques",
        reason="Crue",
    )
    assert "needs the role director" in cell.refused(
        OPERATOR, act="activate_plan", plan_code="orsec-inondation"
    )
    [activated] = cell.act(DIRCAB, act="activate_plan", plan_code="orsec-inondation")
    proposal = cell.picture["plans"]["orsec-inondation"]["proposed"]
    assert str(activated.proposal_event_id) == proposal["event_id"]
    assert activated.decided_by == "Directeur de cabinet"
    assert "already active" in cell.refused(
        DIRCAB, act="activate_plan", plan_code="orsec-inondation"
    )
    assert "already active" in cell.refused(
        OPERATOR,
        act="propose_plan",
        plan_code="orsec-inondation",
        plan_name="x",
        category="dispositions_specifiques",
        reason="y",
    )
    assert "was not proposed" in cell.refused(DIRCAB, act="activate_plan", plan_code="novi")
    cell.act(
        DIRCAB,
        act="activate_plan",
        plan_code="novi",
        plan_name="ORSEC NOVI",
        category="dispositions_generales",
    )
    cell.act(DIRCAB, act="deactivate_plan", plan_code="novi", reason="Plus de victimes")
    assert "not active" in cell.refused(DIRCAB, act="deactivate_plan", plan_code="novi")


def test_main_courante_entries_decisions_and_tasks_follow_their_rules(cell: Cell) -> None:
    [entry] = cell.act(
        OPERATOR,
        act="record_entry",
        direction="received",
        sender="CODIS 06",
        text="Pont emporté",
        follow_up_owner="Cellule moyens",
        follow_up_due="2020-10-02T18:00:00+02:00",
    )
    assert entry.entry_id == "mc-0001"
    assert "needs the role director" in cell.refused(OPERATOR, act="take_decision", text="x")
    [decision] = cell.act(DIRCAB, act="take_decision", text="Fermer les écoles")
    assert decision.taken_by == "Directeur de cabinet"
    assert "no decision dec-0009" in cell.refused(
        OPERATOR, act="assign_task", title="t", assignee="a", decision_id="dec-0009"
    )
    [task] = cell.act(
        OPERATOR,
        act="assign_task",
        title="Ouvrir un centre d'hébergement",
        assignee="Mairie",
        decision_id=decision.decision_id,
    )
    cell.act(OPERATOR, act="complete_task", task_id=task.task_id, outcome="Ouvert")
    assert "already done" in cell.refused(OPERATOR, act="complete_task", task_id=task.task_id)
    assert "no task" in cell.refused(OPERATOR, act="complete_task", task_id="task-0042")


def test_a_sitrep_is_drafted_from_the_picture_and_issued_unchanged_by_the_director(
    cell: Cell,
) -> None:
    incident = _report(cell)
    cell.act(
        OPERATOR,
        act="assess_bilan",
        incident_id=incident,
        figures={"decedes": 2},
        source_of_figures="SDIS 06",
    )
    [draft] = cell.act(OPERATOR, act="draft_sitrep", outlook="Décrue dans la nuit")
    assert draft.number == 1
    assert draft.bilan.decedes == 2
    assert draft.as_of_position == cell.position - 1  # the picture just before the draft
    _report(cell)  # later events do not change the drafted report
    assert "needs the role director" in cell.refused(OPERATOR, act="issue_sitrep", number=1)
    assert "no draft" in cell.refused(DIRCAB, act="issue_sitrep", number=2)
    [issued] = cell.act(DIRCAB, act="issue_sitrep", number=1)
    assert issued.as_of_position == draft.as_of_position
    assert issued.bilan == draft.bilan
    assert issued.validated_by == "Directeur de cabinet"
    assert "already issued" in cell.refused(DIRCAB, act="issue_sitrep", number=1)
    [second] = cell.act(OPERATOR, act="draft_sitrep")
    assert second.number == 2


def test_a_public_alert_is_drafted_then_issued_by_the_director_with_its_cap_identifier(
    cell: Cell,
) -> None:
    [draft] = cell.act(
        OPERATOR,
        act="draft_alert",
        headline="Alerte crue",
        risk="Crue violente",
        issuing_authority="Préfet des Alpes-Maritimes",
        area=WHERE,
        instructions="Montez dans les étages",
        severity="extreme",
    )
    assert draft.alert_id == "alert-0001"
    assert "needs the role director" in cell.refused(
        OPERATOR, act="issue_alert", alert_id="alert-0001"
    )
    [issued] = cell.act(DIRCAB, act="issue_alert", alert_id="alert-0001")
    assert issued.cap_identifier == "FR-06-crue-06-alert-0001"
    assert issued.validated_by == "Directeur de cabinet"
    assert "already issued" in cell.refused(DIRCAB, act="issue_alert", alert_id="alert-0001")
    assert "no draft alert" in cell.refused(DIRCAB, act="issue_alert", alert_id="alert-0002")
    assert "needs the role director" in cell.refused(
        OPERATOR, act="publish_press_release", title="CP", body="Texte"
    )


def test_an_expired_draft_alert_is_not_issued(cell: Cell) -> None:
    cell.act(
        OPERATOR,
        act="draft_alert",
        headline="Alerte",
        risk="Crue",
        issuing_authority="Préfet",
        area=WHERE,
        instructions="Abritez-vous",
        severity="severe",
        expires_at=(T0 + timedelta(minutes=6)).isoformat(),
    )
    cell.now += timedelta(hours=1)
    assert "expired" in cell.refused(DIRCAB, act="issue_alert", alert_id="alert-0001")


def test_events_of_an_exercise_crisis_are_marked_exercise() -> None:
    cell = Cell()
    cell.act(DIRCAB, act="open_crisis", name="Exercice", departement="06", exercise=True)
    [event] = cell.act(
        OPERATOR, act="record_entry", direction="internal", sender="COD", text="Début de l'exercice"
    )
    assert event.is_exercise


@pytest.mark.parametrize(
    ("act", "roles"),
    [
        ("open_crisis", {Role.DIRECTOR}),
        ("activate_plan", {Role.DIRECTOR}),
        ("issue_sitrep", {Role.DIRECTOR}),
        ("issue_alert", {Role.DIRECTOR}),
        ("report_incident", {Role.OPERATOR, Role.DIRECTOR, Role.FEED}),
        ("record_entry", {Role.OPERATOR, Role.DIRECTOR}),
        ("draft_sitrep", {Role.OPERATOR, Role.DIRECTOR}),
    ],
)
def test_the_roles_of_each_act(act: str, roles: set[Role]) -> None:
    assert {role for role in Role if allowed(act, role)} == roles


def test_a_follow_up_is_done_once_and_stops_being_overdue(cell: Cell) -> None:
    from services.picture.views import view  # noqa: PLC0415

    [entry] = cell.act(
        OPERATOR,
        act="record_entry",
        direction="received",
        sender="Mairie de Breil",
        text="Demande de groupe électrogène",
        follow_up_owner="Cellule moyens",
        follow_up_due="2020-10-02T13:00:00+00:00",
    )
    late = "2020-10-02T14:00:00+00:00"
    assert view(cell.picture, late)["overdue_follow_ups"] == 1
    assert "no open follow-up" in cell.refused(OPERATOR, act="close_follow_up", entry_id="mc-0099")
    cell.act(OPERATOR, act="close_follow_up", entry_id=entry.entry_id, outcome="Livré")
    shown = view(cell.picture, late)
    assert shown["overdue_follow_ups"] == 0
    assert entry.entry_id not in shown["follow_ups"]
    assert shown["follow_ups_done"] == 1
    assert not shown["main_courante"]["latest"][0]["overdue"]
    assert "no open follow-up" in cell.refused(
        OPERATOR, act="close_follow_up", entry_id=entry.entry_id
    )
