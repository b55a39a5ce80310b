"""The sample crises (Aude 2018, Lubrizol 2019, storm Alex) and their exported logs."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CrisisClosed,
    CrisisOpened,
    IncidentMerged,
    IncidentReported,
    IncidentUpdated,
    MainCouranteEntryRecorded,
    PlanActivated,
    PlanActivationProposed,
    ResourceEngaged,
    VigilanceChanged,
)
from schemas.values import IncidentKind, VigilanceColour, VigilancePhenomenon
from schemas.wire import REGISTRY
from services.demo.samples import (
    CRISES_DIR,
    SAMPLES,
    aude_2018,
    export_sample,
    lubrizol_2019,
    write_samples,
)
from services.eventlog.archive import parse_line
from services.picture.fold import Picture, fold, new_picture

pytestmark = pytest.mark.unit

# The two crises rebuilt from public after-action reports; storm Alex is the older demo.
REBUILT = ["aude-2018-10", "lubrizol-2019-09"]


def _lines(crisis_id: str) -> list[bytes]:
    return (CRISES_DIR / f"{crisis_id}.jsonl").read_bytes().splitlines()


def _wires(crisis_id: str) -> list[tuple[int, dict[str, Any]]]:
    """(position, wire dict) of each line of a committed log."""
    out = []
    for line in _lines(crisis_id):
        data = orjson.loads(line)
        out.append((data.pop("position"), data))
    return out


def _picture(crisis_id: str) -> Picture:
    picture = new_picture(crisis_id)
    for position, wire in _wires(crisis_id):
        picture = fold(picture, wire, position, wire["recorded_at"])
    return picture


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_the_committed_logs_are_exactly_what_the_generators_give(crisis_id: str) -> None:
    committed = (CRISES_DIR / f"{crisis_id}.jsonl").read_bytes()
    assert committed == export_sample(SAMPLES[crisis_id]()), (
        f"{crisis_id}.jsonl is stale: run `python -m services.demo.samples`"
    )


def test_writing_the_samples_gives_one_file_per_crisis(tmp_path: Path) -> None:
    written = write_samples(tmp_path)
    assert sorted(path.name for path in written) == sorted(f"{c}.jsonl" for c in SAMPLES)
    for path in written:
        assert path.read_bytes() == (CRISES_DIR / path.name).read_bytes()


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_every_line_decodes_to_the_event_generated_with_its_stream_time(crisis_id: str) -> None:
    events = SAMPLES[crisis_id]()
    wires = _wires(crisis_id)
    assert len(wires) == len(events)
    for (_, wire), event in zip(wires, events, strict=True):
        decoded = REGISTRY.decode(wire)
        assert type(decoded) is type(event)
        assert decoded.event_id == event.event_id
        assert decoded.recorded_at is not None
        assert decoded.model_copy(update={"recorded_at": None}) == event


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_the_archive_importer_reads_every_line(crisis_id: str) -> None:
    for number, line in enumerate(_lines(crisis_id), start=1):
        decoded = parse_line(number, line)
        assert decoded.delivery.position == number
        assert decoded.event.crisis_id == crisis_id


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_positions_run_from_one_without_gaps(crisis_id: str) -> None:
    positions = [position for position, _ in _wires(crisis_id)]
    assert positions == list(range(1, len(positions) + 1))


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_stream_time_never_goes_back_and_never_precedes_the_event(crisis_id: str) -> None:
    wires = [wire for _, wire in _wires(crisis_id)]
    recorded = [_instant(wire["recorded_at"]) for wire in wires]
    assert recorded == sorted(recorded)
    for wire, at in zip(wires, recorded, strict=True):
        assert at >= _instant(wire["occurred_at"]), wire["event_id"]


def test_stream_time_is_held_back_to_the_previous_event_when_a_report_came_in_early() -> None:
    first, second = lubrizol_2019()[:2]
    early = second.model_copy(update={"received_at": first.received_at - timedelta(minutes=5)})
    lines = export_sample([first, early]).splitlines()
    times = [orjson.loads(line)["recorded_at"] for line in lines]
    assert times[0] == times[1]


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_every_event_is_marked_exercise(crisis_id: str) -> None:
    assert {wire["status"] for _, wire in _wires(crisis_id)} == {Status.EXERCISE.value}
    assert _picture(crisis_id)["exercise"] is True


@pytest.mark.parametrize("generate", [aude_2018, lubrizol_2019])
def test_the_generators_are_deterministic_and_take_the_status_they_are_given(
    generate: Any,
) -> None:
    assert generate() == generate()
    actual = generate("other-crisis", status=Status.ACTUAL)
    assert {event.status for event in actual} == {Status.ACTUAL}
    assert not {event.event_id for event in actual} & {event.event_id for event in generate()}


@pytest.mark.parametrize("crisis_id", REBUILT)
def test_the_rebuilt_crises_open_first_and_close_last(crisis_id: str) -> None:
    events = SAMPLES[crisis_id]()
    assert isinstance(events[0], CrisisOpened)
    assert isinstance(events[-1], CrisisClosed)
    assert sum(isinstance(event, CrisisOpened | CrisisClosed) for event in events) == 2
    assert _picture(crisis_id)["state"] == "closed"


def test_storm_alex_opens_first() -> None:
    assert isinstance(SAMPLES["demo-alex-06"]()[0], CrisisOpened)


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_every_plan_activated_follows_its_proposal(crisis_id: str) -> None:
    proposals: dict[object, PlanActivationProposed] = {}
    activated = []
    for event in SAMPLES[crisis_id]():
        if isinstance(event, PlanActivationProposed):
            proposals[event.event_id] = event
        elif isinstance(event, PlanActivated):
            proposal = proposals[event.proposal_event_id]
            assert proposal.plan_code == event.plan_code
            assert event.causation_id == proposal.event_id
            assert event.decided_at >= proposal.occurred_at
            activated.append(event.plan_code)
    assert activated
    picture = _picture(crisis_id)
    assert set(activated) <= {
        code for code, plan in picture["plans"].items() if plan["state"] == "active"
    }


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_incidents_are_reported_before_anything_refers_to_them(crisis_id: str) -> None:
    reported: set[str] = set()
    for event in SAMPLES[crisis_id]():
        if isinstance(event, IncidentReported):
            assert event.incident_id not in reported
            reported.add(event.incident_id)
        elif isinstance(event, IncidentUpdated | BilanAssessed | ResourceEngaged | IncidentMerged):
            assert event.incident_id is None or event.incident_id in reported, event


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_causes_are_earlier_events_and_ids_are_unique(crisis_id: str) -> None:
    seen: set[object] = set()
    for event in SAMPLES[crisis_id]():
        for cause in (event.causation_id, event.correlation_id):
            assert cause is None or cause in seen, event
        assert event.event_id not in seen
        seen.add(event.event_id)


@pytest.mark.parametrize("crisis_id", REBUILT)
def test_main_courante_entries_are_numbered_without_gaps(crisis_id: str) -> None:
    entries = [e.entry_id for e in SAMPLES[crisis_id]() if isinstance(e, MainCouranteEntryRecorded)]
    assert entries == [f"mc-{n:04d}" for n in range(1, len(entries) + 1)]
    assert _picture(crisis_id)["main_courante"]["count"] == len(entries)


@pytest.mark.parametrize("crisis_id", sorted(SAMPLES))
def test_each_crisis_gives_bilan_figures_with_their_source(crisis_id: str) -> None:
    assessments = [e for e in SAMPLES[crisis_id]() if isinstance(e, BilanAssessed)]
    assert assessments
    assert all(a.source_of_figures for a in assessments)
    assert _picture(crisis_id)["bilan"]


def _last_figure(events: list[Envelope], name: str) -> int:
    """The value the last assessment giving figure `name` gave it."""
    values = [
        e.figures.assessed()[name]
        for e in events
        if isinstance(e, BilanAssessed) and name in e.figures.assessed()
    ]
    return values[-1]


def test_the_aude_goes_into_red_vigilance_for_rain_and_for_floods() -> None:
    reds = {
        event.phenomenon
        for event in aude_2018()
        if isinstance(event, VigilanceChanged) and event.colour is VigilanceColour.ROUGE
    }
    assert reds == {VigilancePhenomenon.PLUIE_INONDATION, VigilancePhenomenon.INONDATION}


def test_the_aude_death_toll_is_kept_as_each_statement_came_then_corrected() -> None:
    tolls = [
        event.figures.decedes
        for event in aude_2018()
        if isinstance(event, BilanAssessed) and event.figures.decedes is not None
    ]
    assert tolls == [1, 11, 13, 12, 11, 13, 14]


def test_the_aude_picture_shows_the_last_death_toll_written_as_a_crisis_wide_figure() -> None:
    events = aude_2018()
    picture = _picture("aude-2018-10")
    deaths = picture["bilan"]["decedes"]
    assert deaths["value"] == _last_figure(events, "decedes") == 14
    assert deaths["basis"] == "crisis_wide"
    assert picture["bilan"]["disparus"]["value"] == 0
    assert picture["bilan"]["evacues"]["value"] == 1000  # Pezens, the only incident counted
    assert picture["cod"]["state"] == "stood_down"
    assert picture["departement"] == "11"
    assert picture["plans"]["orsec-inondation"]["state"] == "active"


def test_lubrizol_is_a_seveso_fire_with_the_ppi_of_the_site_activated() -> None:
    events = lubrizol_2019()
    assert isinstance(events[0], CrisisOpened)
    assert events[0].nature is IncidentKind.SEVESO
    ppi = [e for e in events if isinstance(e, PlanActivated) and e.plan_code.startswith("ppi-")]
    assert [e.plan_code for e in ppi] == ["ppi-lubrizol-rouen"]
    picture = _picture("lubrizol-2019-09")
    assert picture["plans"]["ppi-lubrizol-rouen"]["state"] == "active"
    assert picture["incidents"]["inc-0001"]["kind"] == "seveso"
    assert picture["incidents"]["inc-0002"]["state"] == "merged"
    assert picture["bilan"]["decedes"]["value"] == _last_figure(events, "decedes") == 0
    assert picture["bilan"]["urgences_relatives"]["value"] == 10
    assert picture["departement"] == "76"


def test_lubrizol_alerts_go_out_on_the_sirens_and_the_networks_not_on_fr_alert() -> None:
    picture = _picture("lubrizol-2019-09")
    channels = {alert["channel"] for alert in picture["alerts"].values()}
    assert "sirens" in channels
    assert "fr_alert" not in channels
    assert "fr_alert" not in {a["channel"] for a in _picture("aude-2018-10")["alerts"].values()}
