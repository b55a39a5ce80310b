"""A token bucket per feed: a feed may post `burst` inputs at once, then `per_minute` a minute."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Counts the posts of each feed; the clock is injectable, so tests never sleep."""

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, feed: str) -> float | None:
        """None if feed `feed` may post now (one token taken); else the seconds until it may."""
        now = self.clock()
        bucket = self._buckets.setdefault(feed, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate


def retry_after(seconds: float) -> str:
    """A `Retry-After` value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
