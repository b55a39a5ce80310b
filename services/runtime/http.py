"""An HTTP server (uvicorn) inside a service, on a socket bound before it starts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
import uvicorn

log = structlog.get_logger(__name__)


class HttpServerError(RuntimeError):
    """A service's HTTP server did not start."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a process that already handles Ctrl-C and SIGTERM (`crisis up`)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Serves one ASGI app; `url` is set once it listens."""

    def __init__(self, what: str, port_setting: str) -> None:
        self.what = what
        self.port_setting = port_setting
        self.server: _EmbeddedServer | None = None
        self._serving: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self, api: Any, host: str, port: int) -> str:
        """Listen on host:port (0: any free port) and serve `api`; return the base URL."""
        # Bound here, not by uvicorn: uvicorn exits the whole process when it cannot bind.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise HttpServerError(
                f"the {self.what}'s HTTP server cannot listen on {host}:{port} ({exc.strerror}): "
                f"set {self.port_setting} to another port, or 0 for any free one"
            ) from None
        config = uvicorn.Config(api, log_level="warning", lifespan="off")
        self.server = _EmbeddedServer(config)
        self._serving = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:
            if self._serving.done():
                await self._serving
                raise HttpServerError(f"the {self.what}'s HTTP server stopped at start")
            await asyncio.sleep(0.02)
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        log.info("http.serving", service=self.what, url=self.url)
        return self.url

    async def stop(self) -> None:
        """Finish the requests in flight and stop listening."""
        if self.server is not None and self._serving is not None:
            self.server.should_exit = True
            await self._serving
        self.server = None
        self._serving = None
