"""Health that tells the truth: the checks behind /ready, in words an operator can act on.

What is checked (services.ops.monitor runs the checks, every few seconds and on each /ready):

- the disks under `var/`, the JetStream store and a SQLite log: free space below
  CRISIS_DISK_MIN_FREE_MB makes the system not ready, before the disk is full;
- JetStream writes: a probe message to the HEALTH stream, and the memory that JetStream refused
  a write (it stops writing a stream after a write error until it is restarted);
- the event log: its lag, and whether its position moves while there is lag;
- a PostgreSQL log: its size against CRISIS_DB_MAX_MB (its disk is the database server's).

This module holds what needs no bus: the report, the disk readings, the stall detector, and the
command line's reading of the last report when a service does not answer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from services.runtime.discovery import read_run_info
from services.runtime.settings import Settings

MB = 1024 * 1024
# Below this, a disk is full for JetStream: its next write fails (a probe writes 8 KiB).
FULL_BYTES = 1 * MB


@dataclass(frozen=True, slots=True)
class Check:
    """One check of /ready: whether it passes and, if not, why and what to do."""

    name: str
    ok: bool
    problem: str = ""


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check of one round, and when it ran."""

    checked_at: datetime
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        """Whether every check passes."""
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        """The body of /ready: each check's verdict, and the problems in words."""
        return {
            "ready": self.ready,
            "checked_at": self.checked_at.isoformat(),
            "checks": {check.name: check.ok for check in self.checks},
            "problems": [f"{c.name}: {c.problem}" for c in self.checks if not c.ok],
        }


@dataclass(frozen=True, slots=True)
class Disk:
    """The free space of the filesystem that holds `path`."""

    what: str
    path: Path
    mount: Path
    device: int
    free: int

    @property
    def free_mb(self) -> int:
        """Free megabytes, rounded down."""
        return self.free // MB


def read_disk(what: str, path: Path) -> Disk:
    """The disk under `path` (or its nearest existing parent: a store not made yet)."""
    where = path.resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    stat = os.statvfs(where)
    mount = where
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    return Disk(what, path.resolve(), mount, where.stat().st_dev, stat.f_bavail * stat.f_frsize)


def watched_paths(settings: Settings, store_dir: Path | None) -> list[tuple[str, Path]]:
    """What the system writes on this machine: var/, the JetStream store, a SQLite log."""
    paths = [("var", settings.var_dir)]
    if store_dir is not None:
        paths.append(("the JetStream store", store_dir))
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        paths.append(("the SQLite event log", Path(url.database).parent))
    return paths


def disk_check(disks: Sequence[Disk], min_free_mb: int) -> Check:
    """Not ready when a disk the system writes has less than `min_free_mb` free."""
    low: dict[int, list[Disk]] = {}
    for disk in disks:
        if disk.free < min_free_mb * MB:
            low.setdefault(disk.device, []).append(disk)
    if not low:
        return Check("disk", ok=True)
    problems = []
    for same in low.values():
        first = same[0]
        what = ", ".join(f"{d.what} ({d.path})" for d in same)
        state = "full" if first.free < FULL_BYTES else f"only {first.free_mb} MB free"
        problems.append(
            f"the disk mounted at {first.mount} is {state}; it holds {what}. Ready needs "
            f"{min_free_mb} MB free (CRISIS_DISK_MIN_FREE_MB): free space there or give it "
            "more room. When it is full, JetStream refuses new events (acknowledged ones are "
            "kept) and the log cannot record."
        )
    return Check("disk", ok=False, problem=" ".join(problems))


class StallWatch:
    """The event log's lag over time: lag while the log's position does not move is a stall."""

    def __init__(self, stall_after_s: float) -> None:
        self.stall_after_s = stall_after_s
        self._position: int | None = None
        self._moved_at = 0.0

    def observe(self, lag: int, position: int, now: float) -> float | None:
        """Seconds the log has been stuck with lag, once past `stall_after_s`; else None."""
        if lag == 0 or position != self._position:
            self._position, self._moved_at = position, now
            return None
        stuck = now - self._moved_at
        return stuck if stuck >= self.stall_after_s else None


def ops_url(settings: Settings) -> str | None:
    """Where the running system's operations endpoints are: its run file, else the settings."""
    info = read_run_info(settings.run_file)
    if info is not None and info.http.get("ops"):
        return info.http["ops"]
    if settings.ops_port:
        return f"http://{settings.ops_host}:{settings.ops_port}"
    return None


def why_no_answer(settings: Settings, now: datetime, *, timeout: float = 5.0) -> str:
    """What the system's last health report said, for a command whose request timed out."""
    url = ops_url(settings)
    if url is None:
        return "no operations endpoint is known here to ask why (set CRISIS_OPS_PORT)"
    try:
        answer = httpx.get(f"{url}/ready", params={"last": "1"}, timeout=timeout)
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        return (
            f"its operations endpoint ({url}/ready) did not answer either: is `crisis up` "
            "still running? Its output says why it stopped"
        )
    return explain(body, now)


def explain(body: dict[str, Any], now: datetime) -> str:
    """One sentence from a /ready body: how old it is and what it found wrong."""
    try:
        age = f"{max(0.0, (now - datetime.fromisoformat(body['checked_at'])).total_seconds()):.0f}"
    except (KeyError, TypeError, ValueError):
        age = "?"
    if body.get("ready"):
        return (
            f"its last health report ({age} s ago) found nothing wrong: the service may be "
            "overloaded or stuck, see its log lines"
        )
    problems = "; ".join(str(p) for p in body.get("problems", [])) or "not ready"
    return f"its last health report ({age} s ago) said: {problems}"
