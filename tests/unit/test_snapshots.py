"""Snapshots: compressed, encoded incrementally without changing what is read back, and thinned."""

from __future__ import annotations

import base64
import zlib
from datetime import timedelta
from typing import Any

import orjson
import pytest
import zstandard
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
    PictureEncoder,
    SnapshotFormatError,
    StoredPicture,
    decode_snapshot,
    encode_snapshot,
    kept_positions,
    pack,
    unpack,
)
from tests.unit.samples import sample_event
from tests.unit.test_picture_properties import (
    CRISES,
    INCIDENTS,
    T0,
    Delivery,
    _fold,
    _stored,
    events,
)

pytestmark = pytest.mark.unit

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

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


@settings(max_examples=200, deadline=None)
@given(log=logs(), share=st.sampled_from([0.0, 0.5, 1.0]))
def test_a_picture_encoded_as_it_is_folded_reads_back_equal_after_every_event(
    log: list[Delivery], share: float
) -> None:
    """Whole or partial (what changed since the last whole one, read onto it), each snapshot
    reads back as the picture; `share` 1.0 makes every snapshot after the first partial."""
    pictures: views.Pictures = {}
    encoders: dict[str, PictureEncoder] = {}
    wholes: dict[str, bytes] = {}
    for wire, position, recorded_at in log:
        picture = views.fold_any(pictures, wire, position, recorded_at)
        crisis_id = wire["crisis_id"]
        encoder = encoders.setdefault(crisis_id, PictureEncoder(partial_share=share))
        encoder.touched(wire)
        snapshot = encoder.encode(picture)
        packed = pack(snapshot)
        if snapshot.base is None:
            wholes[crisis_id] = packed
        else:
            assert share > 0.0 or not snapshot.sections
            with pytest.raises(SnapshotFormatError, match="its base at"):
                unpack(packed)
        read = unpack(packed, wholes[crisis_id]).materialize()
        assert orjson.dumps(read) == orjson.dumps(picture), position
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


@settings(max_examples=150, deadline=None)
@given(log=logs(), data=st.data())
def test_a_stored_picture_folded_on_shows_and_makes_the_picture_of_the_whole_fold(
    log: list[Delivery], data: st.DataObject
) -> None:
    """As an as-of read does: a snapshot, its entries left stored, then the tail in one run."""
    cut = data.draw(st.integers(0, len(log)), label="snapshot after")
    at = data.draw(st.sampled_from([T0, T0 + timedelta(days=400)]), label="shown at").isoformat()
    before = _fold(log[:cut])
    for crisis_id, picture in _fold(log).items():
        if crisis_id in before:
            stored = unpack(encode_snapshot(before[crisis_id]))
        else:
            stored = StoredPicture.new(crisis_id)
        tail = [d for d in log[cut:] if d[0]["crisis_id"] == crisis_id]
        stored.fold_run(_stored(tail))
        assert orjson.dumps(stored.shown(at)) == orjson.dumps(views.view(picture, at))
        assert orjson.dumps(stored.materialize()) == orjson.dumps(picture)


def test_a_partial_snapshot_keeps_the_order_removals_and_additions_of_its_entries() -> None:
    picture = new_picture("alex")
    picture["tasks"] = {f"t-{n}": {"task_id": f"t-{n}", "state": "open"} for n in range(40)}
    encoder = PictureEncoder()
    whole = encoder.encode(picture)
    # t-3 goes and comes back (now last), t-5 goes, t-40 is new, t-7 changes.
    tasks = picture["tasks"]
    tasks["t-3"] = {**tasks.pop("t-3"), "state": "done"}
    del tasks["t-5"]
    tasks["t-40"] = {"task_id": "t-40", "state": "open"}
    tasks["t-7"]["state"] = "done"
    for key in ("t-3", "t-5", "t-40", "t-7"):
        encoder.touched({"task_id": key})
    picture["position"], picture["events"] = 9, 9

    partial = encoder.encode(picture)

    assert (partial.base, whole.base) == (whole.position, None)
    assert [e.key for _, entries in partial.sections for e in entries] == ["t-7", "t-3", "t-40"]
    assert partial.removed == (("tasks", ("t-5",)),)
    assert [name for name, _ in partial.order] == ["tasks"]
    read = unpack(pack(partial), pack(whole))
    assert orjson.dumps(read.materialize()) == orjson.dumps(picture)


