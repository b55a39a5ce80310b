"""Properties of the picture fold over random valid sequences of events of a few crises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CodStoodDown,
    CrisisClosed,
    CrisisOpened,
    DecisionTaken,
    FollowUpDone,
    IncidentClosed,
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
from schemas.values import (
    Service,
    Severity,
    VigilanceColour,
    VigilancePhenomenon,
    VigipiratePosture,
)
from schemas.wire import encode
from services.picture import views
from services.picture.fold import BILAN_FIGURES, LATEST_ENTRIES, NOT_COUNTED, fold_run, new_picture
from services.picture.snapshots import counted_entry, decode_snapshot, encode_snapshot
from tests.unit.samples import OCCURRED_AT, sample_event

pytestmark = pytest.mark.unit

T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)

# Small pools, so that events of a sequence keep referring to the same things.
CRISES = ("crisis-a", "crisis-b", "crisis-c")
INCIDENTS = ("inc-1", "inc-2", "inc-3", "inc-4")
RESOURCES = ("res-1", "res-2", "res-3")
PLANS = ("plan-a", "plan-b")
TASKS = ("task-1", "task-2", "task-3")
DECISIONS = ("dec-1", "dec-2")
ALERTS = ("alert-1", "alert-2")
RELEASES = ("cp-1", "cp-2")
SOURCES = ("CODIS 06", "Vigicrues", "Mairie")

Delivery = tuple[dict[str, Any], int, str]

_incident = st.sampled_from(INCIDENTS)
_sources = st.lists(st.sampled_from(SOURCES), max_size=2, unique=True)
_resource = {
    "resource_id": st.sampled_from(RESOURCES),
    "service": st.sampled_from(list(Service)),
    "units": st.integers(1, 5),
    "personnel": st.integers(0, 20),
    "incident_id": st.none() | _incident,
}


@st.composite
def _merge(draw: st.DrawFn) -> dict[str, Any]:
    kept = draw(_incident)
    others = [i for i in INCIDENTS if i != kept]
    merged = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    return {"incident_id": kept, "merged_ids": merged}


# What varies in each event type; the rest comes from the valid sample of tests.unit.samples.
PAYLOADS: dict[type[Envelope], st.SearchStrategy[dict[str, Any]]] = {
    CrisisOpened: st.fixed_dictionaries({"name": st.sampled_from(["Alex", "Roya"])}),
    CrisisClosed: st.just({}),
    CodConvened: st.fixed_dictionaries({"services_present": _sources}),
    CodStoodDown: st.just({}),
    IncidentReported: st.fixed_dictionaries(
        {"incident_id": _incident, "severity": st.sampled_from(list(Severity)), "sources": _sources}
    ),
    IncidentUpdated: st.fixed_dictionaries(
        {
            "incident_id": _incident,
            "severity": st.none() | st.sampled_from(list(Severity)),
            "sources": _sources,
        }
    ),
    IncidentMerged: _merge(),
    IncidentClosed: st.fixed_dictionaries({"incident_id": _incident}),
    BilanAssessed: st.fixed_dictionaries(
        {
            "incident_id": st.none() | _incident | _incident,
            "figures": st.dictionaries(
                st.sampled_from(BILAN_FIGURES[:4]), st.integers(0, 30), min_size=1, max_size=3
            ),
            "source_of_figures": st.sampled_from(["SDIS 06", "SAMU 06"]),
        }
    ),
    PlanActivationProposed: st.fixed_dictionaries({"plan_code": st.sampled_from(PLANS)}),
    PlanActivated: st.fixed_dictionaries({"plan_code": st.sampled_from(PLANS)}),
    PlanDeactivated: st.fixed_dictionaries({"plan_code": st.sampled_from(PLANS)}),
    VigipirateChanged: st.fixed_dictionaries({"posture": st.sampled_from(list(VigipiratePosture))}),
    VigilanceChanged: st.fixed_dictionaries(
        {
            "phenomenon": st.sampled_from(list(VigilancePhenomenon)[:3]),
            "colour": st.sampled_from(list(VigilanceColour)),
        }
    ),
    ResourceRequested: st.fixed_dictionaries(_resource),
    ResourceEngaged: st.fixed_dictionaries(_resource),
    ResourceReleased: st.fixed_dictionaries(_resource),
    MainCouranteEntryRecorded: st.fixed_dictionaries(
        {"entry_id": st.integers(1, 10_000).map(lambda n: f"mc-{n}")}
    ),
    DecisionTaken: st.fixed_dictionaries({"decision_id": st.sampled_from(DECISIONS)}),
    TaskAssigned: st.fixed_dictionaries(
        {
            "task_id": st.sampled_from(TASKS),
            "due_at": st.none() | st.integers(1, 12).map(lambda h: T0 + timedelta(hours=h)),
        }
    ),
    TaskCompleted: st.fixed_dictionaries({"task_id": st.sampled_from(TASKS)}),
    PublicAlertIssued: st.fixed_dictionaries({"alert_id": st.sampled_from(ALERTS)}),
    PressReleasePublished: st.fixed_dictionaries({"release_id": st.sampled_from(RELEASES)}),
    SituationReportIssued: st.fixed_dictionaries({"number": st.integers(1, 4)}),
    InputRejected: st.just({}),
}
# Incidents and their figures come more often: the bilan is where the fold has most to keep.
EVENT_CLASSES: list[type[Envelope]] = [
    *PAYLOADS,
    IncidentReported,
    IncidentMerged,
    BilanAssessed,
    BilanAssessed,
]


@st.composite
def events(draw: st.DrawFn, crises: tuple[str, ...]) -> Envelope:
    """One valid event of any type, of one of `crises`, referring to the pools' ids."""
    cls = draw(st.sampled_from(EVENT_CLASSES))
    return sample_event(
        cls,
        event_id=draw(st.uuids()),
        crisis_id=draw(st.sampled_from(crises)),
        status=draw(st.sampled_from([Status.ACTUAL] * 3 + [Status.EXERCISE])),
        # Before LATER, which the samples use for expiries and next report times.
        occurred_at=OCCURRED_AT + timedelta(minutes=draw(st.integers(0, 200))),
        **draw(PAYLOADS[cls]),
    )


