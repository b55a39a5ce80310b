"""Reading needs a login: the picture API and /metrics refuse whoever has not authenticated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from services.auth.principals import Kind, Principal
from services.cell.people import Role
from services.ops import app as ops
from services.picture import http as picture_http
from services.picture.fold import new_picture
from services.picture.http import OPEN_PATHS, build_api
from services.picture.live import LivePictures
from services.runtime.health import Check, HealthReport

pytestmark = pytest.mark.unit

CRISIS = "crue-secrete-06"
NAME = "Crue de la Vésubie"
OBSERVER = "observer-token-0123456789"
FEED = "feed-token-0123456789"


@dataclass
class FakeVerifier:
    """Tokens and whose they are; `revoke` ends one, as a logout or an expiry would."""

    tokens: dict[str, Principal] = field(default_factory=dict)
    asked: int = 0

    async def principal(self, token: str) -> Principal | None:
        self.asked += 1
        return self.tokens.get(token)

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)


@pytest.fixture(autouse=True)
def _fresh_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loggers not yet cached: an earlier test's use would hide them from `capture_logs`."""
    monkeypatch.setattr(picture_http, "log", structlog.get_logger(picture_http.__name__))
    monkeypatch.setattr(ops, "log", structlog.get_logger(ops.__name__))


def verifier() -> FakeVerifier:
    return FakeVerifier(
        {
            OBSERVER: Principal("partner.sdis", Role.OBSERVER, Kind.SERVICE),
            FEED: Principal("feed.vigicrues", Role.FEED, Kind.FEED),
        }
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def live_pictures() -> LivePictures:
    live = LivePictures(snapshots=None)  # type: ignore[arg-type]  # never snapshots here
    picture = new_picture(CRISIS)
    picture["name"] = NAME
    live.pictures[CRISIS] = picture
    return live


def client(verifier: FakeVerifier | None, **options: Any) -> TestClient:
    live = live_pictures()
    return TestClient(build_api(live, None, None, verifier, **options))  # type: ignore[arg-type]


READS = ["/crises", f"/crises/{CRISIS}/picture"]
DATA = [*READS, f"/crises/{CRISIS}/diff?from=0", "/crises/*/events"]


@pytest.mark.parametrize("path", DATA)
@pytest.mark.parametrize("headers", [{}, bearer("not-a-token"), {"Authorization": "Basic eDp5"}])
def test_a_read_without_a_valid_token_is_refused_and_says_nothing(
    path: str, headers: dict[str, str]
) -> None:
    reply = client(verifier()).get(path, headers=headers)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert set(reply.json()) == {"detail"}
    assert CRISIS not in reply.text.replace(path, "")
    assert NAME not in reply.text


@pytest.mark.parametrize("path", READS)
def test_an_observer_reads_and_a_feed_is_forbidden(path: str) -> None:
    test = client(verifier())
    assert test.get(path, headers=bearer(OBSERVER)).status_code == 200
    refused = test.get(path, headers=bearer(FEED))
    assert refused.status_code == 403
    assert NAME not in refused.text


def test_the_crises_reach_an_observer() -> None:
    [crisis] = client(verifier()).get("/crises", headers=bearer(OBSERVER)).json()
    assert (crisis["crisis_id"], crisis["name"]) == (CRISIS, NAME)


def test_without_a_verifier_every_route_but_the_open_ones_refuses_even_a_token() -> None:
    test = client(None)
    routes = [r for r in test.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    guarded = [r.path for r in routes if r.path not in OPEN_PATHS]
    assert "/crises/{crisis_id}/events" in guarded
    for path in guarded:
        url = path.replace("{crisis_id}", CRISIS)
        reply = test.get(url, params={"from": "0"}, headers=bearer(OBSERVER))
        assert reply.status_code == 401, path


def test_health_and_the_schema_are_open_and_name_no_crisis() -> None:
    test = client(None)
    health = test.get("/health")
    assert health.json() == {"status": "ok", "position": 0}
    assert test.get("/openapi.json").status_code == 200
    assert test.get("/docs").status_code == 200
    assert CRISIS not in test.get("/openapi.json").text


def test_a_refused_read_is_logged_with_address_and_path_never_the_token() -> None:
    test = client(verifier())
    with capture_logs() as logs:
        test.get("/crises", headers=bearer("stolen-or-stale-token"))
        test.get("/crises", headers=bearer(FEED))
    refused = [e for e in logs if e["event"] == "picture.read_refused"]
    assert [e["status"] for e in refused] == [401, 403]
    assert all(e["path"] == "/crises" and e["client"] for e in refused)
    assert "stolen-or-stale-token" not in repr(logs)
    assert FEED not in repr(logs)


def test_the_stream_refuses_without_a_token_before_it_starts() -> None:
    reply = client(verifier()).get("/crises/*/events")
    assert reply.status_code == 401
    assert reply.headers["content-type"].startswith("application/json")


async def test_a_live_stream_closes_once_the_verifier_forgets_its_token() -> None:
    tokens = verifier()

    class RevokedAfterConnect(FakeVerifier):
        async def principal(self, token: str) -> Principal | None:
            self.asked += 1
            return tokens.tokens.get(token) if self.asked == 1 else None

    once = RevokedAfterConnect()
    api = build_api(live_pictures(), None, None, once, recheck_s=0.05)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://picture") as http:
        with capture_logs() as logs:
            reply = await http.get(f"/crises/{CRISIS}/events", headers=bearer(OBSERVER), timeout=5)
    assert reply.status_code == 200
    assert reply.text == ": connected\n\n: token no longer valid\n\n"
    assert once.asked == 2
    assert any(e["event"] == "picture.stream_closed" for e in logs)
    assert OBSERVER not in repr(logs)


class FakeProbe:
    """What /metrics reads, without a bus."""

    async def readiness(self) -> dict[str, Any]:
        return {"nats": True, "database": True}

    async def metrics(self) -> str:
        return f'crisis_sitrep_age_seconds{{crisis="{CRISIS}"}} 12.0\n'


class FakeMonitor:
    """What /ready reads: a round where every check passed."""

    last: HealthReport | None = None

    async def report(self, fresh_s: float) -> HealthReport:
        del fresh_s
        return HealthReport(datetime.now(UTC), (Check("nats", ok=True),))


METRICS_TOKEN = "metrics-token-0123456789abcdef"


def ops_client(token: str | None) -> TestClient:
    return TestClient(ops.build_api(FakeProbe(), FakeMonitor(), token))  # type: ignore[arg-type]


@pytest.mark.parametrize("headers", [{}, bearer("wrong"), {"Authorization": METRICS_TOKEN}])
def test_metrics_with_a_token_configured_refuse_a_missing_or_wrong_one(
    headers: dict[str, str],
) -> None:
    with capture_logs() as logs:
        reply = ops_client(METRICS_TOKEN).get("/metrics", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert CRISIS not in reply.text
    assert [e["path"] for e in logs if e["event"] == "ops.metrics_refused"] == ["/metrics"]
    assert METRICS_TOKEN not in repr(logs)


def test_metrics_answer_the_right_token_and_health_and_ready_stay_open() -> None:
    test = ops_client(METRICS_TOKEN)
    assert CRISIS in test.get("/metrics", headers=bearer(METRICS_TOKEN)).text
    assert test.get("/health").json() == {"status": "ok"}
    ready = test.get("/ready")
    assert ready.status_code == 200
    assert CRISIS not in ready.text


def test_metrics_without_a_token_configured_answer_on_loopback() -> None:
    assert ops_client(None).get("/metrics").status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_metrics_token(host: str) -> None:
    ops.check_exposure(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "ops.prefecture.local", "::"])  # noqa: S104
def test_any_other_host_needs_a_metrics_token(host: str) -> None:
    with pytest.raises(ops.OpsConfigError, match="CRISIS_OPS_METRICS_TOKEN"):
        ops.check_exposure(host, None)
    ops.check_exposure(host, METRICS_TOKEN)
