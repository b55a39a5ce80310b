"""Fetching what feeds link to: public http(s) hosts, files only beside the feed that links to them.

A link is fetched only if every address its host resolves to is public (not loopback, private,
link-local, multicast, reserved or unspecified, IPv4 or IPv6, nor one of those wrapped in an IPv6
address), unless the feed allows that host; the connection goes to the address that was checked,
so that a second DNS answer cannot swap it. Redirects are followed to the same scheme, host and
port only. What the upstream answered stays in the server log: the sender learns only that the
link was not fetched, so the intake cannot be used to read what it can reach.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx
import structlog

from services.intake.errors import Rejection

log = structlog.get_logger(__name__)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

NOT_PUBLIC = "link not fetched: its host does not resolve to a public address"
UPSTREAM_ERROR = "link not fetched: upstream answered an error"
UNREACHABLE = "link not fetched: upstream could not be reached"
TOO_SLOW = "link not fetched: upstream did not answer in time"
OTHER_HOST = "link not fetched: redirected to another host"
TOO_MANY_REDIRECTS = "link not fetched: too many redirects"
MAX_REDIRECTS = 3
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Fetcher(Protocol):
    """Gets the bytes a feed entry links to, resolved against the feed's own address."""

    async def __call__(self, link: str, base: str) -> bytes:
        """The linked document; `Rejection` when it cannot or may not be fetched."""


def is_url(text: str) -> bool:
    """True for an http or https address."""
    return urlsplit(text).scheme in ("http", "https")


def is_public(ip: IpAddress) -> bool:
    """True for an address on the public internet, looking inside IPv6 wrappings of IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(wrapped is not None and not is_public(wrapped) for wrapped in inner):
            return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (itself, for an address)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host.lower(), url.port or default)


class LinkFetcher:
    """Fetches over http(s) with a size limit and a timeout; reads local files only under `root`."""

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout_s: float = 10.0,
        root: Path | None = None,
        allow_hosts: Iterable[str] = (),
        resolver: Resolver = resolve,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.root = root.resolve() if root else None
        self.allow_hosts = frozenset(h.strip().lower().strip("[]") for h in allow_hosts)
        self.resolver = resolver
        self.max_redirects = max_redirects

    def allowing(self, hosts: Iterable[str]) -> LinkFetcher:
        """The same fetcher, allowed to reach `hosts` as well (a feed's `allow_hosts`)."""
        return LinkFetcher(
            max_bytes=self.max_bytes,
            timeout_s=self.timeout_s,
            root=self.root,
            allow_hosts=[*self.allow_hosts, *hosts],
            resolver=self.resolver,
            max_redirects=self.max_redirects,
        )

    async def __call__(self, link: str, base: str) -> bytes:
        """The document `link` names, relative to `base` (a URL or a file path)."""
        if is_url(link) or is_url(base):
            url = urljoin(base, link) if is_url(base) else link
            return await self.get(url)
        if urlsplit(link).scheme:
            raise Rejection(f"link {link[:200]!r}: only http(s) and relative links are followed")
        return self._file((Path(base).parent / link).resolve())

    async def get(self, url: str, *, keep_oversized: bool = False) -> bytes:
        """GET `url`, refusing a body over the limit (or, if asked, cut one byte past it)."""
        if not is_url(url):
            raise Rejection(f"{url[:200]!r} is not an http(s) address")
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._get(httpx.URL(url), keep_oversized=keep_oversized)
        except (TimeoutError, httpx.TimeoutException):
            log.warning("intake.fetch_timeout", url=url[:500], timeout_s=self.timeout_s)
            raise Rejection(TOO_SLOW) from None
        except httpx.HTTPError as exc:
            log.warning("intake.fetch_failed", url=url[:500], error=f"{type(exc).__name__}: {exc}")
            raise Rejection(UNREACHABLE) from None
        except httpx.InvalidURL:
            raise Rejection(f"link not fetched: {url[:200]!r} is not a valid address") from None

    async def _get(self, url: httpx.URL, *, keep_oversized: bool) -> bytes:
        origin = _origin(url)
        # No proxy from the environment: the connection must go to the address checked here.
        async with httpx.AsyncClient(
            timeout=self.timeout_s, follow_redirects=False, trust_env=False
        ) as client:
            for _ in range(self.max_redirects + 1):
                address = await self._address(url)
                request = client.build_request(
                    "GET",
                    url.copy_with(host=address),
                    headers={
                        "Host": url.netloc.decode("ascii"),
                        "Accept": "application/cap+xml, */*",
                    },
                    extensions={"sni_hostname": url.host},
                )
                reply = await client.send(request, stream=True)
                try:
                    if reply.is_redirect:
                        url = self._redirect(url, reply, origin)
                        continue
                    if reply.status_code != 200:
                        log.warning(
                            "intake.fetch_refused_upstream",
                            url=str(url)[:500],
                            status=reply.status_code,
                        )
                        raise Rejection(UPSTREAM_ERROR)
                    return await self._body(reply, url, keep_oversized=keep_oversized)
                finally:
                    await reply.aclose()
        log.warning("intake.fetch_redirects", url=str(url)[:500], max_redirects=self.max_redirects)
        raise Rejection(TOO_MANY_REDIRECTS)

    async def _address(self, url: httpx.URL) -> str:
        """The address to connect to for `url`, once every address of its host is checked."""
        host = url.host.lower()
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found = await self.resolver(host, port)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        except (OSError, ValueError) as exc:
            log.warning("intake.fetch_unresolved", host=host, error=str(exc))
            raise Rejection(NOT_PUBLIC) from None
        refused = [
            a
            for a in addresses
            if not is_public(a) and host not in self.allow_hosts and str(a) not in self.allow_hosts
        ]
        if not addresses or refused:
            log.warning("intake.fetch_not_public", host=host, addresses=[str(a) for a in addresses])
            raise Rejection(NOT_PUBLIC)
        return str(addresses[0])

    @staticmethod
    def _redirect(
        url: httpx.URL, reply: httpx.Response, origin: tuple[str, str, int | None]
    ) -> httpx.URL:
        target = url.join(reply.headers.get("location", ""))
        if _origin(target) != origin:
            log.warning(
                "intake.fetch_redirect_refused", url=str(url)[:500], location=str(target)[:500]
            )
            raise Rejection(OTHER_HOST)
        return target

    async def _body(self, reply: httpx.Response, url: httpx.URL, *, keep_oversized: bool) -> bytes:
        body = bytearray()
        async for chunk in reply.aiter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                if keep_oversized:
                    return bytes(body[: self.max_bytes + 1])
                log.warning("intake.fetch_oversized", url=str(url)[:500])
                raise Rejection(
                    f"link not fetched: the document is over the limit of {self.max_bytes:,} bytes"
                )
        return bytes(body)

    def _file(self, path: Path) -> bytes:
        if self.root is None or not path.is_relative_to(self.root):
            raise Rejection(f"link to {path} is outside the feed's directory: not read")
        try:
            with path.open("rb") as handle:
                return handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise Rejection(f"cannot read {path}: {exc.strerror}") from None
