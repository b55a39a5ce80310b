"""When points de situation are due: the last report's word, else the crisis' cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.picture.fold import new_picture
from services.sitrep.cadence import draft_due, next_due

pytestmark = pytest.mark.unit

T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)


def _picture(**parts: object) -> dict[str, object]:
    picture = new_picture("crue-06")
    picture["state"] = "open"
    picture.update(parts)
    return picture


def _cadence(first: datetime, every: int = 240, set_at: datetime = T0) -> dict[str, object]:
    return {
        "every_minutes": every,
        "first_due_at": first.isoformat(),
        "recorded_at": set_at.isoformat(),
    }


def _report(at: datetime, next_at: datetime | None = None) -> dict[str, object]:
    return {
        "number": 1,
        "recorded_at": at.isoformat(),
        "next_report_at": next_at.isoformat() if next_at else None,
    }


def test_no_cadence_and_no_announced_report_means_nothing_is_due() -> None:
    assert next_due(_picture()) is None
    assert not draft_due(_picture(), T0 + timedelta(days=3))


def test_before_any_report_the_first_due_time_of_the_cadence_counts() -> None:
    picture = _picture(sitrep_cadence=_cadence(T0 + timedelta(hours=1)))
    assert next_due(picture) == T0 + timedelta(hours=1)
    assert not draft_due(picture, T0 + timedelta(minutes=59))
    assert draft_due(picture, T0 + timedelta(hours=1))


def test_after_a_report_the_cadence_counts_from_it_unless_it_announced_the_next() -> None:
    cadence = _cadence(T0 + timedelta(hours=1), every=120)
    after = _picture(sitrep_cadence=cadence, sitrep=_report(T0 + timedelta(hours=2)))
    assert next_due(after) == T0 + timedelta(hours=4)
    announced = _picture(
        sitrep_cadence=cadence,
        sitrep=_report(T0 + timedelta(hours=2), next_at=T0 + timedelta(hours=3)),
    )
    assert next_due(announced) == T0 + timedelta(hours=3)


def test_a_pending_draft_or_a_closed_crisis_needs_no_new_draft() -> None:
    due = _picture(sitrep_cadence=_cadence(T0))
    assert draft_due(due, T0)
    assert not draft_due({**due, "sitrep_drafts": {"1": {}}}, T0)
    assert not draft_due({**due, "state": "closed"}, T0)
