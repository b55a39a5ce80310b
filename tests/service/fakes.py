"""Fakes the services' subscribers are wired to on the in-memory broker: they keep what they get."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faststream.nats import NatsBroker

from services.eventlog.store import RejectedInput
from services.picture.fold import Picture
from services.picture.snapshots import EncodedSnapshot


def delivered_by_jetstream(stream: str, position: int, at: datetime, consumer: str = "c") -> str:
    """The reply subject JetStream gives a message it delivers (`$JS.ACK.…`), whose tokens are
    the message's metadata: the in-memory broker has no stream, so a test says where it stands."""
    nanoseconds = int(at.timestamp()) * 1_000_000_000
    return f"$JS.ACK.{stream}.{consumer}.1.{position}.{position}.{nanoseconds}.0"


def use_jetstream(broker: NatsBroker, js: Any) -> None:
    """Make `js` the JetStream context the broker's handlers get as `JsClient`.

    TestNatsBroker connects a broker to `AsyncMock`s unless it is connected already; the cell's
    subscriber takes its JetStream from the broker's context, not from `register`, so this is the
    one way to hand it a fake (it reaches into FastStream's connection state)."""
    broker.config.connection_state.connect(object(), js)


@dataclass(frozen=True)
class FakeAck:
    """What JetStream answers a publish with."""

    stream: str
    seq: int
    duplicate: bool = False


@dataclass
class FakeJetStream:
    """Stores every publish at the next position, as a stream would (no dedup here)."""

    published: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def publish(
        self,
        subject: str,
        payload: bytes,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> FakeAck:
        """Keep the message; its position is its rank."""
        del timeout
        self.published.append((subject, payload, dict(headers or {})))
        return FakeAck("CRISIS", len(self.published))


@dataclass
class FakeFollower:
    """The pictures the cell decides against, and the positions it waited for."""

    pictures: dict[str, Picture] = field(default_factory=dict)
    waited_for: list[int] = field(default_factory=list)

    async def wait_for(self, position: int, *, timeout_s: float = 10.0) -> None:
        """Note the position; the stream is not followed here."""
        del timeout_s
        self.waited_for.append(position)


@dataclass
class RecordingCell:
    """Stands in for the Cell: keeps each request it is handed and answers with `reply`."""

    reply: dict[str, Any] = field(default_factory=lambda: {"ok": True, "events": []})
    requests: list[tuple[bytes, Any, str]] = field(default_factory=list)

    async def handle(self, raw: bytes, js: Any, actor: str) -> dict[str, Any]:
        """Keep the request."""
        self.requests.append((raw, js, actor))
        return self.reply


@dataclass
class FakeSnapshots:
    """Keeps the snapshots it is asked to write (encoded, as the live picture hands them over)."""

    saved: list[EncodedSnapshot] = field(default_factory=list)

    async def write(self, snapshot: EncodedSnapshot) -> None:
        """Keep the snapshot."""
        self.saved.append(snapshot)


@dataclass
class FakeRejectedStore:
    """Keeps the rejected inputs it is handed."""

    rejected: list[RejectedInput] = field(default_factory=list)

    async def add_rejected(self, rejected: RejectedInput) -> int:
        """Keep the row; its id is its rank."""
        self.rejected.append(rejected)
        return len(self.rejected)
