"""When the next point de situation of a crisis is due, from its cadence and its last report."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.picture.fold import Picture


def next_due(picture: Picture) -> datetime | None:
    """When the next report is due: as the last report said, else by the cadence; None if unset.

    The last report's `next_report_at` wins when it gave one; otherwise the cadence counts from
    the last report (or from its first due time, before any report).
    """
    cadence = picture.get("sitrep_cadence")
    last = picture.get("sitrep")
    said = last.get("next_report_at") if last is not None else None
    if said:
        return datetime.fromisoformat(said)
    if cadence is None:
        return None
    first = datetime.fromisoformat(cadence["first_due_at"])
    if last is None or last["recorded_at"] < cadence["recorded_at"]:
        return first
    return datetime.fromisoformat(last["recorded_at"]) + timedelta(minutes=cadence["every_minutes"])


def draft_due(picture: Picture, now: datetime) -> bool:
    """True when a report is due and none is drafted yet: time to draft one."""
    due = next_due(picture)
    return (
        due is not None
        and now >= due
        and picture["state"] == "open"
        and not picture.get("sitrep_drafts")
    )