@st.composite
def logs(draw: st.DrawFn, max_size: int = 60) -> list[Delivery]:
    """A log of 1-3 crises: each event's wire dict at its position, with its stream time."""
    crises = CRISES[: draw(st.integers(1, len(CRISES)))]
    drawn = draw(st.lists(events(crises), max_size=max_size, unique_by=lambda e: e.event_id))
    return [
        (orjson.loads(encode(event)), position, (T0 + timedelta(seconds=position)).isoformat())
        for position, event in enumerate(drawn, 1)
    ]


def _fold(deliveries: list[Delivery], pictures: views.Pictures | None = None) -> views.Pictures:
    pictures = {} if pictures is None else pictures
    for wire, position, recorded_at in deliveries:
        views.fold_any(pictures, wire, position, recorded_at)
    return pictures


def _snapshot(pictures: views.Pictures) -> views.Pictures:
    # As stored and read back: compressed, encoded section by section.
    return {crisis: decode_snapshot(encode_snapshot(p)) for crisis, p in pictures.items()}


@settings(max_examples=150, deadline=None)
@given(log=logs())
def test_folding_the_same_log_twice_gives_equal_pictures(log: list[Delivery]) -> None:
    assert _fold(log) == _fold(log)


@settings(max_examples=150, deadline=None)
@given(log=logs().filter(bool), data=st.data())
def test_an_event_delivered_again_after_its_first_delivery_changes_nothing(
    log: list[Delivery], data: st.DataObject
) -> None:
    again = data.draw(st.integers(0, len(log) - 1), label="redelivered")
    after = data.draw(st.integers(again + 1, len(log)), label="delivered again after")

    with_redelivery = [*log[:after], log[again], *log[after:]]

    assert _fold(with_redelivery) == _fold(log)


@settings(max_examples=150, deadline=None)
@given(log=logs(), data=st.data())
def test_a_snapshot_plus_the_tail_equals_the_fold_of_the_whole_log(
    log: list[Delivery], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(log)), label="snapshot after")

    resumed = _fold(log[cut:], _snapshot(_fold(log[:cut])))

    assert resumed == _fold(log)


