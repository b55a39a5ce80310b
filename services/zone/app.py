"""The zone relay: a durable consumer on each département's stream, relayed into the zone's.

Each département is followed by its own durable consumer (`zone-<zone>`), acked once the zone's
JetStream has the event: a département offline for a while is caught up from where it stopped
when it comes back, and nothing is lost or doubled (event ids are the message ids).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass

import nats
import orjson
import structlog
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from schemas import subjects
from schemas.registry import DecodeError
from schemas.wire import REGISTRY
from services.runtime.bus import connect, servers
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.system import StackedService
from services.runtime.topology import CRISIS_STREAM
from services.zone.core import relayed

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Source:
    """A département's system, as the zone reaches it."""

    departement: str
    url: str


class DepartementRelay:
    """Follows one département and relays what goes up into the zone's stream."""

    def __init__(
        self, source: Source, zone_js: JetStreamContext, *, zone: str, min_severity: str
    ) -> None:
        self.source = source
        self.zone_js = zone_js
        self.durable = f"zone-{subjects.token(zone, what='zone')}"
        self.min_severity = min_severity
        self.relayed = 0
        self._task: asyncio.Task[None] | None = None
        self._nc: Client | None = None

    def start(self) -> None:
        """Run in the background until stopped; connection losses are waited out."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                self._nc = await nats.connect(
                    servers(self.source.url),
                    name=f"zone-relay-{self.source.departement}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
                await self._follow(self._nc.jetstream())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 (an unreachable département is tried again)
                log.warning("zone.departement_unreachable", departement=self.source.departement)
                await asyncio.sleep(1.0)

    async def _follow(self, js: JetStreamContext) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=1000,
        )
        subscription = await js.pull_subscribe(
            subjects.LIVE_ALL, durable=self.durable, stream=CRISIS_STREAM, config=config
        )
        while True:
            try:
                messages = await subscription.fetch(200, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            for message in messages:
                await self._relay(message.data)
                await message.ack()

    async def _relay(self, data: bytes) -> None:
        try:
            up = relayed(orjson.loads(data), self.source.departement, self.min_severity)
            event = REGISTRY.decode(up) if up is not None else None
        except (orjson.JSONDecodeError, DecodeError, KeyError, TypeError):
            # The département's own log keeps it (and its dead letters the reason); the zone
            # skips it rather than stall on it for ever.
            log.warning("zone.undecodable", departement=self.source.departement)
            return
        if event is not None:
            await publish_event(self.zone_js, event)
            self.relayed += 1

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()


def parse_sources(text: str) -> list[Source]:
    """`06=nats://a:4222,83=nats://b:4222` into sources."""
    sources = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        departement, _, url = part.partition("=")
        if not url:
            raise ValueError(f"{part!r} is not DEPARTEMENT=URL")
        sources.append(Source(departement.strip(), url.strip()))
    return sources


class ZoneService(StackedService):
    """The zone relay as `crisis up` runs it on the zone's system (idle without sources)."""

    name = "zone"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.relays: list[DepartementRelay] = []

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Follow every département configured in CRISIS_ZONE_SOURCES."""
        sources = parse_sources(self.settings.zone_sources)
        if not sources:
            return
        bus = await stack.enter_async_context(connect(nats_url, name="crisis-zone"))
        for source in sources:
            relay = DepartementRelay(
                source,
                bus.js,
                zone=self.settings.zone_name,
                min_severity=self.settings.zone_min_severity,
            )
            relay.start()
            stack.push_async_callback(relay.stop)
            self.relays.append(relay)
        log.info("zone.following", departements=[s.departement for s in sources])
