"""One system per folder, one nats-server per JetStream store, one recorder per event log.

Two `crisis up` in one folder each started a nats-server on the same JetStream store and a
recorder on the same log: acknowledged events were lost and the log lied. Each of these is now
held by one process at a time:

- `var/`: an exclusive `flock` on `var/crisis.lock`, taken by the process that runs the system
  (`crisis up`, `crisis demo`) before it starts anything;
- a JetStream store: an exclusive `flock` on `<store>/crisis.lock`, taken before its embedded
  nats-server is spawned and handed to that server, so it stays held while the server lives,
  even for the few seconds a server outlives a killed parent;
- an event log (the recorder's database): on SQLite a `flock` on `<database>.recorder.lock`, on
  PostgreSQL a session-level advisory lock held on a connection of the recorder's own.

The operating system (or PostgreSQL, when the session ends) releases each lock when its holder
dies: a lock is never stale. A store's lock taken again by the process that holds it is shared
(counted), so the composition root and its embedded server both hold it; the others are refused
to a second taker in the same process too.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.runtime.discovery import read_run_info
from services.runtime.settings import Settings

log = structlog.get_logger(__name__)

LOCK_NAME = "crisis.lock"
# How long a new system waits for the JetStream store while a server outlives its dead system.
STORE_WAIT_S = 15.0


class LockedError(RuntimeError):
    """What the process wants to own is held by another one; the message says which."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who wrote a lock file: the process, and since when."""

    pid: int | None
    since: str | None


@dataclass(slots=True)
class _Held:
    fd: int
    count: int


# Per process: the lock files this process holds, by resolved path (flock locks belong to an
# open file, so a second open in the same process would be refused by its own first).
_HELD: dict[Path, _Held] = {}


class FileLock:
    """An exclusive, non-blocking `flock` on one file; `shared`: a second taker in this process
    shares it (counted) instead of being refused."""

    def __init__(self, path: Path, *, shared: bool = False) -> None:
        self.path = path.resolve()
        self.shared = shared
        self._taken = 0  # by this object: only what it took, it gives back

    @property
    def fd(self) -> int | None:
        """The descriptor holding the lock (to hand to a child process), if held here."""
        held = _HELD.get(self.path)
        return held.fd if held else None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; write this process into the file."""
        if (held := _HELD.get(self.path)) is not None:
            if not self.shared:
                return False
            held.count += 1
            self._taken += 1
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        note = json.dumps({"pid": os.getpid(), "since": datetime.now(UTC).isoformat()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode() + b"\n", 0)
        _HELD[self.path] = _Held(fd, 1)
        self._taken += 1
        return True

    def release(self) -> None:
        """Give the lock back once every taker in this process has (the file stays)."""
        held = _HELD.get(self.path)
        if held is None or self._taken == 0:
            return
        self._taken -= 1
        held.count -= 1
        if held.count == 0:
            del _HELD[self.path]
            os.close(held.fd)  # closing the last descriptor of the open file unlocks it

    def holder(self) -> Holder:
        """Who the lock file says holds it (the pid and time it wrote, if readable)."""
        try:
            data = json.loads(self.path.read_text())
            return Holder(int(data["pid"]), str(data["since"]))
        except (OSError, ValueError, KeyError, TypeError):
            return Holder(None, None)


def _since(moment: str | datetime | None) -> str:
    if moment is None:
        return "since an unknown time"
    when = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    return f"since {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def system_lock(settings: Settings) -> FileLock:
    """The lock of the folder a system runs from."""
    return FileLock(settings.var_dir / LOCK_NAME)


def store_lock(store_dir: Path) -> FileLock:
    """The lock of a JetStream store (shared within the process that runs its server)."""
    return FileLock(store_dir / LOCK_NAME, shared=True)


def already_running(settings: Settings, lock: FileLock) -> str:
    """One line naming the system that holds `var/`: its pid, URL and start from run.json."""
    where = settings.var_dir.resolve()
    holder = lock.holder()
    info = read_run_info(settings.run_file)
    pid: int | None = holder.pid
    if info is not None and pid in (None, info.pid):
        pid, about = info.pid, f"{info.nats_url}, {_since(info.started_at)}"
    else:
        about = f"starting, {_since(holder.since)}"
    stop = f"kill -TERM {pid}" if pid else "stop its process"
    return (
        f"a crisis system already runs from {where} (pid {pid or 'unknown'}, {about}); "
        f"stop it first (Ctrl-C in its terminal, or {stop})"
    )


def store_in_use(store_dir: Path, lock: FileLock) -> str:
    """One line naming who holds a JetStream store."""
    holder = lock.holder()
    return (
        f"the JetStream store {store_dir.resolve()} is in use by another nats-server "
        f"(started by pid {holder.pid or 'unknown'}, {_since(holder.since)}); stop it first"
    )


class SystemLocks:
    """The folder and its JetStream store, held by the process that runs the system."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = system_lock(settings)
        # No embedded server with a configured NATS: no store of ours to hold.
        self.store = None if settings.nats_url else store_lock(settings.jetstream_dir)

    async def acquire(self, *, store_wait: float = STORE_WAIT_S) -> None:
        """Take both, or raise LockedError with the one line to show; the folder is never
        waited for, the store for `store_wait` seconds (a server outliving its killed system
        stops within them)."""
        if not self.folder.acquire():
            raise LockedError(already_running(self.settings, self.folder))
        if self.store is None:
            return
        deadline = time.monotonic() + store_wait
        while not self.store.acquire():
            if time.monotonic() >= deadline:
                self.folder.release()
                raise LockedError(store_in_use(self.settings.jetstream_dir, self.store))
            await asyncio.sleep(0.2)

    def release(self) -> None:
        """Give both back."""
        if self.store is not None:
            self.store.release()
        self.folder.release()


