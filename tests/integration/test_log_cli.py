"""`crisis db` and `crisis log` as an operator runs them: archive, restore, verify, status."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli.main import app
from services.eventlog.schema import head_revision, upgrade
from services.eventlog.store import EventStore
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from tests.store_fixtures import chained
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.integration

runner = CliRunner()


def _log_with(path: Path, count: int) -> None:
    async def fill() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        events = [incident_reported(crisis_id=("alex" if i % 2 else "roya")) for i in range(count)]
        await EventStore(engine).append(chained(events))
        await engine.dispose()

    asyncio.run(fill())


def _use_database(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("CRISIS_DB_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    # Rich wraps at the terminal's width; a wide one keeps each message on one line.
    monkeypatch.setenv("COLUMNS", "250")


def test_db_upgrade_migrates_an_empty_database_then_says_it_is_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_database(monkeypatch, tmp_path / "log.db")
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    head = head_revision()
    assert f"upgraded from empty to {head}" in first.output
    again = runner.invoke(app, ["db", "upgrade"])
    assert f"already at revision {head}" in again.output


def test_an_exported_log_restores_into_an_empty_database_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_with(tmp_path / "live.db", 40)
    _use_database(monkeypatch, tmp_path / "live.db")
    archive = tmp_path / "alex.jsonl"
    exported = runner.invoke(app, ["log", "export", "--crisis", "alex", "--out", str(archive)])
    assert exported.exit_code == 0, exported.output
    assert "exported 20 events" in exported.output
    # A header, the 20 records, the last checkpoint of the crisis and the end line.
    assert len(archive.read_bytes().splitlines()) == 23

    _use_database(monkeypatch, tmp_path / "restored.db")
    restored = runner.invoke(app, ["log", "import", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "20 added, 0 already held" in restored.output
    twice = runner.invoke(app, ["log", "import", str(archive)])
    assert "0 added, 20 already held" in twice.output
    verified = runner.invoke(app, ["log", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "chain intact" in verified.output

    # The same records with the same hashes; the signed lines carry their own time and id.
    again = tmp_path / "again.jsonl"
    runner.invoke(app, ["log", "export", "--out", str(again)])
    records = [
        line for line in archive.read_bytes().splitlines() if line.startswith(b'{"position"')
    ]
    assert [
        line for line in again.read_bytes().splitlines() if line.startswith(b'{"position"')
    ] == records


def test_verify_names_the_first_changed_record_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log_with(tmp_path / "live.db", 10)
    with sqlite3.connect(tmp_path / "live.db") as db:
        db.execute(
            "UPDATE events SET payload = replace(payload, 'Vésubie', 'Roya') "
            "WHERE crisis_id = 'alex' AND crisis_seq = 3"
        )
    _use_database(monkeypatch, tmp_path / "live.db")
    result = runner.invoke(app, ["log", "verify"])
    assert result.exit_code == 1
    assert "crisis alex at record 3" in result.output
    assert "changed" in result.output


def test_an_archive_with_a_broken_line_is_refused_with_its_line_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "broken.jsonl"
    archive.write_text('{"position": 1, "type": "incident.reported"}\n')
    _use_database(monkeypatch, tmp_path / "log.db")
    result = runner.invoke(app, ["log", "import", str(archive)])
    assert result.exit_code == 1
    assert "line 1" in result.output


def test_status_shows_the_lag_of_a_log_that_is_not_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = EmbeddedNatsServer(tmp_path / "js", log_file=tmp_path / "nats.log")
    server.start()
    try:
        _use_database(monkeypatch, tmp_path / "log.db")
        monkeypatch.setenv("CRISIS_NATS_URL", server.url)
        published = tmp_path / "event.json"
        published.write_text(incident_reported().model_dump_json())
        assert runner.invoke(app, ["publish", str(published)]).exit_code == 0
        result = runner.invoke(app, ["log", "status"])
        assert result.exit_code == 0, result.output
        assert "1 messages" in result.output
        assert "no consumer yet" in result.output
    finally:
        server.stop()
