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
    # The embedded server asks for credentials: commands take theirs from var/nats/users/.
    secured: bool = False
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


def _running(settings: Settings) -> RunInfo:
    info = read_run_info(settings.run_file)
    if info is None:
        raise NotRunningError(
            f"no crisis-cell system is running here (no live {settings.run_file}): "
            "start one with `crisis up` in this folder, or set CRISIS_NATS_URL"
        )
    return info


def resolve_nats_url(settings: Settings, user: str = "admin") -> str:
    """CRISIS_NATS_URL when set, else `user`'s URL on the system running from this folder.

    On the embedded (secured) server that is the user's credential under var/nats/users/,
    which only the account running the system can read; CredentialError says so otherwise.
    """
    if settings.nats_url:
        return settings.nats_url
    info = _running(settings)
    if not info.secured:
        return info.nats_url
    from services.runtime.security import user_url  # noqa: PLC0415 (imports the generator)

    return user_url(settings, user)


def resolve_server(settings: Settings) -> str:
    """Where the system's NATS is, with no credential in the URL: a person's connection
    brings its own (a session token from `crisis login`)."""
    from services.runtime.security import bare  # noqa: PLC0415

    if settings.nats_url:
        return bare(settings.nats_url)
    return _running(settings).nats_url
