"""The sample crisis: storm Alex in the Alpes-Maritimes, as the cell would have recorded it."""

from __future__ import annotations

from itertools import pairwise

import pytest

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CrisisOpened,
    IncidentReported,
    IncidentUpdated,
    MainCouranteEntryRecorded,
    PlanActivated,
    PlanActivationProposed,
    ResourceEngaged,
)
from schemas.wire import decode, encode
from services.demo.scenario import tempete_alex

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def events() -> list[Envelope]:
    return tempete_alex()


def test_the_scenario_is_deterministic() -> None:
    assert tempete_alex() == tempete_alex()
    assert tempete_alex("other-crisis") == tempete_alex("other-crisis")


def test_event_ids_are_unique_and_depend_on_the_crisis_id(events: list[Envelope]) -> None:
    ids = [event.event_id for event in events]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {event.event_id for event in tempete_alex("other-crisis")}


def test_the_scenario_opens_the_crisis_first_and_only_once(events: list[Envelope]) -> None:
    assert isinstance(events[0], CrisisOpened)
    assert [event for event in events if isinstance(event, CrisisOpened)] == [events[0]]


def test_every_event_round_trips_through_the_wire_to_an_equal_event(
    events: list[Envelope],
) -> None:
    for event in events:
        decoded = decode(encode(event))
        assert type(decoded) is type(event)
        assert decoded == event


def test_received_at_never_decreases_and_never_precedes_occurred_at(
    events: list[Envelope],
) -> None:
    for before, after in pairwise(events):
        assert before.received_at <= after.received_at, after
    for event in events:
        assert event.occurred_at <= event.received_at, event


@pytest.mark.parametrize("status", [Status.EXERCISE, Status.ACTUAL, Status.TEST])
def test_every_event_carries_the_given_status_and_crisis_id(status: Status) -> None:
    events = tempete_alex("alex-06", status=status)
    assert {event.status for event in events} == {status}
    assert {event.crisis_id for event in events} == {"alex-06"}


def test_the_demo_is_an_exercise_unless_told_otherwise(events: list[Envelope]) -> None:
    assert all(event.is_exercise for event in events)


def test_every_incident_referenced_was_reported_earlier(events: list[Envelope]) -> None:
    reported: set[str] = set()
    for event in events:
        if isinstance(event, IncidentReported):
            assert event.incident_id not in reported, f"{event.incident_id} reported twice"
            reported.add(event.incident_id)
        elif (
            isinstance(event, IncidentUpdated | BilanAssessed | ResourceEngaged)
            and event.incident_id is not None
        ):
            assert event.incident_id in reported, event


def test_every_plan_activated_follows_its_proposal(events: list[Envelope]) -> None:
    proposals: dict[object, PlanActivationProposed] = {}
    activations = 0
    for event in events:
        if isinstance(event, PlanActivationProposed):
            proposals[event.event_id] = event
        elif isinstance(event, PlanActivated):
            activations += 1
            proposal = proposals[event.proposal_event_id]
            assert proposal.plan_code == event.plan_code
            assert event.causation_id == proposal.event_id
            assert event.decided_at >= proposal.occurred_at
    assert activations == 2


def test_every_cause_is_an_earlier_event(events: list[Envelope]) -> None:
    seen: set[object] = set()
    for event in events:
        for cause in (event.causation_id, event.correlation_id):
            assert cause is None or cause in seen, event
        seen.add(event.event_id)


def test_main_courante_entries_are_numbered_without_gaps(events: list[Envelope]) -> None:
    entry_ids = [event.entry_id for event in events if isinstance(event, MainCouranteEntryRecorded)]
    assert entry_ids == [f"mc-{n:04d}" for n in range(1, len(entry_ids) + 1)]


def test_missing_persons_go_from_two_to_eight_as_different_actors_count_them(
    events: list[Envelope],
) -> None:
    missing = [
        (event.source_of_figures, event.figures.disparus)
        for event in events
        if isinstance(event, BilanAssessed) and event.figures.disparus is not None
    ]
    assert missing == [("Préfecture des Alpes-Maritimes", 2), ("SDIS 06", 8)]


async def test_the_demo_alerts_are_taken_in_by_the_intake_into_the_open_exercise_crisis() -> None:
    from services.demo.alerts import FEED, demo_alerts  # noqa: PLC0415
    from services.intake.core import Intake  # noqa: PLC0415
    from services.intake.correlation import CorrelationIndex  # noqa: PLC0415

    index = CorrelationIndex()
    index.observe({"type": "crisis.opened", "crisis_id": "demo-alex", "status": "Exercise"})
    intake = Intake(index)
    events = []
    for name, raw in demo_alerts():
        for outcome in await intake.take(raw, name=name, feed=FEED):
            assert outcome.accepted, outcome.error
            assert outcome.warnings == []
            for keys, ref in outcome.learnt:
                index.remember(keys, ref)
            events += outcome.events
    assert [e.type for e in events] == [
        "incident.reported",
        "incident.reported",
        "incident.updated",
    ]
    assert {e.crisis_id for e in events} == {"demo-alex"}
    assert all(e.is_exercise for e in events)
    assert events[2].incident_id == events[0].incident_id  # type: ignore[attr-defined]
