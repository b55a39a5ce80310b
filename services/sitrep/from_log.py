"""A point de situation rendered from the log: the picture as of its position, and its event."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from services.eventlog.store import EventStore
from services.picture.snapshots import SnapshotStore, picture_at
from services.sitrep.core import document_from
from services.sitrep.render import to_edxl_sitrep, to_html, to_markdown

Format = Literal["md", "html", "xml", "json"]
CONTENT = (
    "number",
    "as_of_position",
    "summary",
    "bilan",
    "active_plans",
    "resources",
    "decision_ids",
    "outlook",
    "next_report_at",
)


async def report_event(
    store: EventStore, crisis_id: str, number: int | None, *, draft: bool
) -> dict[str, Any] | None:
    """The issued (or drafted) report `number` of a crisis, the last one when None."""
    kind = "sitrep.drafted" if draft else "sitrep.issued"
    found = None
    async for record in store.read(crisis_id):
        if record.type == kind:
            event = orjson.loads(record.payload)
            if number in (None, event["number"]):
                found = event
    return found


async def render_report(
    store: EventStore, crisis_id: str, number: int | None, fmt: Format, *, draft: bool = False
) -> bytes | None:
    """The report in the format asked, or None when the log holds no such report."""
    report = await report_event(store, crisis_id, number, draft=draft)
    if report is None:
        return None
    if fmt == "json":
        return orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"
    snapshots = SnapshotStore(store.engine)
    picture = await picture_at(store, snapshots, crisis_id, position=report["as_of_position"])
    document = document_from(
        picture,
        {k: v for k, v in report.items() if k in CONTENT},
        validated_by=report.get("validated_by"),
        issued_at=None if draft else report["occurred_at"],
    )
    if fmt == "md":
        return to_markdown(document).encode()
    if fmt == "html":
        return to_html(document).encode()
    return to_edxl_sitrep(document)
