"""The dead-letter stream into the rejected-inputs table, so that operators see every refusal.

Whoever refuses an input (the intake, or the recorder itself) publishes it raw on
`deadletter.<source>` with its reason in headers. This keeper records each message once: the
recorder's own refusals carry their original stream position and are already in the table, so
they meet the table's unique (stream, position) and are skipped.
"""

from __future__ import annotations

import structlog
from nats.aio.msg import Msg

from services.eventlog.store import EventStore, RejectedInput
from services.runtime.streams import instant_text
from services.runtime.topology import CRISIS_STREAM, DEADLETTER_STREAM

log = structlog.get_logger(__name__)

H_REASON = "Crisis-Reject-Reason"
H_FIELD = "Crisis-Reject-Field"
H_ORIGINAL_POSITION = "Crisis-Original-Position"
H_ORIGINAL_SUBJECT = "Crisis-Original-Subject"
H_CONTENT_TYPE = "Content-Type"


def rejected_input(msg: Msg) -> RejectedInput:
    """The table row of one dead-letter message."""
    headers = dict(msg.headers or {})
    meta = msg.metadata
    original = headers.get(H_ORIGINAL_POSITION, "")
    stream, position = (
        (CRISIS_STREAM, int(original))
        if original.isdigit()
        else (DEADLETTER_STREAM, meta.sequence.stream)
    )
    return RejectedInput(
        source=msg.subject.split(".", 1)[1] if "." in msg.subject else "unknown",
        reason=headers.get(H_REASON) or "no reason given",
        raw=msg.data,
        rejected_at=meta.timestamp,
        field=headers.get(H_FIELD) or None,
        subject=headers.get(H_ORIGINAL_SUBJECT) or msg.subject,
        stream=stream,
        position=position,
        content_type=headers.get(H_CONTENT_TYPE) or None,
        headers={k: v for k, v in headers.items() if k.startswith(("Crisis-", "Content-"))},
    )


async def keep(store: EventStore, msg: Msg) -> None:
    """Record one dead-letter message (idempotent), then ack it."""
    row = rejected_input(msg)
    await store.add_rejected(row)
    await msg.ack()
    log.info(
        "eventlog.rejected_kept",
        source=row.source,
        reason=row.reason[:200],
        at=instant_text(row.rejected_at),
    )