def test_a_snapshot_is_whole_again_once_what_changed_weighs_more_than_its_share() -> None:
    picture = new_picture("alex")
    picture["tasks"] = {f"t-{n}": {"task_id": f"t-{n}", "state": "open"} for n in range(10)}
    encoder = PictureEncoder(partial_share=0.25)
    first = encoder.encode(picture)
    changed = []
    for n in range(4):
        picture["tasks"][f"t-{n}"]["state"] = "done"
        encoder.touched({"task_id": f"t-{n}"})
        picture["position"] += 1
        changed.append(encoder.encode(picture))

    # Each partial holds all that changed since the whole one: 1, then 2 entries of 10.
    assert [s.base for s in changed] == [first.position, first.position, None, changed[2].position]
    assert [len(dict(s.sections)["tasks"]) for s in changed] == [1, 2, 10, 1]


def test_a_snapshot_stored_as_plain_json_is_still_read() -> None:
    picture = new_picture("alex")
    picture["incidents"] = {"inc-1": {"incident_id": "inc-1", "state": "open"}}

    assert decode_snapshot(orjson.dumps(picture).decode()) == picture


def test_a_snapshot_stored_as_zlib_text_before_is_still_read() -> None:
    picture = new_picture("alex")
    picture["incidents"] = {"inc-1": {"incident_id": "inc-1", "state": "open"}}
    text = "z1:" + base64.b64encode(zlib.compress(orjson.dumps(picture))).decode()

    assert decode_snapshot(text) == picture


def test_a_snapshot_packed_in_the_first_layout_is_still_read() -> None:
    # Format 1 (until December 2026): the index's entries as [key, length, state, due] rows.
    picture = new_picture("alex")
    picture["tasks"] = {
        "t-1": {"task_id": "t-1", "state": "open", "due_at": "2020-10-02T13:00:00Z"},
        "t-2": {"task_id": "t-2", "state": "done", "due_at": None},
    }
    snapshot = PictureEncoder().encode(picture)
    index = orjson.dumps(
        {
            "format": 1,
            "head": orjson.Fragment(snapshot.head),
            "sections": [
                [name, [[e.key, len(e.json), e.state, e.due] for e in entries]]
                for name, entries in snapshot.sections
            ],
        }
    )
    entries = b"".join(e.json for _, section in snapshot.sections for e in section)
    body = len(index).to_bytes(4, "little") + index + entries

    stored = unpack(zstandard.ZstdCompressor().compress(body))

    assert orjson.dumps(stored.shown("2020-10-02T14:00:00+00:00")) == orjson.dumps(
        views.view(picture, "2020-10-02T14:00:00+00:00")
    )
    assert stored.materialize() == picture
    assert unpack(pack(snapshot)).materialize() == picture


def test_a_stored_snapshot_is_packed_with_zstd_and_much_smaller_than_its_json() -> None:
    picture = new_picture("alex")
    picture["follow_ups"] = {
        f"mc-{n}": {"entry_id": f"mc-{n}", "owner": "Cellule moyens", "state": "open"}
        for n in range(1000)
    }

    stored = encode_snapshot(picture)

    assert stored.startswith(ZSTD_MAGIC)
    assert len(stored) * 5 < len(orjson.dumps(picture))
    assert decode_snapshot(stored) == picture


def test_a_stored_picture_parses_only_the_entries_its_events_name() -> None:
    picture = new_picture("alex")
    picture["incidents"] = {
        f"inc-{n}": {"incident_id": f"inc-{n}", "state": "open" if n % 3 else "closed"}
        for n in range(9)
    }
    stored = unpack(encode_snapshot(picture))

    stored.parse("incidents", ["inc-4", "inc-404"])

    held = stored.picture["incidents"]
    assert held["inc-4"] == {"incident_id": "inc-4", "state": "open"}
    assert all(isinstance(held[f"inc-{n}"], orjson.Fragment) for n in range(9) if n != 4)
    # Counted by their stored state, unparsed; written out as stored.
    shown = stored.shown("2020-10-02T12:00:00+00:00")
    assert shown["open_incidents"] == 6
    assert orjson.loads(orjson.dumps(shown))["incidents"] == picture["incidents"]


