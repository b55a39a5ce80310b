"""The log's bulk path builds what SQLAlchemy's column types would, without their per-value cost."""

from __future__ import annotations

import copy
import pickle
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.eventlog.bulk import uuid_from_hex

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
