"""How a second command finds the system that `crisis up` started in the same folder."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from services.runtime.settings import Settings


class NotRunningError(RuntimeError):
    """No NATS URL is configured and no running system was found."""


class RunInfo(BaseModel):
    """What `crisis up` writes to `var/run.json` while it runs."""

    nats_url: str
    pid: int
    embedded: bool
    started_at: datetime
    services: list[str]
    http: dict[str, str] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_run_info(path: Path, info: RunInfo) -> None:
    """Publish where the running system is, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(info.model_dump_json(indent=2))
    tmp.replace(path)


def read_run_info(path: Path) -> RunInfo | None:
    """The running system described by `path`, or None if there is none or it has died."""
    try:
        info = RunInfo.model_validate_json(path.read_text())
    except (OSError, ValidationError):
        return None
    return info if _alive(info.pid) else None


def remove_run_info(path: Path, pid: int) -> None:
    """Remove the run file if it still names this process."""
    info = read_run_info(path)
    if info is None or info.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def resolve_nats_url(settings: Settings) -> str:
    """CRISIS_NATS_URL when set, else the URL of the system running from this folder."""
    if settings.nats_url:
        return settings.nats_url
    info = read_run_info(settings.run_file)
    if info is None:
        raise NotRunningError(
            f"no crisis-cell system is running here (no live {settings.run_file}): "
            "start one with `crisis up` in this folder, or set CRISIS_NATS_URL"
        )
    return info.nats_url
