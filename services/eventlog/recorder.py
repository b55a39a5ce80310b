"""The recorder: what the event log does with each batch the bus delivers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.exc import IntegrityError

from schemas import subjects
from schemas.envelope import STANDING_WATCH, utc_now
from schemas.events import InputRejected
from schemas.subjects import SubjectError
from services.eventlog.core import (
    Decoded,
    Delivery,
    LogRecord,
    Undecodable,
    chain,
    decode_delivery,
    first_of_each_id,
)
from services.eventlog.store import EventStore, RejectedInput
from services.runtime.locks import NoRecorderLock, RecorderLock
from services.runtime.publish import MSG_ID, publish_event
from services.runtime.streams import delivery_point
from services.runtime.topology import CRISIS_STREAM

log = structlog.get_logger(__name__)

EXCERPT = 4096


@dataclass(frozen=True, slots=True)
class PositionConflict:
    """The stream delivers an event at a position the log holds with another event: the two
    have diverged (two systems on one store, or a stream made anew under an existing log)."""

    position: int
    held_event_id: UUID
    delivered_event_id: UUID
    delivered: str

    def __str__(self) -> str:
        return (
            f"position {self.position} is held in the log by event {self.held_event_id}, "
            f"but the stream delivers event {self.delivered_event_id} there "
            f"({self.delivered}): the stream and the log have diverged"
        )


# What the operator reads when the recorder stops on a conflict, or loses its lock.
CONFLICT_ACTION = (
    "the event log stopped recording and acks nothing more. Make sure one system only runs on "
    "this JetStream store and this database (`crisis log verify` names every position where the "
    "log and the stream differ); then keep the log (it is the record) and move aside the "
    "stream, or the database, that is not the one this log was written from, before starting "
    "the event log again"
)
LOST_LOCK_ACTION = (
    "the event log stopped recording and acks nothing more: another recorder may write the "
    "log now (see its own lines); restart this one to wait for its turn"
)


def delivery_of(msg: Msg) -> Delivery:
    """The library-independent view of a JetStream message."""
    position, recorded_at, attempt = delivery_point(msg)
    return Delivery(position, recorded_at, msg.subject, msg.data, attempt)


class Recorder:
    """Write each batch to the log, then ack it; dead-letter what can never be decoded.

    Batches are pipelined: while one batch commits (the database works in its own thread), the
    next is fetched and decoded. Commits stay strictly one after the other, each chained onto
    the heads the previous one left.

    It stops for good (`halted` says why, `on_halt` is told) when the stream delivers an event
    at a position the log holds with another event, or when it no longer holds the log's
    recorder lock: what it was delivered then stays unacknowledged, and nothing more is written.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        max_deliver: int,
        retry_delay: float = 1.0,
        lock: RecorderLock | None = None,
        on_halt: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.max_deliver = max_deliver
        self.retry_delay = retry_delay
        self.lock = lock or NoRecorderLock()
        self.on_halt = on_halt
        self.recorded = 0
        self.halted: str | None = None
        self.conflict: PositionConflict | None = None
        self._in_flight: asyncio.Task[None] | None = None

    async def record(self, messages: Sequence[Msg], js: JetStreamContext) -> None:
        """Decode `messages`, then (once the previous batch is in) chain and start their commit."""
        results = [(msg, decode_delivery(delivery_of(msg))) for msg in messages]
        await self.drain()
        if self.halted is not None:
            return  # stopped: nothing is written, acked or refused any more
        valid = [(msg, r) for msg, r in results if isinstance(r, Decoded)]
        undecodable = [(msg, r) for msg, r in results if isinstance(r, Undecodable)]
        delivered = {r.delivery.position for _, r in results}
        try:
            records = await self.prepare([r for _, r in valid], js, delivered)
        except Exception:
            log.exception("eventlog.prepare_failed", batch=len(valid))
            await self._nak([msg for msg, _ in valid])
            records = None
        # Kept in self._in_flight and awaited by drain(): never left to run unobserved.
        self._in_flight = asyncio.create_task(  # noqa: RUF006
            self._commit_then_ack(records, [msg for msg, _ in valid], undecodable, js)
        )

    async def drain(self) -> None:
        """Wait until the batch in flight is committed and acknowledged."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def prepare(
        self, batch: Sequence[Decoded], js: JetStreamContext, delivered: set[int]
    ) -> list[LogRecord]:
        """Records for the events of `batch` the log does not hold yet, chained onto its heads."""
        if not batch:
            return []
        batch = [*batch, *await self.overtaken(batch, js, delivered)]
        known = await self.store.known_event_ids(d.event.event_id for d in batch)
        fresh = first_of_each_id(batch, known)
        heads = await self.store.heads(d.event.crisis_id for d in fresh)
        records, _ = chain(fresh, heads)
        return records

    async def _commit_then_ack(
        self,
        records: list[LogRecord] | None,
        valid: list[Msg],
        undecodable: list[tuple[Msg, Undecodable]],
        js: JetStreamContext,
    ) -> None:
        if records is not None:
            if not await self.lock.held():
                self.halt(
                    f"this recorder lost the recorder lock of {self.lock.where}", LOST_LOCK_ACTION
                )
                return
            try:
                await self.store.append(records)
            except IntegrityError:
                if await self._stopped_on_conflict(records):
                    return
                log.exception("eventlog.commit_failed", batch=len(valid))
                await self._nak(valid)
            except Exception:
                log.exception("eventlog.commit_failed", batch=len(valid))
                await self._nak(valid)
            else:
                for msg in valid:
                    await msg.ack()
                self.recorded += len(records)
        for msg, bad in undecodable:
            await self.refuse(msg, bad, js)

    async def _stopped_on_conflict(self, records: Sequence[LogRecord]) -> bool:
        """After a refused commit: halt if a position of `records` is held by another event."""
        try:
            conflict = await self.find_conflict(records)
        except Exception:
            log.exception("eventlog.conflict_check_failed")
            return False
        if conflict is None:
            return False
        self.conflict = conflict
        self.halt(
            str(conflict),
            CONFLICT_ACTION,
            position=conflict.position,
            held_event_id=str(conflict.held_event_id),
            delivered_event_id=str(conflict.delivered_event_id),
        )
        return True

    async def find_conflict(self, records: Sequence[LogRecord]) -> PositionConflict | None:
        """The first of `records` whose position the log holds with another event id."""
        held = await self.store.event_ids_at(record.position for record in records)
        for record in records:
            there = held.get(record.position)
            if there is not None and there != record.event_id:
                delivered = f"{record.type} of crisis {record.crisis_id}"
                return PositionConflict(record.position, there, record.event_id, delivered)
        return None

    def halt(self, reason: str, action: str, **about: object) -> None:
        """Stop recording for good, loudly: the messages in hand stay unacknowledged."""
        if self.halted is not None:
            return
        self.halted = reason
        log.error("eventlog.halted", reason=reason, action=action, **about)
        if self.on_halt is not None:
            self.on_halt(reason)

    async def _nak(self, messages: Sequence[Msg]) -> None:
        for msg in messages:
            await msg.nak(delay=self.retry_delay)

    async def overtaken(
        self, batch: Sequence[Decoded], js: JetStreamContext, delivered: set[int]
    ) -> list[Decoded]:
        """Valid events between the log's last position and `batch` that were not delivered.

        JetStream hands newer messages over while older ones wait for their redelivery (held by a
        killed recorder, or nak'ed after a failed commit): they are read from the stream, so that
        the log is still written in stream order. Their own delivery comes later, as known ids.
        """
        after = await self.store.last_position()
        top = max(d.delivery.position for d in batch)
        if top - after - 1 <= sum(after < p < top for p in delivered):
            return []
        # A purged or archived stream starts later: what it no longer holds is not a gap.
        after = max(after, (await js.stream_info(CRISIS_STREAM)).state.first_seq - 1)
        found: list[Decoded] = []
        for position in range(after + 1, top):
            if position in delivered:
                continue
            try:
                msg = await js.get_msg(CRISIS_STREAM, position)
            except NotFoundError:
                continue
            if msg.subject is None or msg.time is None:
                raise RuntimeError(f"the stream returned message {position} without its subject")
            delivery = Delivery(position, msg.time.astimezone(UTC), msg.subject, msg.data or b"")
            result = decode_delivery(delivery)
            if isinstance(result, Decoded):
                found.append(result)
        if found:
            log.info("eventlog.overtaken", read_from_stream=len(found), before=top)
        return found

    async def refuse(self, msg: Msg, bad: Undecodable, js: JetStreamContext) -> None:
        """Retry an undecodable message until max_deliver, then keep it with its reason."""
        position = bad.delivery.position
        if bad.delivery.attempt < self.max_deliver:
            log.warning("eventlog.undecodable", position=position, reason=bad.reason)
            await msg.nak(delay=self.retry_delay)
            return
        try:
            await self.dead_letter(bad, js)
        except Exception:
            log.exception("eventlog.deadletter_failed", position=position)
            await msg.nak(delay=self.retry_delay)
            return
        log.error("eventlog.dead_lettered", position=position, reason=bad.reason)
        await msg.term()

    async def dead_letter(self, bad: Undecodable, js: JetStreamContext) -> None:
        """Keep the raw message in the rejected-inputs table and the dead-letter stream."""
        delivery = bad.delivery
        rejected = RejectedInput(
            source=bad.source,
            reason=bad.reason,
            raw=delivery.data,
            rejected_at=utc_now(),
            field=bad.field,
            subject=delivery.subject,
            stream=CRISIS_STREAM,
            position=delivery.position,
            content_type="application/json",
        )
        await self.store.add_rejected(rejected)
        await js.publish(
            subjects.deadletter(bad.source),
            delivery.data,
            headers={
                MSG_ID: f"{CRISIS_STREAM}-{delivery.position}",
                "Crisis-Reject-Reason": bad.reason[:1000],
                "Crisis-Reject-Field": bad.field or "",
                "Crisis-Original-Subject": delivery.subject[:255],
                "Crisis-Original-Position": str(delivery.position),
            },
        )
        await publish_event(js, _rejection_event(bad, rejected))


def _crisis_of(subject: str) -> str:
    parts = subject.split(".")
    try:
        return subjects.token(parts[1]) if len(parts) > 1 else STANDING_WATCH
    except SubjectError:
        return STANDING_WATCH


def _rejection_event(bad: Undecodable, rejected: RejectedInput) -> InputRejected:
    """The log's own record that a message was refused, in the crisis it was addressed to."""
    now: datetime = rejected.rejected_at
    return InputRejected(
        crisis_id=_crisis_of(bad.delivery.subject),
        occurred_at=bad.delivery.recorded_at,
        received_at=now,
        source="eventlog",
        actor="service:eventlog",
        input_source=bad.source,
        reason=bad.reason[:20_000],
        detail_path=bad.field[:500] if bad.field else None,
        content_type=rejected.content_type,
        raw_size=len(rejected.raw),
        raw_sha256=rejected.raw_sha256,
        raw_excerpt=rejected.raw[:EXCERPT].decode("utf-8", "replace")[:EXCERPT],
    )
