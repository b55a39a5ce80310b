"""The command service: acts of the cell in by request-reply, checked, published as events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from faststream import Context
from faststream.nats import NatsBroker
from faststream.nats.annotations import JsClient
from faststream.nats.message import NatsMessage
from nats.js import JetStreamContext
from pydantic import ValidationError

from schemas import subjects
from schemas.envelope import utc_now
from services.auth.principals import ident_of
from services.cell.commands import DraftSitrep, Request
from services.cell.core import Refused, decide
from services.cell.people import People, PeopleFileError, Person, Role
from services.picture.follow import PictureFollower, SharedPicture, followed
from services.runtime.bus import connect
from services.runtime.publish import PublishError, publish_event
from services.runtime.settings import Settings
from services.runtime.streams import raw_body, service_broker
from services.runtime.system import StackedService
from services.sitrep.cadence import draft_due

log = structlog.get_logger(__name__)


class PeopleFile:
    """The people file, read again when it changes (so `crisis user add` needs no restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: float | None = None
        self._people = People()

    def current(self) -> People:
        """The people as the file says now."""
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            return People()
        if stamp != self._stamp:
            self._people, self._stamp = People.load(self.path), stamp
        return self._people


# The service that drafts the reports a cadence makes due: an operator of the cell, in effect.
SITREP_SERVICE = Person("service:sitrep", Role.OPERATOR, "Points de situation (cadence)")


class Cell:
    """Decides each act against the live pictures, publishes its events, waits to see them."""

    def __init__(
        self,
        follower: PictureFollower,
        people: PeopleFile,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.follower = follower
        self.people = people
        self.clock = clock
        # One act at a time: the second sees the first's events in the picture.
        self._lock = asyncio.Lock()

    async def handle(self, raw: bytes, js: JetStreamContext, actor: str) -> dict[str, Any]:
        """The reply to one request of `actor` (the principal the subject names, which the
        server vouches for): the events published, or why there are none."""
        try:
            request = Request.model_validate_json(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            return {"ok": False, "error": f"invalid act: {where}: {error['msg']}"}
        if request.actor is not None and request.actor != actor:
            log.warning("cell.impersonation", claimed=request.actor, actor=actor)
            return {
                "ok": False,
                "error": f"you act as {actor!r}, the identity your credential proves, "
                f"not as {request.actor!r}",
            }
        try:
            person = self.people.current().find(actor)
        except PeopleFileError as exc:
            return {"ok": False, "error": str(exc)}
        if person is None:
            return {
                "ok": False,
                "error": f"{actor!r} is not a known, enabled person of the cell "
                "(`crisis user add NAME --role ROLE`)",
            }
        return await self.perform(request.command, person, js)

    async def perform(self, command: Any, person: Person, js: JetStreamContext) -> dict[str, Any]:
        """Decide one act of `person` and publish what it gives; the reply says how it went."""
        async with self._lock:
            try:
                events = decide(command, person, self.follower.pictures, self.clock())
            except Refused as exc:
                log.info("cell.refused", actor=person.ident, act=command.act, why=str(exc))
                return {"ok": False, "error": str(exc)}
            try:
                published = [await publish_event(js, event) for event in events]
            except PublishError as exc:
                return {"ok": False, "error": f"not recorded, try again: {exc}"}
            await self.follower.wait_for(published[-1].seq)
        log.info("cell.acted", actor=person.ident, act=command.act, events=len(events))
        return {
            "ok": True,
            "events": [event.to_wire() for event in events],
            "positions": [p.seq for p in published],
        }

    async def draft_due_reports(self, js: JetStreamContext) -> int:
        """Draft the report of every open crisis whose cadence makes one due; how many."""
        now = self.clock()
        drafted = 0
        for picture in list(self.follower.pictures.values()):
            if draft_due(picture, now):
                command = DraftSitrep(crisis_id=picture["crisis_id"])
                reply = await self.perform(command, SITREP_SERVICE, js)
                drafted += bool(reply["ok"])
        return drafted


def register(broker: NatsBroker, cell: Cell) -> None:
    """Answer the acts of the cell on `cell.act`."""

    @broker.subscriber(
        f"{subjects.CELL_ACTS}.*",
        decoder=raw_body,
        title="cell",
        description=(
            "Acts of the crisis cell (open a crisis, report an incident, activate a plan, issue "
            "a report…), request-reply on `cell.act.<principal>`: `{command}` in; `{ok, events, "
            "positions}` or `{ok: false, error}` out. The actor is the principal of the subject, "
            "which only that principal's credential (or the console's, for the person logged in) "
            "may publish; roles are checked here; a refused act publishes nothing."
        ),
    )
    async def act(js: JsClient, message: NatsMessage = Context("message")) -> dict[str, Any]:
        # Only a person's request, answered on its own inbox: a stream delivery (its reply goes
        # to $JS.ACK…) could otherwise carry an act someone wrote into a stream.
        if not (message.raw_message.reply or "").startswith("_INBOX."):
            log.warning("cell.not_a_request", subject=message.raw_message.subject)
            return {"ok": False, "error": "acts are requests answered on an inbox"}
        token = message.raw_message.subject.rpartition(".")[2]
        try:
            actor = ident_of(token)
        except (ValueError, UnicodeDecodeError):
            return {"ok": False, "error": "acts are sent on cell.act.<principal>"}
        return await cell.handle(message.raw_message.data, js, actor)


class CellService(StackedService):
    """The cell as `crisis up` runs it."""

    name = "cell"

    def __init__(
        self,
        settings: Settings,
        *,
        shared: SharedPicture | None = None,
        people: PeopleFile | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        # The process' one picture, from the composition root; otherwise the cell's own.
        self.shared = shared
        self.people = people or PeopleFile(settings.people_path)
        self.follower: PictureFollower | None = None

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Resume the picture, then answer acts."""
        bus = await stack.enter_async_context(connect(nats_url, name="crisis-cell"))
        self.follower = await followed(stack, nats_url, self.shared, self.settings.database_url)
        broker = service_broker(nats_url, self.name)
        cell = Cell(self.follower, self.people)
        register(broker, cell)
        await broker.start()
        stack.push_async_callback(broker.stop)
        self.background(stack, self._keep_cadence(cell, bus.js), "cell-cadence")

    async def _keep_cadence(self, cell: Cell, js: JetStreamContext) -> None:
        while True:
            await asyncio.sleep(self.settings.sitrep_check_every_s)
            try:
                await cell.draft_due_reports(js)
            except Exception:
                log.exception("cell.cadence_failed")
