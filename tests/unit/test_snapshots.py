"""Snapshots: compressed, encoded incrementally without changing what is read back, and thinned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Envelope
from schemas.events import FollowUpDone, IncidentAttached, IncidentHandedOver
from schemas.events import MainCouranteEntryRecorded as EntryRecorded
from schemas.wire import encode
from services.picture import views
from services.picture.fold import new_picture
from services.picture.snapshots import (
    KEEP_LATEST,
    SPACING,
    PictureEncoder,
    decode_snapshot,
    encode_snapshot,
    kept_positions,
    pack,
)
from tests.unit.samples import sample_event
from tests.unit.test_picture_properties import CRISES, INCIDENTS, T0, Delivery, events

pytestmark = pytest.mark.unit

ENTRIES = ("mc-1", "mc-2", "mc-3")
MORE: list[tuple[type[Envelope], dict[str, st.SearchStrategy[str]]]] = [
    (EntryRecorded, {"entry_id": st.sampled_from(ENTRIES)}),
    (FollowUpDone, {"entry_id": st.sampled_from(ENTRIES)}),
    (IncidentHandedOver, {"incident_id": st.sampled_from(INCIDENTS)}),
    (IncidentAttached, {"incident_id": st.sampled_from(INCIDENTS)}),
]


@st.composite
def _more(draw: st.DrawFn, crises: tuple[str, ...]) -> Envelope:
    """Events the property tests' pools leave out: follow-ups done, incidents handed over and
    attached (each changes entries of the keyed sections)."""
    cls, payload = draw(st.sampled_from(MORE))
    return sample_event(
        cls,
        event_id=draw(st.uuids()),
        crisis_id=draw(st.sampled_from(crises)),
        **draw(st.fixed_dictionaries(payload)),
    )


@st.composite
def logs(draw: st.DrawFn) -> list[Delivery]:
    """A log of 1-3 crises mixing every kind of event of the property tests and a few more."""
    crises = CRISES[: draw(st.integers(1, len(CRISES)))]
    drawn = draw(
        st.lists(events(crises) | _more(crises), max_size=60, unique_by=lambda e: e.event_id)
    )
    return [
        (orjson.loads(encode(event)), position, (T0 + timedelta(seconds=position)).isoformat())
        for position, event in enumerate(drawn, 1)
    ]


def _json(picture: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(picture))


@settings(max_examples=150, deadline=None)
@given(log=logs())
def test_a_picture_encoded_as_it_is_folded_reads_back_equal_after_every_event(
    log: list[Delivery],
) -> None:
    pictures: views.Pictures = {}
    encoders: dict[str, PictureEncoder] = {}
    for wire, position, recorded_at in log:
        picture = views.fold_any(pictures, wire, position, recorded_at)
        encoder = encoders.setdefault(wire["crisis_id"], PictureEncoder())
        encoder.touched(wire)
        read = decode_snapshot(pack(encoder.encode(picture)))
        assert read == _json(picture), position


@settings(max_examples=150, deadline=None)
@given(log=logs(), data=st.data())
def test_a_stored_snapshot_plus_the_tail_equals_the_fold_of_the_whole_log(
    log: list[Delivery], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(log)), label="snapshot after")
    whole: views.Pictures = {}
    for wire, position, recorded_at in log:
        views.fold_any(whole, wire, position, recorded_at)
    resumed: views.Pictures = {}
    for wire, position, recorded_at in log[:cut]:
        views.fold_any(resumed, wire, position, recorded_at)
    resumed = {crisis: decode_snapshot(encode_snapshot(p)) for crisis, p in resumed.items()}
    for wire, position, recorded_at in log[cut:]:
        views.fold_any(resumed, wire, position, recorded_at)

    assert resumed == whole


def test_a_snapshot_stored_as_plain_json_is_still_read() -> None:
    picture = new_picture("alex")
    picture["incidents"] = {"inc-1": {"incident_id": "inc-1", "state": "open"}}

    assert decode_snapshot(orjson.dumps(picture).decode()) == picture


def test_a_stored_snapshot_is_compressed_and_says_so() -> None:
    picture = new_picture("alex")
    picture["follow_ups"] = {
        f"mc-{n}": {"entry_id": f"mc-{n}", "owner": "Cellule moyens", "state": "open"}
        for n in range(1000)
    }

    stored = encode_snapshot(picture)

    assert stored.startswith("z1:")
    assert len(stored) * 5 < len(orjson.dumps(picture))


def test_a_summed_figure_shares_its_events_with_its_running_sum_once_read_back() -> None:
    picture = new_picture("alex")
    contributors = {f"inc-{n}": f"event-{n}" for n in range(100)}
    picture["bilan_sums"] = {"decedes": {"total": 3, "values": {}, "events": contributors}}
    picture["bilan"] = {
        "decedes": {"value": 3, "basis": "sum_of_incidents", "events": contributors}
    }

    read = decode_snapshot(encode_snapshot(picture))

    assert read == picture
    assert read["bilan"]["decedes"]["events"] is read["bilan_sums"]["decedes"]["events"]


def _thinned_every(step: int, last: int) -> list[int]:
    kept: set[int] = set()
    for position in range(step, last + 1, step):
        kept = kept_positions([*kept, position])
    return sorted(kept)


def test_thinning_keeps_the_latest_and_a_logarithmic_few_further_back() -> None:
    kept = _thinned_every(5000, 1_000_000)

    assert kept[-KEEP_LATEST:] == [990_000, 995_000, 1_000_000]
    assert len(kept) <= KEEP_LATEST + 16, kept
    # Any instant has a snapshot before it no further back than its distance to the latest
    # allows (one snapshot interval near the end).
    for older, newer in zip([0, *kept], kept, strict=False):
        assert newer - older <= max(SPACING * (1_000_000 - newer), 5000), (older, newer)


def test_thinning_what_was_thinned_keeps_it_all() -> None:
    kept = _thinned_every(5000, 400_000)

    assert kept_positions(kept) == set(kept)


def test_a_crisis_with_few_snapshots_keeps_them_all() -> None:
    assert kept_positions([10, 20]) == {10, 20}
    assert kept_positions([]) == set()
