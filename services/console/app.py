"""The console service: pictures folded from the stream, served to browsers; acts to the cell."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import orjson
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from services.auth.principals import act_subject
from services.cell.app import PeopleFile
from services.console.auth import Sessions
from services.console.http import build_api
from services.eventlog.store import EventStore, store_for
from services.picture.fold import Picture
from services.picture.follow import PictureFollower, SharedPicture, followed
from services.picture.snapshots import SnapshotStore, picture_at
from services.runtime.bus import connect
from services.runtime.http import HttpServer
from services.runtime.settings import Settings
from services.runtime.streams import instant_text
from services.runtime.system import StackedService
from services.sitrep.from_log import render_report


class ConsoleBackend:
    """Live pictures with listeners per crisis, the log for history, the cell for acts."""

    def __init__(self, nc: Client, follower: PictureFollower, store: EventStore) -> None:
        self.nc = nc
        self.follower = follower
        self.store = store
        self.snapshots = SnapshotStore(store.engine)
        self._listeners: dict[str, set[asyncio.Queue[None]]] = {}

    @property
    def pictures(self) -> dict[str, Picture]:
        """Every crisis' live picture."""
        return self.follower.pictures

    async def changed(self, picture: Picture, _event: dict[str, object]) -> None:
        """Wake the browsers that show this crisis."""
        for queue in self._listeners.get(picture["crisis_id"], ()):
            if queue.empty():
                queue.put_nowait(None)

    def listen(self, crisis_id: str) -> asyncio.Queue[None]:
        """A queue woken at each change of a crisis."""
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._listeners.setdefault(crisis_id, set()).add(queue)
        return queue

    def forget(self, crisis_id: str, queue: asyncio.Queue[None]) -> None:
        """Stop waking a queue."""
        self._listeners.get(crisis_id, set()).discard(queue)

    async def act(self, actor: str, command: dict[str, Any]) -> dict[str, Any]:
        """Hand an act to the cell service, for the person logged in."""
        body = orjson.dumps({"command": command})
        try:
            # The person's own subject: the cell acts as the person of the session.
            reply = await self.nc.request(act_subject(actor), body, timeout=15)
        except NoRespondersError:
            return {"ok": False, "error": "the cell service is not running", "unavailable": True}
        except NatsTimeoutError:
            return {"ok": False, "error": "the cell service did not answer", "unavailable": True}
        answer: dict[str, Any] = orjson.loads(reply.data)
        return answer

    async def rejected(self, limit: int) -> list[dict[str, Any]]:
        """The most recent rejected inputs."""
        return [
            {
                "id": item.id,
                "rejected_at": instant_text(item.rejected_at),
                "source": item.source,
                "reason": item.reason,
                "field": item.field,
                "size": len(item.raw),
            }
            for item in await self.store.rejected(limit=limit)
        ]

    async def sitrep_html(self, crisis_id: str, number: int, draft: bool) -> bytes | None:
        """A point de situation as its HTML page, from the log."""
        return await render_report(self.store, crisis_id, number, "html", draft=draft)

    async def span(self, crisis_id: str) -> dict[str, Any] | None:
        """The first and last recorded instants of a crisis in the log, and its event count."""
        for crisis in await self.store.crises():
            if crisis.crisis_id == crisis_id:
                return {
                    "first": instant_text(crisis.first_recorded_at),
                    "last": instant_text(crisis.last_recorded_at),
                    "events": crisis.events,
                }
        return None

    async def picture_as_of(self, crisis_id: str, at: datetime) -> Picture:
        """The picture of a crisis as the cell knew it at `at`, from the log and snapshots."""
        return await picture_at(self.store, self.snapshots, crisis_id, as_of=at)


class ConsoleService(StackedService):
    """The console as `crisis up` runs it."""

    name = "console"

    def __init__(
        self,
        settings: Settings,
        *,
        shared: SharedPicture | None = None,
        store: EventStore | None = None,
        people: PeopleFile | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.shared = shared
        self.store = store
        self.people = people or PeopleFile(settings.people_path)
        self.http = HttpServer("console", "CRISIS_CONSOLE_PORT")
        self.url = ""

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Resume the picture, then serve the console."""
        bus = await stack.enter_async_context(connect(nats_url, name="crisis-console"))
        store = store_for(stack, self.store, self.settings.database_url)
        follower = await followed(stack, nats_url, self.shared, self.settings.database_url)
        backend = ConsoleBackend(bus.nc, follower, store)
        follower.listen(backend.changed)
        stack.callback(follower.forget, backend.changed)
        sessions = Sessions(
            self.people,
            idle=timedelta(minutes=self.settings.console_idle_minutes),
            longest=timedelta(hours=self.settings.console_session_hours),
        )
        api = build_api(backend, sessions, self.settings)
        self.url = await self.http.start(
            api, self.settings.console_host, self.settings.console_port
        )
        stack.push_async_callback(self.http.stop)
