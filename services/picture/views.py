"""What is shown of pictures: every crisis folded at once, the view at an instant, and diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from services.picture.fold import Event, Picture, fold, new_picture
from services.picture.shape import Entry, FollowUp, Task

Pictures = dict[str, Picture]
INTERNAL = ("bilan_sums",)


def fold_any(pictures: Pictures, event: Event, position: int, recorded_at: str) -> Picture:
    """Fold an event of any crisis into the picture of its crisis (made on its first event)."""
    crisis_id: str = event["crisis_id"]
    picture = pictures.get(crisis_id)
    if picture is None:
        picture = pictures[crisis_id] = new_picture(crisis_id)
    return fold(picture, event, position, recorded_at)


class ShownTask(Task):
    """A task as shown: flagged when open past its due time."""

    overdue: bool


class ShownEntry(Entry):
    """An entry of the main courante as shown: flagged when its follow-up is open past due."""

    overdue: bool


class ShownFollowUp(FollowUp):
    """A follow-up as shown: flagged when past due."""

    overdue: bool


class ShownMainCourante(TypedDict):
    """The main courante as shown: its count, and its latest entries flagged."""

    count: int
    latest: list[ShownEntry]


def view(picture: Picture, at: str, *, open_incidents: int | None = None) -> dict[str, object]:
    """The picture as shown at instant `at` (ISO, UTC): open tasks and follow-ups past due flagged.

    `at` is the instant the picture is asked for (now, or the `as_of` instant), so the flags are
    computed when shown and the fold itself never reads a clock. `open_incidents`, if known,
    spares counting them (a stored picture counts them without parsing its incidents).
    """
    shown: dict[str, object] = {k: v for k, v in picture.items() if k not in INTERNAL}
    tasks: dict[str, ShownTask] = {
        task_id: {
            **task,
            "overdue": is_overdue(task.get("due_at"), at, still_open=task.get("state") == "open"),
        }
        for task_id, task in picture["tasks"].items()
    }
    shown["tasks"] = tasks
    shown["open_tasks"] = sum(1 for t in picture["tasks"].values() if t.get("state") == "open")
    shown["overdue_tasks"] = sum(1 for t in tasks.values() if t["overdue"])
    journal: ShownMainCourante = {
        **picture["main_courante"],
        "latest": [
            {
                **entry,
                "overdue": is_overdue(
                    entry.get("follow_up_due"),
                    at,
                    still_open="follow_up_done" not in entry,
                ),
            }
            for entry in picture["main_courante"]["latest"]
        ],
    }
    shown["main_courante"] = journal
    follow_ups: dict[str, ShownFollowUp] = {
        entry_id: {
            **follow_up,
            "overdue": is_overdue(
                follow_up.get("due"), at, still_open=follow_up.get("state") == "open"
            ),
        }
        for entry_id, follow_up in picture.get("follow_ups", {}).items()
    }
    shown["follow_ups"] = follow_ups
    shown["overdue_follow_ups"] = sum(1 for f in follow_ups.values() if f["overdue"])
    shown["active_plans"] = sorted(
        code for code, plan in picture["plans"].items() if plan.get("state") == "active"
    )
    shown["open_incidents"] = (
        sum(1 for i in picture["incidents"].values() if i["state"] == "open")
        if open_incidents is None
        else open_incidents
    )
    shown["shown_at"] = at
    return shown


def comparable(picture: Picture) -> dict[str, object]:
    """The view of a picture without what depends on the instant it is shown at: for diffs.

    Overdue flags (of tasks and of main-courante follow-ups) and their count change with the
    clock, not with the log, so they would make two views of one position differ.
    """
    shown = view(picture, picture["recorded_at"] or "1970-01-01T00:00:00+00:00")
    del shown["shown_at"], shown["overdue_tasks"], shown["overdue_follow_ups"]
    # Without their flags, the tasks, entries and follow-ups are the picture's own.
    shown["tasks"] = {key: dict(task) for key, task in picture["tasks"].items()}
    shown["follow_ups"] = {key: dict(f) for key, f in picture.get("follow_ups", {}).items()}
    journal = picture["main_courante"]
    shown["main_courante"] = {**journal, "latest": [dict(e) for e in journal["latest"]]}
    return shown


def is_overdue(due: str | None, at: str | datetime, *, still_open: bool = True) -> bool:
    """Whether something due at `due` and still open is past due at instant `at` (ISO, or
    parsed once by a caller that asks for many)."""
    # Instants may carry different offsets (+02:00 from an operator, Z from the stream).
    if not due or not still_open:
        return False
    return datetime.fromisoformat(due) < (datetime.fromisoformat(at) if isinstance(at, str) else at)


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every change from `before` to `after`: added, removed and changed values, by path."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in before.keys() | after.keys():
            where = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append({"path": where, "change": "removed", "before": before[key]})
            elif key not in before:
                changes.append({"path": where, "change": "added", "after": after[key]})
            elif before[key] != after[key]:
                changes.extend(diff(before[key], after[key], where))
        return sorted(changes, key=lambda change: change["path"])
    if before != after:
        return [{"path": path, "change": "changed", "before": before, "after": after}]
    return []
