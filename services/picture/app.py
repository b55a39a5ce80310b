"""The picture service: live pictures from the stream, served over HTTP with Server-Sent Events."""

from __future__ import annotations

from contextlib import AsyncExitStack

import structlog

from services.auth.principals import TokenVerifier
from services.auth.sessions import SessionStore
from services.cell.app import PeopleFile
from services.eventlog.store import EventStore, store_for
from services.picture.follow import SharedPicture, followed
from services.picture.http import RECHECK_S, build_api
from services.picture.live import LivePictures
from services.runtime.http import HttpServer, HttpServerError
from services.runtime.settings import Settings
from services.runtime.system import StackedService

log = structlog.get_logger(__name__)


# Kept under its old name for callers that catch it.
PictureServerError = HttpServerError


class PictureService(StackedService):
    """The picture as `crisis up` runs it: the process' picture, served over HTTP.

    `verifier` says whose a bearer token is; without one the HTTP API refuses every read (the
    root gives it the session store: readers prove themselves with a session or service token,
    from `crisis login` or `crisis token issue`). A live stream asks it again every
    `stream_recheck_s` and ends when the token no longer holds.
    """

    name = "picture"

    def __init__(
        self,
        settings: Settings,
        store: EventStore | None = None,
        verifier: TokenVerifier | None = None,
        *,
        shared: SharedPicture | None = None,
        people: PeopleFile | None = None,
        stream_recheck_s: float = RECHECK_S,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.shared = shared
        self.people = people
        self.verifier = verifier
        self.stream_recheck_s = stream_recheck_s
        self.live: LivePictures | None = None
        self.http = HttpServer("picture", "CRISIS_PICTURE_PORT")
        self.url = ""
        self.started_from = 0

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Resume from the snapshots, follow the stream, and serve HTTP."""
        store = store_for(stack, self.store, self.settings.database_url)
        if self.people is not None and self.verifier is None:
            self.verifier = SessionStore(store.engine, self.people.current)
        shared = self.shared or SharedPicture.configured(
            store, self.settings, writes_snapshots=True
        )
        follower = await followed(stack, nats_url, shared, self.settings.database_url)
        self.live = live = follower.live
        self.started_from = live.started_from
        api = build_api(
            live, store, shared.snapshots, self.verifier, recheck_s=self.stream_recheck_s
        )
        self.url = await self.http.start(
            api, self.settings.picture_host, self.settings.picture_port
        )
        stack.push_async_callback(self.http.stop)
        # Live streams end before the server stops (else it waits for them).
        stack.callback(live.close)
