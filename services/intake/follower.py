"""The correlation index, rebuilt from the stream at start and kept current from it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from services.intake.correlation import CorrelationIndex
from services.runtime.topology import CRISIS_STREAM

log = structlog.get_logger(__name__)

# Crisis events say which crises are open; incident events which external ids are known.
# Crises and incidents; the resources engaged on them (a CISU RC-RI is told as what changed);
# main courante entries (a CAP Cancel of alerts not received yet is one).
FOLLOWED = (
    "crisis.*.crisis.*",
    "crisis.*.incident.*",
    "crisis.*.resource.*",
    "crisis.*.maincourante.entry_recorded",
)


class IndexNotReadyError(RuntimeError):
    """The index could not be read from the stream in time."""


class IndexFollower:
    """Ordered consumers that feed every crisis and incident event to the index."""

    def __init__(self, js: JetStreamContext, index: CorrelationIndex) -> None:
        self.js = js
        self.index = index
        self.subscriptions: list[JetStreamContext.PushSubscription] = []
        self._received: dict[str, int] = {}

    async def start(self, *, catch_up_timeout_s: float = 60.0) -> None:
        """Subscribe, and return once everything the stream held at start has been read."""
        for subject in FOLLOWED:
            self._received[subject] = 0
            subscription = await self.js.subscribe(
                subject,
                stream=CRISIS_STREAM,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
                cb=self._observer(subject),
            )
            self.subscriptions.append(subscription)
        try:
            await asyncio.wait_for(self._caught_up(), catch_up_timeout_s)
        except TimeoutError:
            raise IndexNotReadyError(
                f"the intake did not finish reading the crisis and incident events of the stream "
                f"in {catch_up_timeout_s:g} s; is the NATS server answering?"
            ) from None
        log.info(
            "intake.index_ready", keys=len(self.index), open_crises=list(self.index.open_crises)
        )

    def _observer(self, subject: str) -> Callable[[Msg], Awaitable[None]]:
        async def observe(msg: Msg) -> None:
            try:
                self.index.observe(orjson.loads(msg.data))
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                log.warning("intake.undecodable_event", subject=msg.subject)
            self._received[subject] += 1

        return observe

    async def _caught_up(self) -> None:
        for subject, subscription in zip(FOLLOWED, self.subscriptions, strict=True):
            while True:
                info = await subscription.consumer_info()
                # Stream sequences skip what the filter leaves out; consumer sequences count
                # exactly the messages delivered to us.
                delivered = (info.delivered.consumer_seq if info.delivered else 0) or 0
                if info.num_pending == 0 and self._received[subject] >= delivered:
                    break
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop following."""
        for subscription in self.subscriptions:
            await subscription.unsubscribe()
        self.subscriptions.clear()
