"""The log's bulk path builds what SQLAlchemy's column types would, without their per-value cost."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from services.eventlog.bulk import _sqlite_instant, uuid_from_hex

pytestmark = pytest.mark.unit


@given(st.uuids(version=None) | st.uuids(version=4) | st.uuids(version=1))
def test_a_uuid_read_from_its_stored_hex_is_the_uuid_python_would_make(made: UUID) -> None:
    read = uuid_from_hex(made.hex)

    assert read == made
    assert hash(read) == hash(made)
    assert (str(read), read.version, read.variant) == (str(made), made.version, made.variant)
    assert read.is_safe is UUID(hex=made.hex).is_safe
    assert pickle.loads(pickle.dumps(read)) == made  # noqa: S301 (bytes it just wrote)
    assert copy.deepcopy(read) == made
    assert type(read) is UUID


def test_a_uuid_read_from_its_hex_is_immutable_like_any_other() -> None:
    read = uuid_from_hex("0" * 31 + "1")

    with pytest.raises(TypeError):
        read.int = 2  # type: ignore[misc]


# Hypothesis takes naive bounds and draws the zone apart.
EARLIEST, LATEST = datetime(1970, 1, 2), datetime(9998, 12, 30)  # noqa: DTZ001


@given(moment=st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.timezones()))
def test_an_instant_is_stored_as_sqlalchemy_stores_it_on_sqlite(moment: datetime) -> None:
    in_utc = moment.astimezone(UTC)
    expected = (
        f"{in_utc.year:04d}-{in_utc.month:02d}-{in_utc.day:02d} "
        f"{in_utc.hour:02d}:{in_utc.minute:02d}:{in_utc.second:02d}.{in_utc.microsecond:06d}"
    )

    assert _sqlite_instant(moment) == expected
    # As pydantic makes them (its own UTC zone, not `datetime.UTC`).
    assert _sqlite_instant(TypeAdapter(datetime).validate_python(in_utc.isoformat())) == expected
