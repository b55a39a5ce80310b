"""The picture service: live pictures from the stream, served over HTTP with Server-Sent Events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import orjson
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from schemas import subjects
from schemas.registry import DecodeError
from services.auth.principals import TokenVerifier
from services.auth.sessions import SessionStore
from services.cell.app import PeopleFile
from services.eventlog.store import EventStore
from services.picture.http import RECHECK_S, build_api
from services.picture.live import LivePictures
from services.picture.snapshots import SnapshotStore, wire_event
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.http import HttpServer, HttpServerError
from services.runtime.settings import Settings
from services.runtime.streams import instant_text
from services.runtime.topology import CRISIS_STREAM

log = structlog.get_logger(__name__)


def fold_message(live: LivePictures) -> Callable[[Msg], Awaitable[None]]:
    """The callback that folds one delivered live event into `live`."""

    async def on_event(msg: Msg) -> None:
        meta = msg.metadata
        try:
            event = wire_event(msg.data)
        except (orjson.JSONDecodeError, KeyError, DecodeError):
            log.warning("picture.undecodable", position=meta.sequence.stream)
            return
        await live.apply(event, meta.sequence.stream, instant_text(meta.timestamp))

    return on_event


async def follow(
    js: JetStreamContext, live: LivePictures, start: int
) -> JetStreamContext.PushSubscription:
    """Follow every live event from `start` with a plain nats-py ordered consumer and fold it.

    Ordered: pushed in stream order with no acks to wait for, which keeps the delay to live
    clients short. Nothing is lost by not acking: the picture resumes from its snapshots and the
    stream, and a fold that fails is logged and left to the next rebuild. Not a FastStream
    subscriber: its dispatch cost 4.3 times the CPU per event of this callback, in the same run
    (bench/results-picture-dispatch.md).
    """
    return await js.subscribe(
        subjects.LIVE_ALL,
        stream=CRISIS_STREAM,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start),
        cb=fold_message(live),
    )


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
        self._stack = AsyncExitStack()
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
        try:
            bus = await self._stack.enter_async_context(connect(nats_url, name="crisis-picture"))
            await follow(bus.js, self.live, start)
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
        await self._stack.aclose()  # draining the connection ends the subscription
        if self.live is not None:
            await self.live.checkpoint()
        if self.store is not None:
            await self.store.close()


def picture_service(settings: Settings) -> PictureService:
    """The picture service as `crisis up` runs it: readers need a session or service token."""
    return PictureService(settings, sessions=True)
