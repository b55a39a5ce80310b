"""The picture service: live pictures from the stream, served over HTTP with Server-Sent Events."""

from __future__ import annotations

import orjson
import structlog
from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker
from faststream.nats.message import NatsMessage
from nats.aio.msg import Msg

from schemas import subjects
from schemas.registry import DecodeError
from services.auth.principals import TokenVerifier
from services.auth.sessions import SessionStore
from services.cell.app import PeopleFile
from services.eventlog.store import EventStore
from services.picture.http import RECHECK_S, build_api
from services.picture.live import LivePictures
from services.picture.snapshots import SnapshotStore, wire_event
from services.runtime.database import make_engine
from services.runtime.http import HttpServer, HttpServerError
from services.runtime.settings import Settings
from services.runtime.streams import instant_text, raw_body, service_broker
from services.runtime.topology import CRISIS_STREAM

log = structlog.get_logger(__name__)


def register(broker: NatsBroker, live: LivePictures, start: int) -> None:
    """Follow every live event from `start` with an ordered consumer and fold it."""

    # An ordered consumer: pushed in stream order with no acks to wait for, which keeps the
    # delay to live clients short. Nothing is lost by not acking: the picture resumes from its
    # snapshots and the stream, and a fold that fails is logged and left to the next rebuild.
    @broker.subscriber(
        subjects.LIVE_ALL,
        stream=JStream(CRISIS_STREAM, declare=False),
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        config=ConsumerConfig(opt_start_seq=start),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        title="picture",
        description="Folds every live event into its crisis' picture.",
    )
    async def on_event(message: NatsMessage = Context("message")) -> None:
        raw: Msg = message.raw_message
        meta = raw.metadata
        recorded_at = instant_text(meta.timestamp)
        try:
            event = wire_event(raw.data)
        except (orjson.JSONDecodeError, KeyError, DecodeError):
            log.warning("picture.undecodable", position=meta.sequence.stream)
            return
        await live.apply(event, meta.sequence.stream, recorded_at)


# Kept under its old name for callers that catch it.
PictureServerError = HttpServerError


class PictureService:
    """The picture as `crisis up` runs it: a consumer, the live pictures and an HTTP server.

    `verifier` says whose a bearer token is; without one the HTTP API refuses every read. A live
    stream asks it again every `stream_recheck_s` and ends when the token no longer holds.
    """

    name = "picture"

    def __init__(
        self,
        settings: Settings,
        store: EventStore | None = None,
        verifier: TokenVerifier | None = None,
        *,
        stream_recheck_s: float = RECHECK_S,
        sessions: bool = False,
    ) -> None:
        self.settings = settings
        # With `sessions`, readers prove themselves with a session or service token kept in
        # the event log's database (`crisis login`, `crisis token issue`).
        self.sessions = sessions
        self.store = store
        self.verifier = verifier
        self.stream_recheck_s = stream_recheck_s
        self.live: LivePictures | None = None
        self.broker: NatsBroker | None = None
        self.http = HttpServer("picture", "CRISIS_PICTURE_PORT")
        self.url = ""
        self.started_from = 0

    async def start(self, nats_url: str) -> None:
        """Resume from the snapshots, follow the stream, and serve HTTP."""
        self.store = self.store or EventStore(make_engine(self.settings.database_url))
        snapshots = SnapshotStore(self.store.engine)
        if self.sessions and self.verifier is None:
            self.verifier = SessionStore(
                self.store.engine, PeopleFile(self.settings.people_path).current
            )
        self.live = LivePictures(snapshots, snapshot_every=self.settings.picture_snapshot_every)
        start = self.started_from = await self.live.resume(self.store)
        self.broker = service_broker(nats_url, self.name)
        register(self.broker, self.live, start)
        try:
            await self.broker.start()
            api = build_api(
                self.live, self.store, snapshots, self.verifier, recheck_s=self.stream_recheck_s
            )
            self.url = await self.http.start(
                api, self.settings.picture_host, self.settings.picture_port
            )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop serving and following, snapshot what changed, close."""
        if self.live is not None:
            self.live.close()
        await self.http.stop()
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
        if self.live is not None:
            await self.live.checkpoint()
        if self.store is not None:
            await self.store.close()


def picture_service(settings: Settings) -> PictureService:
    """The picture service as `crisis up` runs it: readers need a session or service token."""
    return PictureService(settings, sessions=True)
