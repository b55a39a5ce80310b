"""Operations: liveness, readiness and Prometheus metrics of a running system, on one port.

GET /health   the process answers
GET /ready    NATS connected, the streams there, the event log's database answering (503 if not)
GET /metrics  Prometheus text: events in the stream and in the log, the event log's consumer
              lag, rejected inputs, and the age of each crisis' last situation report
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from schemas import subjects
from schemas.envelope import utc_now
from services.eventlog.store import EventStore
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.http import HttpServer
from services.runtime.settings import Settings
from services.runtime.topology import (
    CRISIS_STREAM,
    DEADLETTER_STREAM,
    EVENTLOG_DURABLE,
    REPLAY_STREAM,
)

STREAMS = (CRISIS_STREAM, DEADLETTER_STREAM, REPLAY_STREAM)
SITREPS = "crisis.*.sitrep.issued"


class Probe:
    """What the endpoints read: the bus, the log, and the clock."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        store: EventStore,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.nc, self.js, self.store, self.clock = nc, js, store, clock

    async def readiness(self) -> dict[str, Any]:
        """Each check and whether it passes."""
        checks: dict[str, Any] = {"nats": self.nc.is_connected}
        for stream in STREAMS:
            checks[f"stream {stream}"] = await _answers(partial(self.js.stream_info, stream))
        checks["database"] = await _answers(self.store.last_position)
        return checks

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


async def _answers(call: Callable[[], Awaitable[object]]) -> bool:
    try:
        await call()
    except Exception:  # noqa: BLE001 (any failure means not ready)
        return False
    return True


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


def build_api(probe: Probe) -> FastAPI:
    """The operations endpoints."""
    api = FastAPI(title="crisis-cell operations", docs_url=None, redoc_url=None)

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready")
    async def ready() -> JSONResponse:
        checks = await probe.readiness()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @api.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(await probe.metrics(), media_type="text/plain; version=0.0.4")

    return api


class OpsService:
    """The operations endpoints as `crisis up` serves them."""

    name = "ops"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = HttpServer("ops", "CRISIS_OPS_PORT")
        self.url = ""
        self._stack = AsyncExitStack()

    async def start(self, nats_url: str) -> None:
        """Connect and serve."""
        try:
            bus = await self._stack.enter_async_context(connect(nats_url, name="crisis-ops"))
            store = EventStore(make_engine(self.settings.database_url))
            self._stack.push_async_callback(store.close)
            api = build_api(Probe(bus.nc, bus.js, store))
            self.url = await self.http.start(api, self.settings.ops_host, self.settings.ops_port)
            self._stack.push_async_callback(self.http.stop)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop serving, disconnect."""
        await self._stack.aclose()
