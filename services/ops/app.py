"""Operations: liveness, readiness and Prometheus metrics of a running system, on one port.

GET /health   the process answers
GET /ready    every check passes (503 if not), and the problems in words an operator can act on:
              NATS connected, the streams and the log's database answering, the disks with
              CRISIS_DISK_MIN_FREE_MB free, JetStream storing a probe, the event log not stuck
              behind (services.ops.monitor). `?last=1`: the last round's report, not a new one.
GET /metrics  Prometheus text: events in the stream and in the log, the event log's consumer
              lag, rejected inputs, and the age of each crisis' last situation report

/metrics names the crises, so it needs `Authorization: Bearer <CRISIS_OPS_METRICS_TOKEN>` when
that token is set, and the server will not listen beyond loopback without one. /health and
/ready stay open: they say nothing about any crisis.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from schemas import subjects
from schemas.envelope import utc_now
from services.eventlog.store import EventStore, store_for
from services.ops.monitor import STREAMS, HealthMonitor
from services.runtime.bus import Bus, connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.http import HttpServer, HttpServerError
from services.runtime.settings import Settings
from services.runtime.system import StackedService
from services.runtime.topology import (
    CRISIS_STREAM,
    EVENTLOG_DURABLE,
)

log = structlog.get_logger(__name__)

SITREPS = "crisis.*.sitrep.issued"
TOKEN_SETTING = "CRISIS_OPS_METRICS_TOKEN"  # noqa: S105 (the name of a setting, not a secret)


class OpsConfigError(HttpServerError):
    """The operations endpoints would be exposed in a way that leaks the crises."""


class Probe:
    """What /metrics reads: the bus, the log, and the clock."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        store: EventStore,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.nc, self.js, self.store, self.clock = nc, js, store, clock

    async def metrics(self) -> str:
        """The Prometheus exposition text."""
        lines = _Lines()
        for stream in STREAMS:
            info = await self.js.stream_info(stream)
            lines.gauge(
                "crisis_stream_messages",
                info.state.messages,
                "Messages in a stream.",
                stream=stream,
            )
        lines.gauge("crisis_log_events", await self.store.count(), "Events in the SQL log.")
        lines.gauge(
            "crisis_log_position",
            await self.store.last_position(),
            "Highest stream position the log holds.",
        )
        lines.gauge(
            "crisis_rejected_inputs",
            await self.store.count_rejected(),
            "Rejected inputs kept with their reason.",
        )
        try:
            consumer = await self.js.consumer_info(CRISIS_STREAM, EVENTLOG_DURABLE)
            lines.gauge(
                "crisis_eventlog_pending",
                consumer.num_pending,
                "Events the event log has not been delivered yet.",
            )
            lines.gauge(
                "crisis_eventlog_ack_pending",
                consumer.num_ack_pending,
                "Events delivered to the event log and not yet committed.",
            )
        except NotFoundError:
            pass
        await self._sitrep_ages(lines)
        return lines.text()

    async def _sitrep_ages(self, lines: _Lines) -> None:
        info = await self.js.stream_info(CRISIS_STREAM, subjects_filter=SITREPS)
        now = self.clock()
        for subject in sorted(info.state.subjects or {}):
            last = await self.js.get_last_msg(CRISIS_STREAM, subject)
            crisis_id = subjects.parse_live(subject).crisis_id
            recorded = last.time if last.time is not None else now
            lines.gauge(
                "crisis_sitrep_age_seconds",
                round((now - recorded).total_seconds(), 1),
                "Seconds since the last situation report of a crisis.",
                crisis=crisis_id,
            )


class _Lines:
    """Prometheus text exposition, one HELP and TYPE per metric."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._named: set[str] = set()

    def gauge(self, name: str, value: float, about: str, **labels: str) -> None:
        if name not in self._named:
            self._named.add(name)
            self._lines += [f"# HELP {name} {about}", f"# TYPE {name} gauge"]
        tags = ",".join(f'{k}="{_escaped(v)}"' for k, v in labels.items())
        self._lines.append(f"{name}{{{tags}}} {value}" if tags else f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (a name other than localhost: assume not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, metrics_token: str | None) -> None:
    """Refuse to serve the metrics beyond loopback without a token."""
    if not metrics_token and not is_loopback(host):
        raise OpsConfigError(
            f"the operations endpoints would listen on {host} with /metrics open to anyone: "
            f"set {TOKEN_SETTING} to a long random token (Prometheus sends it as a bearer "
            "token), or CRISIS_OPS_HOST to 127.0.0.1"
        )


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def build_api(
    probe: Probe, monitor: HealthMonitor, metrics_token: str | None = None, fresh_s: float = 1.0
) -> FastAPI:
    """The operations endpoints; /metrics needs `metrics_token` as a bearer token when set;
    /ready answers with the monitor's last round if it is at most `fresh_s` old."""
    api = FastAPI(title="crisis-cell operations", docs_url=None, redoc_url=None)

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready")
    async def ready(last: bool = False) -> JSONResponse:
        report = monitor.last if last and monitor.last else await monitor.report(fresh_s)
        return JSONResponse(report.as_json(), status_code=200 if report.ready else 503)

    @api.get("/metrics", response_model=None)
    async def metrics(request: Request) -> Response:
        if metrics_token and not _bearer_matches(request, metrics_token):
            client = request.client.host if request.client else None
            log.warning("ops.metrics_refused", client=client, path=request.url.path)
            return JSONResponse(
                {"error": "send Authorization: Bearer <the metrics token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return PlainTextResponse(await probe.metrics(), media_type="text/plain; version=0.0.4")

    return api


class OpsService(StackedService):
    """The operations endpoints as `crisis up` serves them."""

    name = "ops"

    def __init__(
        self,
        settings: Settings,
        *,
        store: EventStore | None = None,
        check_every_s: float = 5.0,
        stall_after_s: float = 60.0,
        restart_gap_s: float = 30.0,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        # How often the health monitor checks; how long the log may sit behind without moving;
        # the least time between two restarts of JetStream.
        self.check_every_s, self.stall_after_s = check_every_s, stall_after_s
        self.restart_gap_s = restart_gap_s
        self.http = HttpServer("ops", "CRISIS_OPS_PORT")
        self.url = ""
        self.monitor: HealthMonitor | None = None

    async def open(self, stack: AsyncExitStack, nats_url: str) -> None:
        """Connect and serve (not beyond loopback without a metrics token)."""
        token = self.settings.ops_metrics_token or None
        check_exposure(self.settings.ops_host, token)
        bus = await stack.enter_async_context(connect(nats_url, name="crisis-ops"))
        store = store_for(stack, self.store, self.settings.database_url)
        monitor = await self._monitor(nats_url, bus, store)
        api = build_api(Probe(bus.nc, bus.js, store), monitor, token, self.check_every_s)
        self.url = await self.http.start(api, self.settings.ops_host, self.settings.ops_port)
        stack.push_async_callback(self.http.stop)
        self.background(stack, monitor.run(self.check_every_s), "ops-health")

    async def _monitor(self, nats_url: str, bus: Bus, store: EventStore) -> HealthMonitor:
        """The health monitor: it probes on the ops user's own credential (its probe stream is
        the one thing that user may write); on the server this process runs, it may restart
        JetStream."""
        server = EmbeddedNatsServer.serving(nats_url)
        self.monitor = HealthMonitor(
            self.settings,
            bus.nc,
            bus.js,
            store,
            probe_js=bus.js,
            server=server,
            stall_after_s=self.stall_after_s,
            restart_gap_s=self.restart_gap_s,
        )
        await self.monitor.prepare()
        return self.monitor
