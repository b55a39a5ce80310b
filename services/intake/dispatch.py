"""What the intake decided, onto the bus: events published, contents stored, refusals kept.

Accepted: each content an input brought (embedded resources, and the input itself) is put in
the `crisis-intake` object store under its SHA-256, then the events are published with their
stable ids, then the correlation index learns them. Refused: the raw input goes to
`deadletter.<feed>` with the reason and the path in headers (the event log keeps it in the
rejected-inputs table), and an `input.rejected` event records the refusal in the standing watch.

The contents are put without waiting for each message in turn: the chunks and the object's
record (the layout every NATS client reads, ADR-20, built with nats-py's own `ObjectInfo`) are
sent together (and the contents of one input together), the record only if the bucket holds no
record of that name yet (`Nats-Expected-Last-Subject-Sequence: 0`): nats-py's put looks the name
up first and waits for each message's ack in turn, three round trips instead of one. Only once
JetStream acked them all are the events published, so that an event never names an input that
is not kept; the caller answers its sender after the events' acks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Awaitable, Iterable, Sequence
from datetime import UTC, datetime

import orjson
import structlog
from nats.js import JetStreamContext
from nats.js.api import (
    Header,
    ObjectInfo,
    ObjectMetaOptions,
    ObjectStoreConfig,
    StorageType,
)
from nats.js.errors import APIError, BucketNotFoundError
from nats.js.kv import MSG_ROLLUP_SUBJECT
from nats.js.object_store import (
    OBJ_CHUNKS_PRE_TEMPLATE,
    OBJ_DEFAULT_CHUNK_SIZE,
    OBJ_DIGEST_TEMPLATE,
    OBJ_META_PRE_TEMPLATE,
    OBJ_STREAM_TEMPLATE,
    ObjectStore,
)
from nats.nuid import NUID

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
# JetStream's answer to a publish whose expected last sequence on its subject is not the last.
_WRONG_LAST_SEQUENCE = 10071
_PUT_TIMEOUT_S = 5.0


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
        self._nuid = NUID()

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
        await _all(self.store(digest, content) for digest, content in outcome.blobs.items())
        # In turn: a retried publish must not let a later event of the outcome (the close of an
        # alert withdrawn before it came) into the stream before an earlier one.
        for event in outcome.events:
            await publish_event(self.js, event)
        for keys, ref in outcome.learnt:
            self.index.remember(keys, ref)
        for wire in outcome.wires:  # engagements, Cancels of alerts not received yet
            self.index.observe(wire)

    async def store(self, name: str, content: bytes) -> None:
        """Put `content` in the object store under `name` (its digest), once."""
        if self.objects is None or name in self._stored:
            return
        await self._put(self.objects, name, content)
        if len(self._stored) >= _REMEMBERED_DIGESTS:
            self._stored.clear()  # forgetting only costs a put of the same bytes
        self._stored.add(name)

    async def _put(self, objects: ObjectStore, name: str, content: bytes) -> None:
        """What `objects.put` writes, sent at once; its look-up only if `name` is there already."""
        bucket = OBJECT_BUCKET
        nuid = self._nuid.next().decode()
        chunks_subject = OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=bucket, obj=nuid)
        size = OBJ_DEFAULT_CHUNK_SIZE
        chunks = [content[i : i + size] for i in range(0, len(content), size)]
        info = ObjectInfo(
            name=name,
            bucket=bucket,
            nuid=nuid,
            size=len(content),
            chunks=len(chunks),
            mtime=datetime.now(UTC).isoformat(),
            digest=OBJ_DIGEST_TEMPLATE.format(
                digest=base64.urlsafe_b64encode(hashlib.sha256(content).digest()).decode()
            ),
            options=ObjectMetaOptions(max_chunk_size=size),
        )
        record = OBJ_META_PRE_TEMPLATE.format(
            bucket=bucket, obj=base64.urlsafe_b64encode(name.encode()).decode()
        )
        headers = {
            Header.ROLLUP.value: MSG_ROLLUP_SUBJECT,
            Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: "0",
        }
        sent = await asyncio.gather(
            *(self.js.publish(chunks_subject, chunk, timeout=_PUT_TIMEOUT_S) for chunk in chunks),
            self.js.publish(
                record, orjson.dumps(info.as_dict()), timeout=_PUT_TIMEOUT_S, headers=headers
            ),
            return_exceptions=True,
        )
        if not any(isinstance(result, BaseException) for result in sent):
            return
        chunks_ok = all(not isinstance(result, BaseException) for result in sent[:-1])
        refused = sent[-1]
        if chunks_ok and isinstance(refused, APIError) and refused.err_code == _WRONG_LAST_SEQUENCE:
            # A record of that name is there already, so this one was not written: its chunks go.
            await self.js.purge_stream(
                OBJ_STREAM_TEMPLATE.format(bucket=bucket), subject=chunks_subject
            )
        # Anything else (a time-out: the record may be written), or an object there already
        # (kept before, or left half written by a failure like this one): nats-py's own put,
        # which looks the record up, rewrites the object and removes the chunks it named.
        await objects.put(name, content)

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


async def _all(sends: Iterable[Awaitable[object]]) -> None:
    """Await every send, started together; the first failure is raised once all are settled."""
    results = await asyncio.gather(*sends, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
