"""Streams and consumers: defined here, in one place, and created or updated at start.

`infra/jetstream/*.json` holds the same definitions in the form `nats stream add --config`
takes; a test keeps the two in step, and `crisis infra streams DIR` rewrites them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from schemas import subjects
from services.runtime.settings import Settings

log = structlog.get_logger(__name__)

CRISIS_STREAM = "CRISIS"
DEADLETTER_STREAM = "DEADLETTER"
REPLAY_STREAM = "REPLAY"
EVENTLOG_DURABLE = "eventlog"
DEADLETTER_DURABLE = "eventlog-deadletters"


@dataclass(frozen=True, slots=True)
class Topology:
    """The stream configurations of one deployment."""

    streams: tuple[StreamConfig, ...]

    def stream(self, name: str) -> StreamConfig:
        """The configuration of stream `name`."""
        for config in self.streams:
            if config.name == name:
                return config
        raise KeyError(name)


def topology(settings: Settings, *, replicas: int | None = None) -> Topology:
    """Every stream the system needs, from `settings` (replicas: CRISIS_STREAM_REPLICAS)."""
    replicas = replicas or settings.stream_replicas
    crisis = StreamConfig(
        name=CRISIS_STREAM,
        description="Every event of every crisis, in order: the stream sequence is the position.",
        subjects=[subjects.LIVE_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        # Nothing expires: the stream is kept until an operator archives it.
        max_age=0,
        max_msg_size=settings.max_payload,
        duplicate_window=settings.duplicate_window_s,
        num_replicas=replicas,
        allow_direct=True,
    )
    deadletter = StreamConfig(
        name=DEADLETTER_STREAM,
        description=(
            "Rejected inputs and poison messages, raw, with the reason; bounded in bytes and "
            "age, the event log keeps each in its rejected_inputs table."
        ),
        subjects=[subjects.DEADLETTER_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        # Bounded, so that a sender cannot fill the bus with refusals; the oldest go first.
        discard=DiscardPolicy.OLD,
        max_bytes=settings.deadletter_max_bytes,
        max_age=settings.deadletter_max_age_days * 86_400,
        max_msg_size=settings.max_payload * 2,
        duplicate_window=settings.duplicate_window_s,
        num_replicas=replicas,
    )
    replay = StreamConfig(
        name=REPLAY_STREAM,
        description="Replays of past crises, each under its own session prefix, beside live ones.",
        subjects=[subjects.REPLAY_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        # A replay is a working copy: the log keeps the record, so replays may expire.
        max_age=settings.replay_retention_s,
        max_msg_size=settings.max_payload,
        duplicate_window=settings.duplicate_window_s,
        num_replicas=replicas,
    )
    return Topology(streams=(crisis, deadletter, replay))


def eventlog_consumer(settings: Settings) -> ConsumerConfig:
    """The event log's durable pull consumer on every live event."""
    return ConsumerConfig(
        durable_name=EVENTLOG_DURABLE,
        description="The event log: records every event, acks after the commit.",
        filter_subject=subjects.LIVE_ALL,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.eventlog_ack_wait_s,
        # No server-side limit: a valid event is retried for as long as the database is down.
        # Undecodable messages are dead-lettered by the recorder after eventlog_max_deliver.
        max_deliver=-1,
        # One batch committing while the next is decoded. After a crash, newer messages can be
        # delivered before the pending ones come back: the recorder fills such gaps from the
        # stream, so the log is still written in stream order.
        max_ack_pending=2 * settings.eventlog_batch,
    )


def deadletter_consumer() -> ConsumerConfig:
    """The event log's durable consumer of rejected inputs, kept in the rejected-inputs table."""
    return ConsumerConfig(
        durable_name=DEADLETTER_DURABLE,
        description="Keeps every rejected input in the rejected-inputs table, acks after insert.",
        filter_subject=subjects.DEADLETTER_ALL,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        # Retried as long as the database is down: a rejected input is never dropped.
        max_deliver=-1,
    )


def _comparable(config: StreamConfig) -> dict[str, Any]:
    """The fields we set, as the server echoes them back (it fills in the rest)."""
    wanted = config.as_dict()
    return {k: v for k, v in wanted.items() if v is not None}


async def ensure_topology(js: JetStreamContext, plan: Topology) -> None:
    """Create every stream that is missing and update any whose configuration drifted."""
    for config in plan.streams:
        if config.name is None:
            raise ValueError("every stream needs a name")
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream.created", stream=config.name, subjects=config.subjects)
            continue
        current = info.config.as_dict()
        drift = {k: v for k, v in _comparable(config).items() if current.get(k) != v}
        if drift:
            await js.update_stream(config)
            log.info("stream.updated", stream=config.name, changed=sorted(drift))


def stream_file_contents(config: StreamConfig) -> str:
    """A stream's configuration as the JSON that `nats stream add --config FILE` reads."""
    return json.dumps(config.as_dict(), indent=2, sort_keys=True) + "\n"


def write_stream_files(plan: Topology, directory: Path) -> list[Path]:
    """Write `<stream>.json` for each stream of `plan`; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for config in plan.streams:
        path = directory / f"{config.name}.json"
        path.write_text(stream_file_contents(config))
        written.append(path)
    return written
