"""The health monitor: runs the checks of /ready, and has JetStream write again after a full disk.

JetStream (nats-server 2.15) stops writing a stream after a write error such as a full disk:
the stream keeps its messages and answers reads, but every later publish to it goes
unanswered, even once space is back, until JetStream is restarted. A read cannot tell such a
stream from a healthy one, and a probe cannot be written to the CRISIS stream (the log would
record it), so the monitor probes a stream of its own, HEALTH, on the same store, and takes a
refused probe, or the store's disk seen full, as JetStream refusing writes on every stream.

When the server is the one this process runs (`crisis up`), the monitor restarts JetStream once
the store's disk has CRISIS_DISK_MIN_FREE_MB free again: it has the server reload its
configuration with JetStream off, then on (clients stay connected; the streams and consumers
are read back from the store). Otherwise /ready says to restart the nats-server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from sqlalchemy import text

from schemas.envelope import utc_now
from services.eventlog.store import EventStore
from services.runtime.database import describe
from services.runtime.embedded import EmbeddedNatsServer, EmbeddedServerError
from services.runtime.health import (
    FULL_BYTES,
    MB,
    Check,
    Disk,
    HealthReport,
    StallWatch,
    disk_check,
    read_disk,
    watched_paths,
)
from services.runtime.settings import Settings
from services.runtime.topology import (
    CRISIS_STREAM,
    DEADLETTER_STREAM,
    EVENTLOG_DURABLE,
    REPLAY_STREAM,
)

log = structlog.get_logger(__name__)

STREAMS = (CRISIS_STREAM, DEADLETTER_STREAM, REPLAY_STREAM)
HEALTH_STREAM = "HEALTH"
PROBE_SUBJECT = "health.probe"
# Larger than a page or a disk block: a probe on a full disk always needs new room.
PROBE = b"p" * 8192
# How long the services may take to follow the stream again after JetStream restarted.
FOLLOW_AGAIN_S = 30.0
PG_SIZE = text("SELECT pg_database_size(current_database())")


def health_stream(replicas: int) -> StreamConfig:
    """The probe's stream: one message kept, on file, beside the others in the store."""
    return StreamConfig(
        name=HEALTH_STREAM,
        description="Probe messages of the health monitor: does JetStream write?",
        subjects=[PROBE_SUBJECT],
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_msgs_per_subject=1,
        max_bytes=1 * MB,
        num_replicas=replicas,
    )


