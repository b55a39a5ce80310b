"""The plans service: the rules of each crisis' département, evaluated as its picture changes.

Proposals carry stable event ids (crisis, rule, plan or posture), so a proposal is published
once however often its rule fires. History is not re-evaluated: at start the service folds the
stream, then evaluates each open crisis once, as it stands, and every change after that.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import structlog
from nats.js import JetStreamContext

from schemas.envelope import Status, utc_now
from services.picture.fold import Picture
from services.picture.follow import SharedPicture, followed
from services.plans.books import RuleBook
from services.plans.rules import evaluate, proposal_events
from services.runtime.bus import connect
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.system import StackedService

log = structlog.get_logger(__name__)

# RuleBook is the plans' own, imported from here by the composition root.
__all__ = ["WATCHED", "PlansService", "Proposer", "RuleBook"]

# Events after which a proposal may be due.
WATCHED = frozenset(
    {
        "crisis.opened",
        "incident.reported",
        "incident.updated",
        "incident.attached",
        "incident.merged",
        "bilan.assessed",
        "vigilance.changed",
    }
)


class Proposer:
    """Evaluates a crisis' rules on its picture and publishes what they propose.

    The shared picture calls `on_event` inside its fold, where the process' live clients and
    acts wait on it: there it only notes the crisis. Its own task (`run`) evaluates the noted
    crises and publishes, waiting for JetStream's acks away from the fold.
    """

    def __init__(
        self, js: JetStreamContext, rules: RuleBook, *, retry_after_s: float = 5.0
    ) -> None:
        self.js = js
        self.rules = rules
        self.live = False
        self.retry_after_s = retry_after_s
        # The crises to evaluate, each with its (live) picture; a burst of events is one turn.
        self._due: dict[str, Picture] = {}
        self._wake = asyncio.Event()

    async def on_event(self, picture: Picture, event: dict[str, object]) -> None:
        """Called for each event folded: notes its crisis for evaluation once the service is
        live."""
        if self.live and event.get("type") in WATCHED:
            self._due[picture["crisis_id"]] = picture
            self._wake.set()

    async def run(self) -> None:
        """Evaluate the crises noted, each on its picture as it stands then, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._due:
                crisis_id = next(iter(self._due))
                picture = self._due.pop(crisis_id)
                try:
                    await self.propose(picture)
                except Exception:
                    # Not dropped: the crisis is evaluated again after a pause (or sooner, at
                    # its next change); a proposal published twice is one (its id is stable).
                    log.exception("plans.propose_failed", crisis_id=crisis_id)
                    self._due.setdefault(crisis_id, picture)
                    await asyncio.sleep(self.retry_after_s)

    async def propose(self, picture: Picture) -> int:
        """Publish what the rules propose for this picture now; the number published."""
        if picture["state"] != "open":
            return 0
        rules = self.rules.of(picture.get("departement"))
        if rules is None:
            self.rules.warn_missing(picture["crisis_id"], picture.get("departement"))
            return 0
        proposals = evaluate(picture, rules)
        status = Status.EXERCISE if picture["exercise"] else Status.ACTUAL
        events = proposal_events(
            proposals, crisis_id=picture["crisis_id"], status=status, now=utc_now()
        )
        for event in events:
            await publish_event(self.js, event)
            log.info("plans.proposed", crisis_id=picture["crisis_id"], type=event.type)
        return len(events)


class PlansService(StackedService):
    """The plans as `crisis up` runs them."""

    name = "plans"

    def __init__(
        self,
        settings: Settings,
        *,
        shared: SharedPicture | None = None,
        rules: RuleBook | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.shared = shared
        self.rules = rules or RuleBook(settings.plans_dir)

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Read the rule books, resume the picture, evaluate every open crisis once, then follow."""
        self.rules.load_all()
        bus = await stack.enter_async_context(connect(nats_url, name="crisis-plans"))
        proposer = Proposer(bus.js, self.rules)
        follower = await followed(stack, nats_url, self.shared, self.settings.database_url)
        self.background(stack, proposer.run(), "plans-proposer")
        follower.listen(proposer.on_event)
        stack.callback(follower.forget, proposer.on_event)
        proposer.live = True
        for picture in list(follower.pictures.values()):
            await proposer.propose(picture)
