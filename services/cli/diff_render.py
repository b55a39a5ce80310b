"""The changes between two pictures, rendered for an operator at a terminal."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from services.cli.picture_render import clip, short_id, when
from services.picture.fold import new_picture

SECTION_TITLES = {
    "bilan": "Bilan",
    "main_courante": "Main courante",
    "plans": "Plans",
    "engaged_by_service": "Moyens engagés",
    "resources": "Moyens",
    "decisions": "Décisions",
    "tasks": "Tâches",
    "vigilance": "Vigilance",
    "vigipirate": "Vigipirate",
    "sitrep": "Point de situation",
    "alerts": "Communication",
    "press_releases": "Communication",
}
CHANGES = {"added": "green", "removed": "red", "changed": "yellow"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LABELS = ("title", "headline", "text", "summary", "plan_name", "name", "description", "posture")


def summary(value: Any, width: int = 60) -> str:
    """A value in a few words: long dicts and lists shortened, event ids to their first block."""
    if isinstance(value, dict):
        return _dict_summary(value, width)
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return clip("[" + ", ".join(str(item) for item in value) + "]", width)
        return f"[{len(value)} items]"
    if value is None:
        return "none"
    if isinstance(value, str) and _UUID.fullmatch(value):
        return short_id(value)
    return clip(value, width)


def _dict_summary(value: dict[str, Any], width: int) -> str:
    """A labelled record by its label (`{title="…", +12 more}`), a small one by its values."""
    label = next((key for key in _LABELS if value.get(key)), None)
    if label is not None:
        rest = f", +{len(value) - 1} more" if len(value) > 1 else ""
        return "{" + f'{label}="{clip(value[label], width - 24)}"{rest}' + "}"
    pairs = ", ".join(f"{key}={summary(item, 24)}" for key, item in value.items())
    return clip("{" + pairs + "}", width)


def _list_rows(before: list[Any], after: list[Any]) -> Iterator[tuple[Text, Text]]:
    for item in after:
        if item not in before:
            yield Text("+", "green"), Text(summary(item, 90))
    for item in before:
        if item not in after:
            yield Text("-", "red"), Text(summary(item, 90))


def change_rows(change: dict[str, Any]) -> Iterator[tuple[Text, Text, Text]]:
    """`added/removed/changed path: before -> after`, then the items a list gained or lost."""
    kind = change["change"]
    if kind == "added":
        value = summary(change["after"], 90)
    elif kind == "removed":
        value = summary(change["before"], 90)
    else:
        value = f"{summary(change['before'])} -> {summary(change['after'])}"
    yield Text(kind, CHANGES[kind]), Text(change["path"] + ":", "bold"), Text(value)
    before, after = change.get("before"), change.get("after")
    if isinstance(before, list) and isinstance(after, list):
        for sign, item in _list_rows(before, after):
            yield Text(""), Text.assemble("  ", sign), item


def render_diff(result: dict[str, Any]) -> list[RenderableType]:
    """The changes between two pictures, grouped by section of the picture, with a count."""
    full = "%Y-%m-%d %H:%M:%S %Z"
    start, end = result["from"], result["to"]
    head = Text.assemble(
        (result["crisis_id"], "bold"),
        f": from position {start['position']} (as of {when(start['recorded_at'], full)})"
        f" to position {end['position']} (as of {when(end['recorded_at'], full)}): ",
        (f"{result['count']} changes", "bold"),
    )
    found: list[RenderableType] = [head]
    for section, changes in _by_section(result["changes"]):
        title = SECTION_TITLES.get(section)
        found.append(Text.assemble(
            ("\n" + section, "bold"), f" · {title}" if title else "", f"  ({len(changes)})"
        ))  # fmt: skip
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, min_width=9)
        grid.add_column(no_wrap=True)
        grid.add_column()
        for change in changes:
            for row in change_rows(change):
                grid.add_row(*row)
        found.append(grid)
    if not result["changes"]:
        found.append(Text("no change", "dim"))
    return found


def _by_section(changes: Iterable[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Changes grouped by top-level key, sections in the picture's own order."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        sections.setdefault(change["path"].split(".", 1)[0], []).append(change)
    order = list(new_picture(""))
    return sorted(
        sections.items(),
        key=lambda item: order.index(item[0]) if item[0] in order else len(order),
    )
