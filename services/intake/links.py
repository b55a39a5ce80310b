"""The links of one input, fetched before it is read: in parallel, within a time budget.

The live intake reads one input at a time (so that an alert and its copy meet in the index);
fetching what an input links to happens before, outside that turn, so that a slow upstream holds
only the input that links to it. The results are handed to the reading as a `Fetcher` that only
looks them up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from services.intake.errors import Rejection
from services.intake.fetch import Fetcher
from services.intake.xmlsafe import XmlDocument

log = structlog.get_logger(__name__)

BUDGET_SPENT = "link not fetched: time budget spent"
# Links of one input fetched at the same time.
PARALLEL = 4


@dataclass(frozen=True, slots=True)
class LinkLimits:
    """How much fetching one input may cause."""

    max_links: int = 20
    budget_s: float = 20.0


@dataclass(slots=True)
class Fetched:
    """What the links of one input gave: a `Fetcher` that never goes out."""

    results: dict[str, bytes | Rejection] = field(default_factory=dict)
    # The input as parsed to find its links: read once, not again in its turn.
    document: XmlDocument | None = None

    async def __call__(self, link: str, base: str) -> bytes:  # noqa: ARG002 (the Fetcher's)
        """The document fetched for `link`, or why it was not."""
        result = self.results.get(link, Rejection("link not fetched"))
        if isinstance(result, Rejection):
            raise Rejection(result.reason)
        return result


async def fetch_links(
    links: list[str], fetch: Fetcher, *, base: str, limits: LinkLimits
) -> Fetched:
    """Fetch the first `max_links` distinct links in parallel; what the budget leaves is refused."""
    fetched = Fetched()
    wanted = list(dict.fromkeys(links))
    over = wanted[limits.max_links :]
    for link in over:
        fetched.results[link] = Rejection(
            f"link not fetched: only the first {limits.max_links} links of an input are "
            "followed (CRISIS_INTAKE_FETCH_MAX_LINKS)"
        )
    wanted = wanted[: limits.max_links]
    if not wanted:
        return fetched
    gate = asyncio.Semaphore(PARALLEL)

    async def one(link: str) -> None:
        async with gate:
            try:
                fetched.results[link] = await fetch(link, base)
            except Rejection as exc:
                fetched.results[link] = exc
            except Exception:  # a bug must refuse one link, not the input
                log.exception("intake.fetch_internal_error", link=link[:500])
                fetched.results[link] = Rejection("link not fetched: internal error")

    tasks = [asyncio.create_task(one(link)) for link in wanted]
    _, pending = await asyncio.wait(tasks, timeout=limits.budget_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if pending:
        log.warning(
            "intake.fetch_budget_spent",
            input=base,
            budget_s=limits.budget_s,
            not_fetched=len(pending),
        )
    for link in wanted:
        fetched.results.setdefault(link, Rejection(BUDGET_SPENT))
    return fetched
