"""What a live client is sent: changes queued meanwhile go out together, and the end ends it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.picture.http import BURST, _next_changes

pytestmark = pytest.mark.unit


def _queue(*items: dict[str, Any] | None) -> asyncio.Queue[dict[str, Any] | None]:
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    return queue


async def test_changes_queued_meanwhile_are_taken_in_one_go_up_to_a_burst() -> None:
    queue = _queue(*({"position": n} for n in range(BURST + 5)))
    first = await _next_changes(queue, 0.01)
    assert [c["position"] for c in first if c] == list(range(BURST))
    assert [c["position"] for c in await _next_changes(queue, 0.01) if c] == list(
        range(BURST, BURST + 5)
    )


async def test_the_end_marker_stops_the_burst_and_what_follows_it_is_not_taken() -> None:
    queue = _queue({"position": 1}, None, {"position": 3})
    assert await _next_changes(queue, 0.01) == [{"position": 1}, None]
    assert queue.qsize() == 1


async def test_an_empty_queue_waits_then_returns_nothing_or_the_change_that_came() -> None:
    queue = _queue()
    assert await _next_changes(queue, 0.01) == []
    asyncio.get_running_loop().call_later(0.01, queue.put_nowait, {"position": 9})
    assert await _next_changes(queue, 1.0) == [{"position": 9}]


async def test_after_a_change_the_stream_lingers_for_the_ones_right_behind_it() -> None:
    queue = _queue({"position": 1})
    asyncio.get_running_loop().call_later(0.005, queue.put_nowait, {"position": 2})
    assert await _next_changes(queue, 1.0, linger=0.05) == [{"position": 1}, {"position": 2}]


async def test_without_linger_only_what_is_queued_goes_and_a_full_burst_does_not_wait() -> None:
    queue = _queue({"position": 1})
    asyncio.get_running_loop().call_later(0.005, queue.put_nowait, {"position": 2})
    assert await _next_changes(queue, 1.0, linger=0) == [{"position": 1}]
    full = _queue(*({"position": n} for n in range(BURST + 1)))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert len(await _next_changes(full, 1.0, linger=5.0)) == BURST
    assert loop.time() - started < 1.0
