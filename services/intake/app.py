"""The intake service: the correlation index from the stream, the HTTP API, and the bus."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from schemas.types import TOKEN_PATTERN
from services.intake.core import Form, Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.dispatch import Dispatcher
from services.intake.errors import Rejection
from services.intake.feeds import FeedRegistry
from services.intake.fetch import Fetcher, LinkFetcher
from services.intake.follower import IndexFollower
from services.intake.http import build_api
from services.intake.links import LinkLimits
from services.intake.ratelimit import RateLimiter
from services.runtime.bus import connect
from services.runtime.http import HttpServer
from services.runtime.settings import Settings
from services.runtime.system import StackedService

log = structlog.get_logger(__name__)

FEEDS_ROOT = "feeds"
_FORMS: dict[str, Form] = {"cap": "xml", "geojson": "geojson", "events": "events"}
_FEED_NAME = re.compile(TOKEN_PATTERN)


def intake_config(settings: Settings) -> IntakeConfig:
    """How the intake reads, from the settings."""
    return IntakeConfig(
        language=settings.intake_language,
        max_bytes=settings.intake_max_bytes,
        links=LinkLimits(
            max_links=settings.intake_fetch_max_links, budget_s=settings.intake_fetch_budget_s
        ),
    )


class LiveIntake:
    """Reads inputs and publishes their outcomes, one input at a time.

    `unauthorised_total` and `rate_limited_total` count the posts refused before being read.
    """

    def __init__(
        self, js: JetStreamContext, settings: Settings, *, files_root: Path | None = None
    ) -> None:
        self.index = CorrelationIndex()
        self.follower = IndexFollower(js, self.index)
        self.dispatcher = Dispatcher(js, self.index, max_payload=settings.max_payload)
        self.links = LinkFetcher(
            max_bytes=settings.intake_max_bytes,
            timeout_s=settings.intake_fetch_timeout_s,
            root=files_root,
        )
        self.intake = Intake(self.index, intake_config(settings), fetch=self.links)
        self.limiter = RateLimiter(
            per_minute=settings.intake_rate_per_minute, burst=settings.intake_rate_burst
        )
        self.unauthorised_total = 0
        self.rate_limited_total = 0
        # One input at a time: an alert and its copy arriving together must meet in the index.
        # Links are fetched before the turn, so that a slow upstream holds no other feed.
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Open the object store and read the index from the stream."""
        await self.dispatcher.start()
        await self.follower.start()

    async def stop(self) -> None:
        """Stop following the stream."""
        await self.follower.stop()

    async def submit(
        self,
        raw: bytes,
        *,
        name: str,
        feed: str,
        form: Form = "auto",
        content_type: str | None = None,
        crisis: str | None = None,
        fetch: Fetcher | None = None,
        allow_hosts: Sequence[str] = (),
    ) -> list[Outcome]:
        """Read one input, publish what it gives and keep what it refuses.

        Its links are fetched first, outside the lock; `allow_hosts` are the non-public hosts the
        feed may link to.
        """
        fetched = await self.intake.fetch_links(
            raw, name=name, form=form, fetch=fetch or self.links.allowing(allow_hosts)
        )
        async with self._lock:
            outcomes = await self.intake.read(
                raw,
                name=name,
                feed=feed,
                form=form,
                crisis=crisis,
                content_type=content_type,
                fetched=fetched,
            )
            await self.dispatcher.deliver(outcomes, raw, feed=feed, content_type=content_type)
        return outcomes

    def unauthorised(self, *, feed: str, client: str | None, declared_bytes: str | None) -> None:
        """Count and log a post without a valid token; nothing of it is read or kept."""
        self.unauthorised_total += 1
        log.warning(
            "intake.unauthorised",
            feed=feed,
            client=client,
            declared_bytes=declared_bytes,
            unauthorised_total=self.unauthorised_total,
        )

    def admit(self, feed: str, *, client: str | None = None) -> float | None:
        """None if feed `feed` may post now; else the seconds until it may (counted, logged)."""
        wait = self.limiter.take(feed)
        if wait is not None:
            self.rate_limited_total += 1
            log.warning(
                "intake.rate_limited", feed=feed, client=client, retry_after_s=round(wait, 1)
            )
        return wait

    async def refuse(
        self, raw: bytes, error: Rejection, *, name: str, feed: str, content_type: str | None
    ) -> None:
        """Keep an input refused before it was read."""
        outcome = Outcome(input=name, path=error.path or "/", accepted=False, error=error)
        await self.dispatcher.keep_refused(outcome, raw, feed=feed, content_type=content_type)


class IntakeService(StackedService):
    """The intake as `crisis up` runs it: the live intake behind its HTTP API."""

    name = "intake"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.http = HttpServer("intake", "CRISIS_INTAKE_PORT")
        self.live: LiveIntake | None = None
        self.url = ""

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Connect, read the index, and serve HTTP."""
        bus = await stack.enter_async_context(connect(nats_url, name="crisis-intake"))
        self.live = LiveIntake(bus.js, self.settings)
        await self.live.start()
        stack.push_async_callback(self.live.stop)
        feeds = FeedRegistry.load(self.settings.feeds_path)
        if not feeds.feeds:
            log.warning(
                "intake.no_feeds",
                feeds_file=str(self.settings.feeds_path),
                hint="add one with `crisis feed add NAME`; until then every POST is refused",
            )
        await self._listen_to_feeds(bus.nc, self.live, feeds)
        api = build_api(self.live, feeds, max_bytes=self.settings.intake_max_bytes)
        self.url = await self.http.start(api, self.settings.intake_host, self.settings.intake_port)
        stack.push_async_callback(self.http.stop)

    async def _listen_to_feeds(self, nc: Client, live: LiveIntake, feeds: FeedRegistry) -> None:
        """Feeds over NATS: `feeds.<name>.cap|geojson|events`, request-reply.

        The server's permissions tie a feed's credential to its own `feeds.<name>.>`, so the name
        in the subject is the feed's. The reply is the outcomes, as over HTTP; a feed that gets no
        reply sends again (event ids are stable, so nothing is recorded twice).
        """

        async def taken(msg: Msg) -> None:
            parts = msg.subject.split(".")
            form = _FORMS.get(parts[2]) if len(parts) == 3 else None
            reply: dict[str, Any]
            if form is None or not _FEED_NAME.fullmatch(parts[1]):
                reply = {"error": f"{msg.subject}: send to feeds.<name>.cap|geojson|events"}
            elif (wait := live.admit(parts[1])) is not None:
                reply = {"error": "rate limited: send again later", "retry_after_s": wait}
                if not msg.reply:  # nobody to tell: keep it, with the reason, rather than lose it
                    limited = Rejection("rate limited: the feed sent too fast, unanswered", "/")
                    await live.refuse(
                        msg.data, limited, name=msg.subject, feed=parts[1], content_type=None
                    )
            else:
                outcomes = await live.submit(
                    msg.data,
                    name=msg.subject,
                    feed=parts[1],
                    form=form,
                    allow_hosts=feeds.allowed_hosts(parts[1]),
                )
                reply = {"outcomes": [o.to_json() for o in outcomes]}
            if msg.reply:
                await msg.respond(orjson.dumps(reply))

        await nc.subscribe(f"{FEEDS_ROOT}.*.*", queue="intake", cb=taken)
