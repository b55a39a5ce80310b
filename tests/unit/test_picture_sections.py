"""Every event type of the catalogue is folded, and a live client is told which part it changed."""

from __future__ import annotations

import orjson
import pytest

from schemas.catalogue import EVENT_TYPES, type_name
from services.picture.fold import HANDLERS, fold, new_picture
from services.picture.live import TOUCHES, change_of
from tests.unit.samples import sample_event

pytestmark = pytest.mark.unit

CATALOGUE = sorted(type_name(cls) for cls in EVENT_TYPES)


def test_every_catalogue_type_has_a_fold_handler_and_a_live_section() -> None:
    assert [t for t in CATALOGUE if t not in HANDLERS] == []
    assert [t for t in CATALOGUE if t not in TOUCHES] == []
    assert sorted(TOUCHES) == CATALOGUE


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=type_name)
def test_the_change_of_each_type_names_its_own_section(cls: type) -> None:
    event = orjson.loads(sample_event(cls, crisis_id="crue").model_dump_json())
    picture = fold(new_picture("crue"), event, 1, "2020-10-02T12:00:00Z")
    change = change_of(picture, event)
    assert change["type"] == event["type"]
    assert change["section"] == TOUCHES[event["type"]][0]
    assert change["position"] == 1