@settings(max_examples=150, deadline=None)
@given(log=logs().filter(bool), data=st.data())
def test_the_live_picture_with_redeliveries_equals_the_picture_rebuilt_from_the_log(
    log: list[Delivery], data: st.DataObject
) -> None:
    # (event, after): deliver event `event` again once event `after` has been delivered.
    redeliveries = data.draw(
        st.lists(st.tuples(st.integers(0, len(log) - 1), st.integers(0, len(log) - 1))),
        label="redeliveries",
    )
    live: views.Pictures = {}
    for index, delivery in enumerate(log):
        _fold([delivery], live)
        for event, after in redeliveries:
            if max(event, after) == index:
                _fold([log[event]], live)

    rebuilt = _fold(sorted(log, key=lambda delivery: delivery[1]))

    assert live == rebuilt


def _applied(before: Any, changes: list[dict[str, Any]]) -> Any:
    """`before` with `changes` made (paths are dotted keys: no key of a picture holds a dot)."""
    after = orjson.loads(orjson.dumps(before))
    for change in changes:
        *parents, key = change["path"].split(".")
        place = after
        for parent in parents:
            place = place[parent]
        if change["change"] == "removed":
            del place[key]
        else:
            place[key] = change["after"]
    return after


@settings(max_examples=150, deadline=None)
@given(log=logs(), data=st.data())
def test_a_diff_is_empty_exactly_when_the_pictures_are_equal(
    log: list[Delivery], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(log)), label="earlier picture after")
    earlier, later = _snapshot(_fold(log[:cut])), _fold(log)
    at = (T0 + timedelta(hours=6)).isoformat()

    assert views.diff(later, later) == []
    assert (views.diff(earlier, later) == []) is (earlier == later)
    for crisis_id, picture in later.items():
        before = earlier.get(crisis_id, {})
        assert views.diff(picture, picture) == []
        assert (views.diff(before, picture) == []) is (before == picture)
        assert (views.diff(views.view(picture, at), views.view(picture, at))) == []


@settings(max_examples=150, deadline=None)
@given(log=logs(), data=st.data())
def test_the_diff_from_an_earlier_picture_leads_to_the_later_one(
    log: list[Delivery], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(log)), label="earlier picture after")
    earlier, later = _snapshot(_fold(log[:cut])), _fold(log)

    changes = views.diff(earlier, later)

    assert _applied(earlier, changes) == later
    assert [change["path"] for change in changes] == sorted({c["path"] for c in changes})


@settings(max_examples=150, deadline=None)
@given(log=logs())
def test_a_summed_figure_is_the_sum_of_the_current_figures_of_the_incidents_not_merged(
    log: list[Delivery],
) -> None:
    for picture in _fold(log).values():
        for name, figure in picture["bilan"].items():
            if figure["basis"] == "sum_of_incidents":
                counted = {
                    incident_id: incident["bilan"][name]
                    for incident_id, incident in picture["incidents"].items()
                    if incident["state"] not in NOT_COUNTED and name in incident["bilan"]
                }
                assert figure["value"] == sum(f["value"] for f in counted.values()), name
                assert figure["events"] == {i: f["event_id"] for i, f in counted.items()}, name
            else:
                assert figure["basis"] == "crisis_wide"
                stated = picture["crisis_wide_bilan"][name]
                assert figure["value"] == stated["value"]
                assert figure["events"] == {"crisis": stated["event_id"]}


@st.composite
def _journal(draw: st.DrawFn) -> list[Delivery]:
    """A crisis whose log is mostly main-courante entries, some asking a follow-up, some done,
    mixed with other events: long enough for entries to leave the latest ones."""
    drawn: list[Envelope] = []
    for number in range(draw(st.integers(0, 3 * LATEST_ENTRIES))):
        kind = draw(st.sampled_from(["entry", "entry", "entry", "done", "other", "again"]))
        if kind == "other":
            drawn.append(draw(events(CRISES[:1])))
            continue
        # A follow-up done names any entry, recorded or not yet; an entry may come again with
        # an id already used (a sender's mistake the fold must take as it comes).
        named = f"mc-{draw(st.integers(1, number + 1))}"
        entry_id = named if kind in ("done", "again") else f"mc-{number}"
        cls = FollowUpDone if kind == "done" else MainCouranteEntryRecorded
        owner: dict[str, Any] = {}  # the sample's follow-up: an owner and a deadline
        if kind != "done" and draw(st.booleans()):
            owner = {"follow_up_owner": None, "follow_up_due": None}
        drawn.append(
            sample_event(
                cls,
                event_id=draw(st.uuids()),
                crisis_id=CRISES[0],
                entry_id=entry_id,
                status=draw(st.sampled_from([Status.ACTUAL, Status.ACTUAL, Status.EXERCISE])),
                **owner,
            )
        )
    return [
        (orjson.loads(encode(event)), position, (T0 + timedelta(seconds=position)).isoformat())
        for position, event in enumerate(drawn, 1)
    ]


