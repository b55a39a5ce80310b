"""Fetching what feeds link to: http(s) anywhere, files only beside the feed that links to them."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlparse

import httpx

from services.intake.errors import Rejection


class Fetcher(Protocol):
    """Gets the bytes a feed entry links to, resolved against the feed's own address."""

    async def __call__(self, link: str, base: str) -> bytes:
        """The linked document; `Rejection` when it cannot or may not be fetched."""


def is_url(text: str) -> bool:
    """True for an http or https address."""
    return urlparse(text).scheme in ("http", "https")


class LinkFetcher:
    """Fetches over http(s) with a size limit and a timeout; reads local files only under `root`."""

    def __init__(
        self, *, max_bytes: int, timeout_s: float = 10.0, root: Path | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.root = root.resolve() if root else None

    async def __call__(self, link: str, base: str) -> bytes:
        """The document `link` names, relative to `base` (a URL or a file path)."""
        if is_url(link) or is_url(base):
            url = urljoin(base, link) if is_url(base) else link
            return await self.get(url)
        if urlparse(link).scheme:
            raise Rejection(f"link {link[:200]!r}: only http(s) and relative links are followed")
        return self._file((Path(base).parent / link).resolve())

    async def get(self, url: str, *, keep_oversized: bool = False) -> bytes:
        """GET `url`, refusing a body over the limit (or, if asked, cut one byte past it)."""
        if not is_url(url):
            raise Rejection(f"{url[:200]!r} is not an http(s) address")
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=True) as client,
                client.stream("GET", url, headers={"Accept": "application/cap+xml, */*"}) as reply,
            ):
                if reply.status_code != 200:
                    raise Rejection(f"GET {url[:200]} answered {reply.status_code}")
                body = bytearray()
                async for chunk in reply.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        if keep_oversized:
                            return bytes(body[: self.max_bytes + 1])
                        raise Rejection(
                            f"{url[:200]} is over the limit of {self.max_bytes:,} bytes"
                        )
                return bytes(body)
        except httpx.HTTPError as exc:
            raise Rejection(f"GET {url[:200]} failed: {type(exc).__name__}: {exc}") from None

    def _file(self, path: Path) -> bytes:
        if self.root is None or not path.is_relative_to(self.root):
            raise Rejection(f"link to {path} is outside the feed's directory: not read")
        try:
            with path.open("rb") as handle:
                return handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise Rejection(f"cannot read {path}: {exc.strerror}") from None