class HealthMonitor:
    """The checks of one system, a round at a time; JetStream restarted when it stopped writing."""

    def __init__(
        self,
        settings: Settings,
        nc: Client,
        js: JetStreamContext,
        store: EventStore,
        *,
        probe_js: JetStreamContext | None = None,
        server: EmbeddedNatsServer | None = None,
        stall_after_s: float = 60.0,
        restart_gap_s: float = 30.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.settings, self.nc, self.js, self.store = settings, nc, js, store
        self.probe_js, self.server = probe_js, server
        self.stall = StallWatch(stall_after_s)
        self.restart_gap_s, self.timeout_s = restart_gap_s, timeout_s
        self.last: HealthReport | None = None
        self.restarts = 0
        # Since when and why JetStream refuses writes; cleared once it writes after a restart.
        self._refused: tuple[datetime, str] | None = None
        self._reconnects_then = 0
        self._restarted_at = -float("inf")
        # After a restart of JetStream: until when, and how many consumers CRISIS had before
        # (the services' ordered consumers are gone with it; nats-py makes them again after
        # two missed heartbeats, 10 to 20 s).
        self._following: tuple[float, int] | None = None
        self._lock = asyncio.Lock()

    async def prepare(self) -> None:
        """Make sure of the HEALTH stream; without the right to, JetStream is checked by reads."""
        if self.probe_js is None:
            return
        try:
            try:
                await asyncio.wait_for(self.probe_js.stream_info(HEALTH_STREAM), self.timeout_s)
            except NotFoundError:
                await self.probe_js.add_stream(health_stream(self.settings.stream_replicas))
        except (NatsError, TimeoutError) as exc:
            self.probe_js = None
            log.warning("health.no_probe", error=f"{type(exc).__name__}: {exc}")

    async def run(self, every_s: float) -> None:
        """Check every `every_s` seconds, for as long as the service runs."""
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("health.check_failed")
            await asyncio.sleep(every_s)

    async def report(self, max_age_s: float) -> HealthReport:
        """The last round's report if it is at most `max_age_s` old, else a new round's."""
        last = self.last
        if last is not None and (utc_now() - last.checked_at).total_seconds() <= max_age_s:
            return last
        return await self.check(max_age_s)

    async def check(self, max_age_s: float = 0.0) -> HealthReport:
        """Run every check (unless a round younger than `max_age_s` ended while this one waited
        its turn); restart JetStream if it stopped writing and may write again."""
        async with self._lock:
            last = self.last
            if last is not None and (utc_now() - last.checked_at).total_seconds() < max_age_s:
                return last
            store_dir = self.server.store_dir if self.server else None
            disks = [read_disk(w, p) for w, p in watched_paths(self.settings, store_dir)]
            checks = [self._connected()]
            for stream in STREAMS:
                checks.append(
                    await self._answers(
                        f"stream {stream}",
                        lambda s=stream: self.js.stream_info(s),  # type: ignore[misc]
                        f"JetStream does not answer for stream {stream}",
                    )
                )
            checks.append(
                await self._answers(
                    "database", self.store.last_position, "the event log's database does not answer"
                )
            )
            checks.append(disk_check(disks, self.settings.disk_min_free_mb))
            checks.append(await self._jetstream_writes(disks))
            checks.append(await self._eventlog_progress())
            if self.settings.db_max_mb and self.store.engine.dialect.name == "postgresql":
                checks.append(await self._database_size())
            report = HealthReport(utc_now(), tuple(checks))
            problems = report.as_json()["problems"]
            if self.last is None or problems != self.last.as_json()["problems"]:
                if problems:
                    log.warning("health.not_ready", problems=problems)
                else:
                    log.info("health.ready")
            self.last = report
            return report

    def _connected(self) -> Check:
        if self.nc.is_connected:
            return Check("nats", ok=True)
        return Check(
            "nats",
            ok=False,
            problem="not connected to the NATS server: is it running? The services reconnect "
            "by themselves once it answers again",
        )

    async def _answers(self, name: str, call: Callable[[], Awaitable[object]], about: str) -> Check:
        try:
            await asyncio.wait_for(call(), self.timeout_s * 2)
        except Exception as exc:  # noqa: BLE001 (any failure means not ready)
            return Check(name, ok=False, problem=f"{about} ({type(exc).__name__}: {exc})")
        return Check(name, ok=True)

    async def _probe(self) -> str | None:
        """Why a probe message was not stored, or None when it was."""
        if self.probe_js is None or not self.nc.is_connected:
            return None
        try:
            await self.probe_js.publish(PROBE_SUBJECT, PROBE, timeout=self.timeout_s)
        except (NatsTimeoutError, TimeoutError):
            return f"a probe message to {HEALTH_STREAM} got no answer in {self.timeout_s:g} s"
        except NatsError as exc:
            return f"a probe message to {HEALTH_STREAM} was refused: {exc}"
        return None

    def _remember(self, why: str) -> None:
        if self._refused is None:
            self._refused = (utc_now(), why)
            self._reconnects_then = self.nc.stats["reconnects"]
            log.error("jetstream.refuses_writes", reason=why)

    async def _jetstream_writes(self, disks: list[Disk]) -> Check:
        store = next((d for d in disks if d.what == "the JetStream store"), None)
        refused = await self._probe()
        if refused:
            self._remember(refused)
        if store is not None and store.free < FULL_BYTES:
            self._remember(f"the disk under its store ({store.path}) is full")
        if self._refused is None:
            return await self._followers_back()
        since, why = self._refused
        said = f"JetStream has refused new events since {since:%H:%M:%S} UTC ({why})"
        wanted = self.settings.disk_min_free_mb
        if self.server is None:
            return self._external_server(said, refused)
        if store is not None and store.free < wanted * MB:
            return Check(
                "jetstream writes",
                ok=False,
                problem=f"{said}; acknowledged events are kept. Free space on the disk under "
                f"{store.path}: the system restarts JetStream by itself once {wanted} MB are "
                f"free there (now {store.free_mb} MB)",
            )
        if await self._restart_jetstream(why):
            return await self._followers_back()
        return Check(
            "jetstream writes",
            ok=False,
            problem=f"{said}, and still refuses them after the system restarted it: stop "
            "`crisis up` (Ctrl-C) and start it again; if that does not help, see the "
            f"nats-server log ({self.server.log_file})",
        )

    def _external_server(self, said: str, refused: str | None) -> Check:
        # Not this process' server: it cannot be restarted from here. A reconnection since the
        # refusal (the server restarted) and a probe that passes say it writes again.
        restarted = self.nc.stats["reconnects"] > self._reconnects_then
        if self.probe_js is not None and refused is None and restarted:
            self._refused = None
            log.info("jetstream.writes_again")
            return Check("jetstream writes", ok=True)
        return Check(
            "jetstream writes",
            ok=False,
            problem=f"{said}. After a write error such as a full disk, JetStream refuses "
            "writes to that stream until it is restarted: free space under the nats-server's "
            "store, then restart that nats-server (this system did not start it, so it cannot)",
        )

    async def _restart_jetstream(self, why: str) -> bool:
        """Restart JetStream on the embedded server (off, then on); whether it writes again."""
        server = self.server
        now = time.monotonic()
        if server is None or now - self._restarted_at < self.restart_gap_s:
            return False
        self._restarted_at = now
        log.warning("jetstream.restarting", reason=why, url=server.url)
        try:
            before = (await self.js.stream_info(CRISIS_STREAM)).state.consumer_count
        except Exception:  # noqa: BLE001 (then nobody is known to wait for)
            before = 0
        try:
            server.reload(jetstream=False)
            await self._until(answering=False, seconds=5)
            server.reload(jetstream=True)
            await self._until(answering=True, seconds=15)
        except (EmbeddedServerError, OSError):
            log.exception("jetstream.restart_failed")
            return False
        self.restarts += 1
        refused = await self._probe()
        if refused:
            log.error("jetstream.still_refuses", reason=refused)
            return False
        self._refused = None
        self._following = (time.monotonic() + FOLLOW_AGAIN_S, before or 0)
        log.info("jetstream.restarted", seconds=round(time.monotonic() - now, 2))
        return True

    async def _followers_back(self) -> Check:
        """Ready once the stream has as many consumers as before JetStream restarted (the
        services follow it again: an act waits to see its events), or after FOLLOW_AGAIN_S."""
        if self._following is None:
            return Check("jetstream writes", ok=True)
        until, wanted = self._following
        try:
            now = (await self.js.stream_info(CRISIS_STREAM)).state.consumer_count or 0
        except Exception:  # noqa: BLE001 (the stream check says it does not answer)
            now = 0
        if now >= wanted or time.monotonic() > until:
            self._following = None
            log.info("jetstream.followed_again", consumers=now, before=wanted)
            return Check("jetstream writes", ok=True)
        return Check(
            "jetstream writes",
            ok=False,
            problem="JetStream was restarted after it stopped writing, and writes again; the "
            f"services are following the stream again ({now} of its {wanted} consumers back; "
            f"at most {FOLLOW_AGAIN_S:.0f} s)",
        )

    async def _until(self, *, answering: bool, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.js.stream_info(CRISIS_STREAM), 0.5)
                answers = True
            except Exception:  # noqa: BLE001 (any failure: JetStream is not there)
                answers = False
            if answers == answering:
                return
            await asyncio.sleep(0.1)

    async def _eventlog_progress(self) -> Check:
        try:
            consumer = await self.js.consumer_info(
                CRISIS_STREAM, EVENTLOG_DURABLE, timeout=self.timeout_s
            )
            position = await self.store.last_position()
        except Exception:  # noqa: BLE001 (no consumer yet, or the stream and database checks say)
            return Check("eventlog progress", ok=True)
        lag = (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
        stuck = self.stall.observe(lag, position, time.monotonic())
        if stuck is None:
            return Check("eventlog progress", ok=True)
        return Check(
            "eventlog progress",
            ok=False,
            problem=f"the event log is {lag} event{'s' * (lag != 1)} behind the stream and has "
            f"recorded none for {stuck:.0f} s (its last position is #{position}): check its "
            "database "
            f"({describe(self.settings.database_url)}) and the eventlog's log lines "
            "(eventlog.commit_failed); it catches up by itself once it can write",
        )

    async def _database_size(self) -> Check:
        limit = self.settings.db_max_mb
        try:
            async with self.store.engine.connect() as conn:
                size = int(await conn.scalar(PG_SIZE) or 0)
        except Exception as exc:  # noqa: BLE001 (the database check says it does not answer)
            return Check("database size", ok=False, problem=f"cannot read its size: {exc}")
        if size <= limit * MB:
            return Check("database size", ok=True)
        return Check(
            "database size",
            ok=False,
            problem=f"the PostgreSQL event log takes {size // MB} MB, over CRISIS_DB_MAX_MB="
            f"{limit}: make sure its server's disk has room (this system cannot see that disk), "
            "then raise the setting",
        )
