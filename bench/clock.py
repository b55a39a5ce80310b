"""One clock for every process of a benchmark."""

from __future__ import annotations

import time


def now() -> float:
    """Seconds on CLOCK_MONOTONIC, which Linux shares between processes (unlike perf_counter)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)
