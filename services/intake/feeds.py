"""The feeds allowed to post to the intake, each with its own token, kept as a SHA-256 digest.

The file is TOML, one table per feed, written by `crisis feed add NAME`:

    [feeds.vigicrues]
    token_sha256 = "9f86d0…"
    description = "Vigicrues, flood vigilance"
    created_at = "2026-11-29T10:00:00+00:00"
    enabled = true
    allow_hosts = ["127.0.0.1"]   # optional: non-public hosts its feed links may name

A running intake reads the file again when it changes (`crisis feed rotate|disable|enable`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from schemas.envelope import utc_now
from schemas.subjects import token as subject_token
from services.runtime.files import write_private

log = structlog.get_logger(__name__)


class FeedsFileError(ValueError):
    """The feeds file cannot be read."""


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed the intake accepts inputs from."""

    name: str
    token_sha256: str
    description: str = ""
    enabled: bool = True
    # Hosts (names or addresses) the feed's links may name although they are not public.
    allow_hosts: tuple[str, ...] = ()


def digest(token: str) -> str:
    """The SHA-256 of a token, as the feeds file keeps it."""
    return hashlib.sha256(token.encode()).hexdigest()


# What tells that the file changed: a rewrite (a new inode), its time or its size.
_Stamp = tuple[int, int, int]


def _stamp(path: Path) -> _Stamp | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class FeedRegistry:
    """The feeds of one deployment; one loaded from a file follows the file's changes."""

    def __init__(self, feeds: dict[str, Feed] | None = None, path: Path | None = None) -> None:
        self.feeds = feeds or {}
        self.path = path
        self._stamp = _stamp(path) if path else None

    @classmethod
    def load(cls, path: Path) -> FeedRegistry:
        """Read `path`; a missing file is an empty registry."""
        return cls(_read(path), path)

    def refresh(self) -> None:
        """Read the file again if it changed; an unreadable file leaves the feeds as they were."""
        if self.path is None:
            return
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return
        try:
            feeds = _read(self.path)
        except FeedsFileError:
            log.exception("intake.feeds_file_unreadable", kept="the feeds read before")
            self._stamp = stamp
            return
        self.feeds, self._stamp = feeds, stamp
        log.info("intake.feeds_reloaded", feeds_file=str(self.path), feeds=len(feeds))

    def authenticate(self, name: str, token: str | None) -> Feed | None:
        """The feed `name` if `token` is its token and it is enabled; None otherwise."""
        self.refresh()
        feed = self.feeds.get(name)
        if feed is None or token is None:
            return None
        # Compared in constant time, so that response times do not give the digest away.
        if not hmac.compare_digest(feed.token_sha256, digest(token)):
            return None
        return feed if feed.enabled else None

    def allowed_hosts(self, name: str) -> tuple[str, ...]:
        """The non-public hosts feed `name`'s links may name (none for an unknown feed)."""
        self.refresh()
        feed = self.feeds.get(name)
        return feed.allow_hosts if feed is not None and feed.enabled else ()


def _read(path: Path) -> dict[str, Feed]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedsFileError(f"feeds file {path} cannot be read: {exc}") from None
    return _parse(text, path)


def _parse(text: str, path: Path) -> dict[str, Feed]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FeedsFileError(f"feeds file {path} cannot be read: {exc}") from None
    feeds = {}
    for name, table in (data.get("feeds") or {}).items():
        if not isinstance(table, dict) or not isinstance(table.get("token_sha256"), str):
            raise FeedsFileError(f"{path}: feed {name!r} needs a token_sha256")
        hosts = table.get("allow_hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise FeedsFileError(f"{path}: feed {name!r}: allow_hosts is a list of host names")
        try:
            checked = subject_token(name, what="feed name")
        except ValueError as exc:
            raise FeedsFileError(f"{path}: {exc}") from None
        feeds[name] = Feed(
            name=checked,
            token_sha256=table["token_sha256"],
            description=str(table.get("description", "")),
            enabled=bool(table.get("enabled", True)),
            allow_hosts=tuple(h.strip().lower().strip("[]") for h in hosts),
        )
    return feeds


def add_feed(path: Path, name: str, description: str = "", allow_hosts: Sequence[str] = ()) -> str:
    """Add feed `name` to the feeds file and return its new token (shown once, never stored)."""
    subject_token(name, what="feed name")
    registry = FeedRegistry.load(path)
    if name in registry.feeds:
        raise FeedsFileError(f"feed {name!r} already exists in {path}")
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    is_new = not path.exists()
    with path.open("a", encoding="utf-8") as handle:
        if is_new:
            handle.write(
                "# crisis-cell intake feeds: `crisis feed add NAME` adds one.\n"
                "# Tokens are kept as SHA-256 digests; set enabled = false to refuse a feed.\n"
            )
        handle.write(
            f"\n[feeds.{name}]\n"
            f'token_sha256 = "{digest(token)}"\n'
            f"description = {json.dumps(description, ensure_ascii=False)}\n"
            f'created_at = "{utc_now().isoformat(timespec="seconds")}"\n'
            "enabled = true\n"
            + (f"allow_hosts = {json.dumps(list(allow_hosts))}\n" if allow_hosts else "")
        )
    path.chmod(0o600)
    return token


def rotate_token(path: Path, name: str) -> str:
    """Give feed `name` a new token and return it (shown once); the old one stops working."""
    token = secrets.token_urlsafe(32)
    _set(path, name, token_sha256=digest(token), rotated_at=utc_now().isoformat(timespec="seconds"))
    return token


def set_enabled(path: Path, name: str, *, enabled: bool) -> None:
    """Enable or disable feed `name`; a running intake follows at its next request."""
    _set(path, name, enabled=enabled)


_ASSIGNMENT = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=")
_TABLE = re.compile(r"\s*\[")


def _set(path: Path, name: str, **values: str | bool) -> None:
    """Set keys of feed `name`'s table in place (comments and the other feeds kept), atomically."""
    if name not in _read(path):
        raise FeedsFileError(f"no feed {name!r} in {path}: add it with `crisis feed add {name}`")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(
        (
            i
            for i, line in enumerate(lines)
            if line.strip() in (f"[feeds.{name}]", f'[feeds."{name}"]')
        ),
        None,
    )
    if header is None:
        raise FeedsFileError(f"{path}: feed {name!r} is not written as a [feeds.{name}] table")
    end = next((i for i in range(header + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
    for key, value in values.items():
        written = f"{key} = {json.dumps(value)}\n"
        at = next(
            (
                i
                for i in range(header + 1, end)
                if (found := _ASSIGNMENT.match(lines[i])) and found.group(1) == key
            ),
            None,
        )
        if at is None:
            lines.insert(header + 1, written)
            end += 1
        else:
            lines[at] = written
    text = "".join(lines)
    written_feed = _parse(text, path).get(name)
    if written_feed is None or any(
        getattr(written_feed, k) != v for k, v in values.items() if hasattr(written_feed, k)
    ):
        raise FeedsFileError(
            f"{path}: feed {name!r} could not be changed in place: edit it by hand"
        )
    write_private(path, text)
