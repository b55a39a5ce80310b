"""Event ids are UUID version 7: time-ordered, with the RFC 9562 version and variant."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from schemas.events import IncidentReported
from schemas.ids import event_id_at, new_event_id
from tests.unit.samples import sample_event

pytestmark = pytest.mark.unit


def test_a_new_event_id_is_version_7_and_leads_with_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = new_event_id()
    after = time.time_ns() // 1_000_000

    assert made.version == 7
    assert made.variant == "specified in RFC 4122"
    assert before <= made.int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_after_whatever_their_random_bits() -> None:
    ids = [event_id_at(1_601_641_920_000 + ms, bits) for ms, bits in [(0, 2**74 - 1), (1, 0)]]

    assert ids == sorted(ids)
    assert str(ids[0]) < str(ids[1])  # as text too: the log's column on SQLite


def test_the_random_bits_all_land_in_the_id_and_the_version_and_variant_stay() -> None:
    every = event_id_at(0, 2**74 - 1)
    none = event_id_at(0, 0)

    assert bin(every.int ^ none.int).count("1") == 74
    assert (every.version, none.version) == (7, 7)
    assert every.variant == none.variant == "specified in RFC 4122"


def test_an_instant_outside_48_bits_of_milliseconds_is_refused() -> None:
    with pytest.raises(ValueError, match="48 bits"):
        event_id_at(1 << 48, 0)


def test_events_get_a_time_ordered_id_unless_their_sender_gives_one() -> None:
    made = sample_event(IncidentReported)
    at = datetime.fromtimestamp((made.event_id.int >> 80) / 1000, UTC)

    assert made.event_id.version == 7
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60