def test_a_fold_handler_reading_an_entry_its_event_does_not_name_fails_loudly() -> None:
    picture = new_picture("alex")
    picture["incidents"] = {"inc-1": {"incident_id": "inc-1", "state": "open"}}
    stored = unpack(encode_snapshot(picture))

    with pytest.raises(TypeError):
        stored.picture["incidents"]["inc-1"]["state"]  # type: ignore[index] # a Fragment


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


MB = 1_000_000


def _thinned_every(step: int, last: int, *, budget: int, bytes_per_event: float) -> list[int]:
    """The snapshots kept of a crisis snapshotted every `step` events, each as big as the
    picture grown so far (as a long crisis' pictures are), thinned at each snapshot."""
    kept: dict[int, int] = {}
    for position in range(step, last + 1, step):
        kept[position] = int(position * bytes_per_event)
        kept = {p: kept[p] for p in kept_positions(kept, budget)}
    return sorted(kept)


def test_thinning_keeps_the_latest_and_as_many_evenly_spread_as_the_budget_holds() -> None:
    # A million events, a snapshot every 5,000, 6 MB at the end: 600 MB kept whole.
    kept = _thinned_every(5000, 1_000_000, budget=64 * MB, bytes_per_event=6)

    assert kept[-KEEP_LATEST:] == [990_000, 995_000, 1_000_000]
    assert sum(p * 6 for p in kept) <= 64 * MB
    gaps = [newer - older for older, newer in zip([0, *kept], kept, strict=False)]
    # Evenly spread: the widest gap is within twice the even one of as many snapshots.
    assert max(gaps) <= 2 * 1_000_000 / len(kept), gaps
    assert len(kept) >= 12, kept


def test_a_crisis_within_its_budget_keeps_every_snapshot() -> None:
    kept = _thinned_every(5000, 100_000, budget=64 * MB, bytes_per_event=5)

    assert kept == list(range(5000, 100_001, 5000))


def test_thinning_what_was_thinned_keeps_it_all() -> None:
    kept = _thinned_every(5000, 400_000, budget=20 * MB, bytes_per_event=6)

    assert kept_positions({p: p * 6 for p in kept}, 20 * MB) == set(kept)


def test_the_latest_stay_even_over_the_budget_and_few_snapshots_are_all_kept() -> None:
    assert kept_positions({10: 5 * MB, 20: 5 * MB, 30: 5 * MB, 40: 5 * MB}, MB) == {20, 30, 40}
    assert kept_positions({10: 1, 20: 1}, 0) == {10, 20}
    assert kept_positions({}) == set()


def test_thinning_keeps_the_whole_snapshots_that_kept_partial_ones_complete() -> None:
    # Whole at 10 and 50, each completed by partial ones; the budget holds about half.
    sizes = {10: 8, 20: 2, 30: 3, 40: 4, 50: 8, 60: 2, 70: 3, 80: 4, 90: 1, 100: 1}
    bases: dict[int, int | None] = {10: None, 20: 10, 30: 10, 40: 10, 50: None}
    bases |= {60: 50, 70: 50, 80: 50, 90: 50, 100: 50}

    kept = kept_positions(sizes, 20, keep_latest=2, bases=bases)

    assert sum(sizes[p] for p in kept) <= 20
    # Every partial one kept has its whole one; the last whole one stays (partial ones to come
    # complete it).
    assert all(bases[p] is None or bases[p] in kept for p in kept), kept
    # The partial ones went first (each left the narrowest gap while whole ones were needed);
    # then the budget held the whole one at 10.
    assert kept == {10, 50, 90, 100}


def test_thinning_never_drops_a_whole_snapshot_still_needed_even_over_the_budget() -> None:
    sizes = {10: 10, 20: 1, 30: 1}
    bases: dict[int, int | None] = {10: None, 20: 10, 30: 10}

    assert kept_positions(sizes, 0, keep_latest=1, bases=bases) == {10, 30}
