"""What the intake decided, onto the bus: events published, contents stored, refusals kept.

Accepted: each content an input brought (embedded resources, and the input itself) is put in
the `crisis-intake` object store under its SHA-256, then the events are published with their
stable ids, then the correlation index learns them. Refused: the raw input goes to
`deadletter.<feed>` with the reason and the path in headers (the event log keeps it in the
rejected-inputs table), and an `input.rejected` event records the refusal in the standing watch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import structlog
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError
from nats.js.object_store import ObjectStore

from schemas import subjects
from schemas.envelope import STANDING_WATCH, utc_now
from schemas.events import InputRejected
from schemas.events.system import RAW_EXCERPT_MAX
from services.eventlog.deadletters import H_CONTENT_TYPE, H_FIELD, H_REASON
from services.intake.core import Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.mapping import OBJECT_BUCKET, event_id
from services.intake.xmlsafe import without_secrets
from services.runtime.publish import MSG_ID, publish_event

log = structlog.get_logger(__name__)

H_INPUT = "Crisis-Input-Name"
H_RAW_SIZE = "Crisis-Raw-Size"
H_RAW_SHA256 = "Crisis-Raw-Sha256"
H_TRUNCATED = "Crisis-Raw-Truncated"
# Room left in a bus message for the headers beside the raw input.
_HEADER_ROOM = 8 * 1024
_REMEMBERED_DIGESTS = 100_000
_UNSAFE_HEADER = re.compile(r"[\r\n\x00-\x1f]+")


def header_value(text: str, limit: int = 1000) -> str:
    """A header value: one line, bounded."""
    return _UNSAFE_HEADER.sub(" ", text)[:limit]


class Dispatcher:
    """Publishes outcomes; the one place the intake writes to the bus."""

    def __init__(self, js: JetStreamContext, index: CorrelationIndex, *, max_payload: int) -> None:
        self.js = js
        self.index = index
        self.keep_max = max(1024, max_payload - _HEADER_ROOM)
        self.objects: ObjectStore | None = None
        self._stored: set[str] = set()

    async def start(self) -> None:
        """Open (or create) the object store that keeps inputs and their contents."""
        try:
            self.objects = await self.js.object_store(OBJECT_BUCKET)
        except BucketNotFoundError:
            self.objects = await self.js.create_object_store(
                OBJECT_BUCKET,
                config=ObjectStoreConfig(
                    description="Inputs as received and the contents they carried, by SHA-256.",
                    storage=StorageType.FILE,
                ),
            )

    async def deliver(
        self,
        outcomes: Sequence[Outcome],
        raw: bytes,
        *,
        feed: str,
        content_type: str | None = None,
    ) -> None:
        """Publish the accepted outcomes and keep the refused ones, in order."""
        for outcome in outcomes:
            if outcome.accepted:
                await self.publish(outcome)
            elif outcome.refused:
                await self.keep_refused(outcome, raw, feed=feed, content_type=content_type)

    async def publish(self, outcome: Outcome) -> None:
        """Store the contents, publish the events, then remember what they identify."""
        for digest, content in outcome.blobs.items():
            await self.store(digest, content)
        for event in outcome.events:
            await publish_event(self.js, event)
        for keys, ref in outcome.learnt:
            self.index.remember(keys, ref)
        for event in outcome.events:  # engagements, Cancels of alerts not received yet
            self.index.observe(event.to_wire())

    async def store(self, digest: str, content: bytes) -> None:
        """Put `content` in the object store under its digest, once."""
        if self.objects is None or digest in self._stored:
            return
        # Named by its digest, so putting it again after a restart rewrites the same bytes.
        await self.objects.put(digest, content)
        if len(self._stored) >= _REMEMBERED_DIGESTS:
            self._stored.clear()  # forgetting only costs a rewrite of the same bytes
        self._stored.add(digest)

    async def keep_refused(
        self, outcome: Outcome, raw: bytes, *, feed: str, content_type: str | None
    ) -> None:
        """The raw input to the dead-letter stream with its reason, and an input.rejected event."""
        error = outcome.error
        reason = error.reason if error else "refused"
        path = (error.path if error else None) or outcome.path
        raw = without_secrets(raw)
        digest = hashlib.sha256(raw).hexdigest()
        kept = raw[: self.keep_max]
        headers = {
            MSG_ID: f"intake-{digest[:40]}-{hashlib.sha256(path.encode()).hexdigest()[:12]}",
            H_REASON: header_value(reason),
            H_FIELD: header_value(path, 500),
            H_INPUT: header_value(outcome.input, 255),
            H_CONTENT_TYPE: header_value(content_type or "application/octet-stream", 255),
            H_RAW_SIZE: str(len(raw)),
            H_RAW_SHA256: digest,
        }
        if len(kept) < len(raw):
            headers[H_TRUNCATED] = f"first {len(kept)} of {len(raw)} bytes kept"
        await self.js.publish(subjects.deadletter(feed), kept, headers=headers)
        now = utc_now()
        await publish_event(
            self.js,
            InputRejected(
                event_id=event_id("rejected", digest, path),
                crisis_id=STANDING_WATCH,
                occurred_at=now,
                received_at=now,
                source="intake",
                actor="service:intake",
                input_source=feed,
                reason=reason[:20_000],
                detail_path=path[:500],
                content_type=content_type[:500] if content_type else None,
                raw_size=len(raw),
                raw_sha256=digest,
                raw_excerpt=raw[:RAW_EXCERPT_MAX].decode("utf-8", "replace")[:RAW_EXCERPT_MAX],
            ),
        )
        log.warning("intake.rejected", feed=feed, input=outcome.input, path=path, reason=reason)
