"""The composition root: one place that starts the bus, the streams and every service."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Sequence
from contextlib import AsyncExitStack, suppress
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

import structlog
from nats.js import JetStreamContext

from services.runtime.bus import Bus, connect
from services.runtime.discovery import RunInfo, read_run_info, remove_run_info, write_run_info
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.memory import tune_for_services
from services.runtime.security import ADMIN, SERVICE_USERS, bare, prepare
from services.runtime.settings import Settings
from services.runtime.topology import topology

log = structlog.get_logger(__name__)


class Service(Protocol):
    """A service that `crisis up` runs in this process."""

    name: str

    async def start(self, nats_url: str) -> None:
        """Connect and begin work."""

    async def stop(self) -> None:
        """Finish in-flight work, then disconnect."""


class StackedService:
    """The start and stop every service shares: what `open` opens is closed by `stop`.

    A service pushes each thing it opens onto the exit stack it is handed, so `stop` closes them
    in reverse order; a start that fails half-way closes what it had opened, and raises.
    """

    name: str

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    async def start(self, nats_url: str) -> None:
        """Open what the service holds and begin work."""
        try:
            await self.open(self._stack, nats_url)
        except BaseException:
            await self.stop()
            raise

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Open the service's resources on `stack` (each subclass says which)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Finish in-flight work and close, in reverse order of opening."""
        stack, self._stack = self._stack, AsyncExitStack()
        await stack.aclose()

    @staticmethod
    def background(
        stack: AsyncExitStack, work: Coroutine[object, object, None], name: str
    ) -> asyncio.Task[None]:
        """Run `work` as a task of the service, cancelled (and awaited) when the service stops."""
        task = asyncio.create_task(work, name=name)
        stack.push_async_callback(_cancelled, task)
        return task


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


class CrisisSystem:
    """The embedded nats-server (unless a URL is configured), the streams, and the services."""

    def __init__(
        self,
        settings: Settings,
        services: Sequence[Service] = (),
        *,
        announce: bool = True,
        demo: bool = False,
    ) -> None:
        self.settings = settings
        # `crisis demo` adds the user that plays its scripted exercise (services.runtime.security).
        self.demo = demo
        # Each user's URL on the embedded server (none when CRISIS_NATS_URL is given).
        self.urls: dict[str, str] = {}
        # Only the process that owns the system writes the run file other commands look for.
        self.announce = announce
        self.services = list(services)
        self.embedded: EmbeddedNatsServer | None = None
        self.nats_url = settings.nats_url or ""
        self.bus: Bus | None = None
        self._stack = AsyncExitStack()

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context of the running system."""
        if self.bus is None:
            raise RuntimeError("the system is not started")
        return self.bus.js

    async def start(self) -> None:
        """Start everything in order; on failure, stop what was started."""
        try:
            await self._start(self._stack)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, stack: AsyncExitStack) -> None:
        if not self.settings.nats_url:
            self.embedded = EmbeddedNatsServer(
                self.settings.jetstream_dir,
                host=self.settings.nats_host,
                port=self.settings.nats_port,
                max_payload=self.settings.max_payload,
            )
            secured = await asyncio.to_thread(
                prepare, self.settings, self.embedded.host, self.embedded.port, demo=self.demo
            )
            self.embedded.auth_config = secured.auth_config
            self.urls = secured.urls
            self.nats_url = await self.embedded.astart()
            stack.push_async_callback(self.embedded.astop)
        self.bus = await stack.enter_async_context(
            connect(self.url_for(ADMIN), name="crisis-up", plan=topology(self.settings))
        )
        for service in self.services:
            await service.start(self.url_for(SERVICE_USERS.get(service.name, service.name)))
            stack.push_async_callback(service.stop)
            log.info("service.started", service=service.name)
        if self.services:
            tune_for_services()
        if not self.announce:
            return
        running = read_run_info(self.settings.run_file)
        if running is not None and running.pid != os.getpid():
            # A service started beside `crisis up` leaves the system's run file be.
            log.info("run_file.kept", run_file=str(self.settings.run_file), pid=running.pid)
            return
        write_run_info(
            self.settings.run_file,
            RunInfo(
                nats_url=bare(self.nats_url),
                pid=os.getpid(),
                embedded=self.embedded is not None,
                secured=bool(self.urls),
                started_at=datetime.now(UTC),
                services=[s.name for s in self.services],
                http={s.name: url for s in self.services if (url := getattr(s, "url", ""))},
            ),
        )
        stack.callback(remove_run_info, self.settings.run_file, os.getpid())

    def url_for(self, user: str) -> str:
        """The URL `user` connects with: its own credential on the embedded server, else the
        configured URL (in production each service runs alone, with its own env file)."""
        return self.urls.get(user, self.nats_url) if self.urls else self.nats_url

    async def stop(self) -> None:
        """Stop in reverse order: run file, services, connection, embedded server."""
        await self._stack.aclose()
        self.bus = None

    async def __aenter__(self) -> CrisisSystem:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
