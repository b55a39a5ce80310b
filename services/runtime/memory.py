"""Garbage collection tuned for a long-running event processor."""

from __future__ import annotations

import gc

# Young objects per collection. Each batch makes tens of thousands of short-lived objects;
# CPython's default (700) collects dozens of times per batch. Measured in bench/: +15% events/s.
YOUNG_THRESHOLD = 20_000


def tune_for_services() -> None:
    """Freeze what start-up built out of later collections, and collect the young less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
