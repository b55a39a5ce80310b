"""Every event type of the catalogue is folded, and a live client is told which part it changed."""

from __future__ import annotations

import orjson
import pytest

from schemas.catalogue import EVENT_TYPES, type_name
from services.picture.fold import FOLDS, fold, new_picture
from services.picture.live import change_of
from tests.unit.samples import sample_event

pytestmark = pytest.mark.unit

CATALOGUE = sorted(type_name(cls) for cls in EVENT_TYPES)


def test_every_catalogue_type_has_a_fold_handler_and_a_live_section() -> None:
    assert [t for t in CATALOGUE if t not in FOLDS] == []
    assert [t for t in CATALOGUE if not callable(FOLDS[t].handler) or not FOLDS[t].section] == []


def test_the_folds_are_of_catalogue_types_only() -> None:
    assert [t for t in FOLDS if t not in CATALOGUE] == []


def test_each_section_is_a_part_of_the_picture_keyed_by_a_field_of_its_event() -> None:
    parts = set(new_picture("crue")) | {"crisis"}
    fields = {type_name(cls): set(cls.model_fields) for cls in EVENT_TYPES}
    assert [t for t, f in FOLDS.items() if f.section not in parts] == []
    assert [t for t, f in FOLDS.items() if f.key_field not in {None, *fields[t]}] == []


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=type_name)
def test_the_change_of_each_type_names_its_own_section(cls: type) -> None:
    event = orjson.loads(sample_event(cls, crisis_id="crue").model_dump_json())
    picture = fold(new_picture("crue"), event, 1, "2020-10-02T12:00:00Z")
    change = change_of(picture, event)
    assert change["type"] == event["type"]
    assert change["section"] == FOLDS[event["type"]].section
    assert change["position"] == 1