# A rebuild tells the entries it only counts from their stored JSON (`counted_entry`); without
# it, every event is parsed. Both must give the picture of the one-by-one fold.
COUNTED = pytest.mark.parametrize("counted", [None, counted_entry], ids=["parsed", "counted"])


@COUNTED
@settings(max_examples=80)
@given(log=_journal(), cuts=st.lists(st.integers(0, 3 * LATEST_ENTRIES), max_size=3))
def test_folding_runs_at_once_gives_the_picture_of_folding_event_by_event(
    log: list[Delivery], cuts: list[int], counted: Callable[[str | bytes], bool] | None
) -> None:
    one_by_one = _fold(log).get(CRISES[0], new_picture(CRISES[0]))
    # In runs, as a rebuild reads the log chunk by chunk; a run may also start mid-way.
    rows = _stored(log)
    in_runs = new_picture(CRISES[0])
    start = 0
    for cut in [*sorted(cuts), len(log)]:
        fold_run(in_runs, rows[start:cut], orjson.loads, counted)
        start = max(start, cut)
    assert orjson.dumps(in_runs) == orjson.dumps(one_by_one)


@COUNTED
@settings(max_examples=40)
@given(log=logs())
def test_folding_any_log_as_one_run_gives_the_picture_of_folding_event_by_event(
    log: list[Delivery], counted: Callable[[str | bytes], bool] | None
) -> None:
    for crisis_id, picture in _fold(log).items():
        mine = [delivery for delivery in log if delivery[0]["crisis_id"] == crisis_id]
        folded = fold_run(new_picture(crisis_id), _stored(mine), orjson.loads, counted)
        assert orjson.dumps(folded) == orjson.dumps(picture)


def _stored(log: list[Delivery]) -> list[tuple[int, bytes]]:
    """The log's rows as the store reads them: the position, the payload with its stream time."""
    return [
        (position, orjson.dumps({**event, "recorded_at": recorded_at}))
        for event, position, recorded_at in log
    ]


@pytest.mark.parametrize(
    ("data", "only_counted"),
    [
        ({"follow_up_owner": None}, True),
        ({}, True),  # no follow-up key at all
        ({"follow_up_owner": "Cellule moyens"}, False),
        ({"follow_up_owner": ""}, False),  # parsed: the fold decides
        ({"status": "Exercise"}, False),  # parsed: it marks the picture an exercise
        ({"schema_version": 0}, False),  # an older schema is parsed (and upcast)
        ({"type": "maincourante.follow_up_done"}, False),
        # The key's name inside a text is escaped: not taken for the key, nor hiding the owner.
        ({"text": '"follow_up_owner":null', "follow_up_owner": "SDIS"}, False),
        ({"text": '"type":"maincourante.entry_recorded"', "type": "decision.taken"}, False),
    ],
)
def test_only_an_entry_that_surely_just_counts_is_left_unparsed(
    data: dict[str, Any], only_counted: bool
) -> None:
    entry = orjson.loads(encode(sample_event(MainCouranteEntryRecorded, crisis_id=CRISES[0])))
    del entry["follow_up_owner"], entry["follow_up_due"]  # each case says what it holds
    stored = orjson.dumps({**entry, **data, "recorded_at": T0.isoformat()})
    assert counted_entry(stored) is only_counted
    assert counted_entry(stored.decode()) is only_counted
    # Not as orjson writes it (spaces): parsed, never counted on a guess.
    assert counted_entry(orjson.dumps(entry, option=orjson.OPT_INDENT_2)) is False
