"""The event log's pure core: decode a delivery, chain records, verify a chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import orjson
import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from schemas import subjects
from schemas.envelope import Envelope
from schemas.events import MainCouranteEntryRecorded
from schemas.wire import encode
from services.eventlog.bulk import _sqlite_instant, _sqlite_read_instant
from services.eventlog.core import (
    GENESIS_HASH,
    MAIN_COURANTE_ENTRY,
    ChainCursor,
    ChainHead,
    Decoded,
    Delivery,
    LogRecord,
    Undecodable,
    _source_of,
    chain,
    decode_delivery,
    first_of_each_id,
    verify_chain,
)
from services.eventlog.hashing import chain_hash
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.unit

T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)
ALEX = "alex-06-2020"
ROYA = "roya-2020"


def _delivery(event: Envelope, position: int = 1, **changes: Any) -> Delivery:
    delivery = Delivery(
        position=position,
        recorded_at=T0 + timedelta(seconds=position),
        subject=subjects.live(event.crisis_id, event.type),
        data=encode(event),
    )
    return replace(delivery, **changes)


def _changed(event: Envelope, **changes: Any) -> bytes:
    return orjson.dumps({**orjson.loads(encode(event)), **changes})


def _refused(delivery: Delivery) -> Undecodable:
    result = decode_delivery(delivery)
    assert isinstance(result, Undecodable), result
    return result


def _decoded(event: Envelope, position: int) -> Decoded:
    result = decode_delivery(_delivery(event, position))
    assert isinstance(result, Decoded), result
    return result


def _main_courante(crisis_id: str = ALEX) -> MainCouranteEntryRecorded:
    return sample_event(MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=crisis_id)


def _records(count: int, crisis_id: str = ALEX) -> list[LogRecord]:
    batch = [_decoded(incident_reported(crisis_id=crisis_id), p) for p in range(1, count + 1)]
    records, _ = chain(batch, {})
    return records


def _rehashed(records: Sequence[LogRecord]) -> list[LogRecord]:
    """The records with their hashes recomputed in the order given: a consistent forgery."""
    prev, out = GENESIS_HASH, []
    for record in records:
        digest = chain_hash(
            prev, record.crisis_seq, record.position, record.columns, record.payload
        )
        out.append(record._replace(prev_hash=prev, hash=digest))
        prev = digest
    return out


# -- decode_delivery ---------------------------------------------------------------------------


def test_a_valid_event_is_decoded_and_its_payload_gets_the_stream_time() -> None:
    event = incident_reported()
    delivery = _delivery(event, 42)
    result = decode_delivery(delivery)
    assert isinstance(result, Decoded)
    assert result.event == event
    assert result.delivery == delivery
    payload = orjson.loads(result.payload)
    assert payload["recorded_at"] == "2020-10-02T12:00:42Z"
    assert {k: v for k, v in payload.items() if k != "recorded_at"} == {
        k: v for k, v in orjson.loads(encode(event)).items() if k != "recorded_at"
    }


def test_bytes_that_are_not_json_are_refused_with_no_field_and_the_bus_as_source() -> None:
    refused = _refused(_delivery(incident_reported(), data=b"{not json"))
    assert refused.reason.startswith("not valid JSON")
    assert (refused.field, refused.source) == (None, "bus")


@pytest.mark.parametrize("data", [b"[1, 2]", b"42", b"null", b'"text"'])
def test_json_that_is_not_an_object_is_refused_rather_than_raising(data: bytes) -> None:
    refused = _refused(_delivery(incident_reported(), data=data))
    assert "JSON object" in refused.reason
    assert (refused.field, refused.source) == (None, "bus")


def test_an_event_json_sent_as_a_json_string_is_refused() -> None:
    event = incident_reported()
    refused = _refused(_delivery(event, data=orjson.dumps(encode(event).decode())))
    assert refused.source == "bus"


def test_an_unknown_event_type_is_refused_naming_the_type_field() -> None:
    event = incident_reported()
    refused = _refused(_delivery(event, data=_changed(event, type="incident.exploded")))
    assert refused.field == "type"
    assert "incident.exploded" in refused.reason
    assert refused.source == "console"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "catastrophic"}, "severity"),
        ({"actor": ""}, "actor"),
        ({"occurred_at": "2020-10-02T14:32:00"}, "occurred_at"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_an_invalid_field_is_refused_naming_that_field(changes: dict[str, Any], field: str) -> None:
    event = incident_reported()
    refused = _refused(_delivery(event, data=_changed(event, **changes)))
    assert refused.field == field
    assert refused.source == "console"


@pytest.mark.parametrize(
    "subject",
    [
        "crisis.roya-2020.incident.reported",
        "crisis.alex-06-2020.incident.updated",
        "crisis.alex-06-2020",
        "deadletter.console",
    ],
)
def test_a_subject_that_does_not_match_the_event_is_refused_naming_the_subject(
    subject: str,
) -> None:
    refused = _refused(_delivery(incident_reported(crisis_id=ALEX), subject=subject))
    assert refused.field == "subject"
    assert refused.source == "console"


def test_an_event_replayed_under_a_replay_subject_is_accepted() -> None:
    event = incident_reported()
    subject = subjects.replay("session-1", event.crisis_id, event.type)
    assert isinstance(decode_delivery(_delivery(event, subject=subject)), Decoded)


@pytest.mark.parametrize(
    ("data", "source"),
    [
        ({"source": "meteo-france"}, "meteo-france"),
        ({"source": "two words"}, "bus"),
        ({"source": "a.b"}, "bus"),
        ({"source": 7}, "bus"),
        ({}, "bus"),
        ([1, 2], "bus"),
        (None, "bus"),
    ],
)
def test_the_source_for_the_dead_letter_subject_falls_back_to_bus(data: Any, source: str) -> None:
    assert _source_of(data) == source


# -- chain -------------------------------------------------------------------------------------


def test_records_come_out_in_position_order_whatever_the_order_given() -> None:
    batch = [_decoded(incident_reported(), p) for p in (5, 2, 9, 1)]
    records, _ = chain(batch, {})
    assert [r.position for r in records] == [1, 2, 5, 9]
    assert [r.crisis_seq for r in records] == [1, 2, 3, 4]


def test_crisis_seq_counts_per_crisis_from_the_heads_given() -> None:
    head = ChainHead(crisis_seq=5, hash="a" * 64, mc_number=2)
    crises = [ALEX, ROYA, ALEX, ROYA, ALEX]
    batch = [_decoded(incident_reported(crisis_id=c), p) for p, c in enumerate(crises, start=10)]
    records, heads = chain(batch, {ALEX: head})
    assert [(r.crisis_id, r.crisis_seq) for r in records] == [
        (ALEX, 6),
        (ROYA, 1),
        (ALEX, 7),
        (ROYA, 2),
        (ALEX, 8),
    ]
    assert heads[ALEX] == ChainHead(8, records[4].hash, 2)
    assert heads[ROYA] == ChainHead(2, records[3].hash, 0)


def test_main_courante_entries_are_numbered_without_gaps_per_crisis() -> None:
    events: list[Envelope] = [
        _main_courante(ALEX),
        incident_reported(crisis_id=ALEX),
        _main_courante(ROYA),
        _main_courante(ALEX),
        incident_reported(crisis_id=ROYA),
        _main_courante(ALEX),
    ]
    batch = [_decoded(event, p) for p, event in enumerate(events, start=1)]
    records, heads = chain(batch, {ALEX: ChainHead(3, "b" * 64, 4)})
    assert records[0].type == MAIN_COURANTE_ENTRY
    assert [(r.crisis_id, r.mc_number) for r in records] == [
        (ALEX, 5),
        (ALEX, None),
        (ROYA, 1),
        (ALEX, 6),
        (ROYA, None),
        (ALEX, 7),
    ]
    assert (heads[ALEX].mc_number, heads[ROYA].mc_number) == (7, 1)


def test_each_record_links_to_the_hash_of_the_one_before_it_in_its_crisis() -> None:
    crises = [ALEX, ROYA, ALEX, ALEX, ROYA]
    batch = [_decoded(incident_reported(crisis_id=c), p) for p, c in enumerate(crises, start=1)]
    records, _ = chain(batch, {ROYA: ChainHead(1, "c" * 64, 0)})
    last = {ALEX: GENESIS_HASH, ROYA: "c" * 64}
    for record in records:
        assert record.prev_hash == last[record.crisis_id]
        assert record.hash == chain_hash(
            record.prev_hash, record.crisis_seq, record.position, record.columns, record.payload
        )
        last[record.crisis_id] = record.hash
    assert len({r.hash for r in records}) == len(records)


def test_first_of_each_id_drops_known_ids_and_repeats_keeping_the_lowest_position() -> None:
    known, repeated, fresh = incident_reported(), incident_reported(), incident_reported()
    batch = [
        _decoded(repeated, 7),
        _decoded(known, 3),
        _decoded(fresh, 5),
        _decoded(repeated, 2),
    ]
    kept = first_of_each_id(batch, {known.event_id})
    assert [(d.event.event_id, d.delivery.position) for d in kept] == [
        (repeated.event_id, 2),
        (fresh.event_id, 5),
    ]


# -- verify_chain ------------------------------------------------------------------------------


def test_an_intact_chain_has_no_fault_and_the_cursor_ends_at_its_head() -> None:
    records = _records(6)
    fault, cursor = verify_chain(ALEX, records)
    assert fault is None
    assert cursor == ChainCursor(ChainHead(6, records[-1].hash, 0), records[-1].position)


def _payload_changed(records: list[LogRecord]) -> list[LogRecord]:
    records[2] = records[2]._replace(payload=records[2].payload.replace("Vésubie", "Roya"))
    return records


def _record_missing(records: list[LogRecord]) -> list[LogRecord]:
    return records[:2] + records[3:]


def _removed_and_renumbered(records: list[LogRecord]) -> list[LogRecord]:
    return records[:2] + [r._replace(crisis_seq=r.crisis_seq - 1) for r in records[3:]]


def _positions_swapped(records: list[LogRecord]) -> list[LogRecord]:
    second, third = records[1], records[2]
    records[1] = second._replace(position=third.position)
    records[2] = third._replace(position=second.position)
    return _rehashed(records)


DAMAGES = {
    "payload changed": (_payload_changed, "changed"),
    "record missing": (_record_missing, "missing"),
    "removed and renumbered": (_removed_and_renumbered, "does not follow"),
    "positions swapped": (_positions_swapped, "not after"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_chain_is_reported_at_the_third_record(damage: str) -> None:
    broken, words = DAMAGES[damage]
    fault, cursor = verify_chain(ALEX, broken(_records(6)))
    assert fault is not None
    assert (fault.crisis_id, fault.crisis_seq) == (ALEX, 3)
    assert words in fault.problem
    assert cursor.head.crisis_seq == 2


def test_each_kind_of_damage_is_described_differently() -> None:
    problems = set()
    for broken, _ in DAMAGES.values():
        fault, _ = verify_chain(ALEX, broken(_records(6)))
        assert fault is not None
        problems.add(fault.problem)
    assert len(problems) == len(DAMAGES)


@pytest.mark.parametrize("damage", [None, *DAMAGES])
@pytest.mark.parametrize("split", [1, 2, 3, 4])
def test_verifying_in_two_chunks_gives_the_same_answer_as_one_pass(
    damage: str | None, split: int
) -> None:
    records = _records(6) if damage is None else DAMAGES[damage][0](_records(6))
    whole = verify_chain(ALEX, records)
    fault, cursor = verify_chain(ALEX, records[:split])
    if fault is None:
        fault, cursor = verify_chain(ALEX, records[split:], cursor)
    assert (fault, cursor) == whole


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2020, 10, 2, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2020, 10, 2, 12, 0, tzinfo=UTC),
        datetime(2020, 10, 2, 14, 0, 5, 7, tzinfo=timezone(timedelta(hours=2))),
        datetime(2, 1, 1, tzinfo=UTC),
    ],
)
def test_an_instant_is_stored_on_sqlite_as_sqlalchemy_stores_it_and_read_back_equal(
    moment: datetime,
) -> None:
    stored = DATETIME().bind_processor(sqlite.dialect())(
        moment.astimezone(UTC).replace(tzinfo=None)
    )
    assert _sqlite_instant(moment) == stored
    back = _sqlite_read_instant(_sqlite_instant(moment))
    assert back == moment
    assert back.tzinfo is UTC