# -- one recorder per event log ----------------------------------------------------------------


class RecorderLock(Protocol):
    """Who may write the log: `acquire` tries, `holder` says who has it, `held` checks it is
    still ours before a commit, `release` gives it back."""

    where: str

    async def acquire(self) -> bool:
        """Take the lock if free."""

    async def holder(self) -> str:
        """Who holds it, in words."""

    async def held(self) -> bool:
        """Whether this process still holds it (a database connection can be lost)."""

    async def release(self) -> None:
        """Give it back."""


class FileRecorderLock:
    """SQLite: a `flock` beside the database file."""

    def __init__(self, database: Path) -> None:
        self.lock = FileLock(database.with_name(database.name + ".recorder.lock"))
        self.where = str(database.resolve())
        self._mine = False

    async def acquire(self) -> bool:
        """Take the lock if free."""
        if not self._mine:
            self._mine = self.lock.acquire()
        return self._mine

    async def holder(self) -> str:
        """The process the lock file names."""
        holder = self.lock.holder()
        return f"pid {holder.pid or 'unknown'} on this machine, {_since(holder.since)}"

    async def held(self) -> bool:
        """A file lock is held until released or the process dies."""
        return self._mine

    async def release(self) -> None:
        """Give it back."""
        if self._mine:
            self._mine = False
            self.lock.release()


class NoRecorderLock:
    """A database only this process sees (SQLite in memory): nothing to share."""

    where = "memory"

    async def acquire(self) -> bool:
        """Always free."""
        return True

    async def holder(self) -> str:
        """Nobody else."""
        return "nobody"

    async def held(self) -> bool:
        """Always."""
        return True

    async def release(self) -> None:
        """Nothing to give back."""


def advisory_key(schema: str) -> int:
    """The advisory lock key of the log in `schema`: a signed 64-bit digest of a fixed name."""
    digest = hashlib.sha256(f"crisis-cell eventlog recorder {schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_HOLDER = text(
    "SELECT a.pid, a.application_name, a.client_addr, a.backend_start "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid::bigint = :high AND l.objid::bigint = :low"
)


class PostgresRecorderLock:
    """PostgreSQL: `pg_try_advisory_lock` on a connection of its own, named after this process
    (`application_name`) so that a waiting recorder can say who holds the log."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.where = engine.url.render_as_string(hide_password=True)
        self.name = f"crisis-eventlog {socket.gethostname()} pid {os.getpid()}"[:63]
        self._conn: AsyncConnection | None = None
        self._key: int | None = None

    async def _key_of(self, conn: AsyncConnection) -> int:
        if self._key is None:
            schema = await conn.scalar(text("SELECT current_schema()"))
            self._key = advisory_key(str(schema))
            self.where += f" (schema {schema})"
        return self._key

    async def acquire(self) -> bool:
        """Take the lock if free, on a connection kept for as long as it is held."""
        if self._conn is not None and await self.held():
            return True
        conn = await self.engine.connect()
        try:
            await conn.execute(
                text("SELECT set_config('application_name', :name, false)"), {"name": self.name}
            )
            key = await self._key_of(conn)
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            await conn.commit()  # the session lock outlives this transaction
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def holder(self) -> str:
        """The session holding the lock, from pg_locks and pg_stat_activity."""
        async with self.engine.connect() as conn:
            key = await self._key_of(conn)
            row = (
                await conn.execute(
                    _HOLDER, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}
                )
            ).first()
        if row is None:
            return "nobody now"
        who = row.application_name or "an unnamed session"
        at = f" from {row.client_addr}" if row.client_addr else ""
        return f"{who!r} (server pid {row.pid}{at}, {_since(row.backend_start)})"

    async def held(self) -> bool:
        """Whether the lock's connection still answers (its session, and so the lock, lives)."""
        if self._conn is None:
            return False
        try:
            await self._conn.scalar(text("SELECT 1"))
            await self._conn.commit()
        except Exception:  # noqa: BLE001 (a lost connection, whatever the driver calls it)
            await self._drop()
            return False
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # noqa: BLE001 (already gone)
                await conn.invalidate()

    async def release(self) -> None:
        """Unlock and give the connection back (closing it would unlock it too)."""
        conn = self._conn
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            await conn.commit()
        except Exception:  # noqa: BLE001 (the session is gone: so is its lock)
            log.warning("recorder_lock.release_failed", where=self.where)
        await self._drop()


def recorder_lock(engine: AsyncEngine) -> RecorderLock:
    """The lock that makes one recorder the only writer of the log on `engine`."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresRecorderLock(engine)
    if url.database and url.database != ":memory:":
        return FileRecorderLock(Path(url.database))
    return NoRecorderLock()
