"""`crisis deadletter list|show`: an operator sees what was refused, why, and the raw input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore, RejectedInput
from services.runtime.database import make_engine

pytestmark = pytest.mark.integration

runner = CliRunner()
RAW = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><status>Actual</status></alert>'


def _reject(path: Path, *items: RejectedInput) -> None:
    async def keep() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        store = EventStore(engine)
        for item in items:
            await store.add_rejected(item)
        await engine.dispose()

    asyncio.run(keep())


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "log.db"
    monkeypatch.setenv("CRISIS_DB_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "250")
    return path


def test_list_shows_rejected_inputs_newest_first_with_their_reason(database: Path) -> None:
    now = datetime.now(UTC)
    _reject(
        database,
        RejectedInput("meteo-france", "<info> missing", RAW, now, field="/alert/info"),
        RejectedInput("bus", "not valid JSON", b"garbage", now, subject="crisis.x.a.b"),
    )
    result = runner.invoke(app, ["deadletter", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    bus = next(i for i, line in enumerate(lines) if "not valid JSON" in line)
    meteo = next(i for i, line in enumerate(lines) if "<info> missing" in line)
    assert bus < meteo
    only = runner.invoke(app, ["deadletter", "list", "--source", "meteo-france"])
    assert "not valid JSON" not in only.output
    assert "/alert/info" in only.output


def test_show_gives_the_reason_and_the_raw_input_exactly(database: Path) -> None:
    _reject(database, RejectedInput("meteo-france", "<info> missing", RAW, datetime.now(UTC)))
    shown = runner.invoke(app, ["deadletter", "show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "<info> missing" in shown.output
    assert "urn:oasis:names:tc:emergency:cap:1.2" in shown.output
    raw = runner.invoke(app, ["deadletter", "show", "1", "--raw"])
    assert raw.stdout_bytes == RAW
    missing = runner.invoke(app, ["deadletter", "show", "99"])
    assert missing.exit_code == 1
    assert "no rejected input 99" in missing.output


@pytest.mark.usefixtures("database")
def test_list_says_when_nothing_was_rejected() -> None:
    result = runner.invoke(app, ["deadletter", "list"])
    assert result.exit_code == 0
    assert "no rejected input" in result.output
