"""Waiting for a position of the picture: woken once it is folded, and nothing left behind."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from services.picture.follow import PictureFollower

pytestmark = pytest.mark.unit


def _follower() -> PictureFollower:
    # Waiting touches neither the bus nor the pictures.
    return PictureFollower(cast(Any, None), cast(Any, None))


async def test_a_wait_returns_once_its_position_is_reached_and_at_once_if_it_was() -> None:
    follower = _follower()
    waiting = asyncio.create_task(follower.wait_for(3, timeout_s=5))
    await asyncio.sleep(0)
    follower.position = 2
    follower._wake()
    await asyncio.sleep(0)
    assert not waiting.done()
    follower.position = 3
    follower._wake()
    await asyncio.wait_for(waiting, 1)
    await follower.wait_for(1, timeout_s=0.01)
    assert follower._waiters == []


async def test_a_wait_that_times_out_leaves_no_waiter_behind() -> None:
    follower = _follower()
    with pytest.raises(TimeoutError):
        await follower.wait_for(9, timeout_s=0.01)
    assert follower._waiters == []
