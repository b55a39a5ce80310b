"""The feeds allowed to post to the intake, each with its own token, kept as a SHA-256 digest.

The file is TOML, one table per feed, written by `crisis feed add NAME`:

    [feeds.vigicrues]
    token_sha256 = "9f86d0…"
    description = "Vigicrues, flood vigilance"
    created_at = "2026-11-29T10:00:00+00:00"
    enabled = true
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from schemas.envelope import utc_now
from schemas.subjects import token as subject_token


class FeedsFileError(ValueError):
    """The feeds file cannot be read."""


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed the intake accepts inputs from."""

    name: str
    token_sha256: str
    description: str = ""
    enabled: bool = True


def digest(token: str) -> str:
    """The SHA-256 of a token, as the feeds file keeps it."""
    return hashlib.sha256(token.encode()).hexdigest()


class FeedRegistry:
    """The feeds of one deployment."""

    def __init__(self, feeds: dict[str, Feed] | None = None) -> None:
        self.feeds = feeds or {}

    @classmethod
    def load(cls, path: Path) -> FeedRegistry:
        """Read `path`; a missing file is an empty registry."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise FeedsFileError(f"feeds file {path} cannot be read: {exc}") from None
        feeds = {}
        for name, table in (data.get("feeds") or {}).items():
            if not isinstance(table, dict) or not isinstance(table.get("token_sha256"), str):
                raise FeedsFileError(f"{path}: feed {name!r} needs a token_sha256")
            feeds[name] = Feed(
                name=subject_token(name, what="feed name"),
                token_sha256=table["token_sha256"],
                description=str(table.get("description", "")),
                enabled=bool(table.get("enabled", True)),
            )
        return cls(feeds)

    def authenticate(self, name: str, token: str | None) -> Feed | None:
        """The feed `name` if `token` is its token and it is enabled; None otherwise."""
        feed = self.feeds.get(name)
        if feed is None or token is None:
            return None
        # Compared in constant time, so that response times do not give the digest away.
        if not hmac.compare_digest(feed.token_sha256, digest(token)):
            return None
        return feed if feed.enabled else None


def add_feed(path: Path, name: str, description: str = "") -> str:
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
        )
    path.chmod(0o600)
    return token
