"""What `crisis log verify` proves about the stored columns, and what a signed archive proves.

A changed actor, status, time, type or crisis column is found and named on SQLite and on
PostgreSQL; an archive with a changed, removed or moved line, a bad signature or another
signer is refused by `crisis log import` and `crisis log verify --archive`, naming the line.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from schemas.events import MainCouranteEntryRecorded, PublicAlertIssued
from services.cli.main import app
from services.eventlog.archive import verify_log
from services.eventlog.core import LogRecord
from services.eventlog.hashing import columns_text, payload_only_hash
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.eventlog.tables import chain_heads, events
from services.runtime.database import make_engine
from tests.store_fixtures import BACKENDS, chained, open_store
from tests.unit.samples import incident_reported, sample_event

pytestmark = pytest.mark.integration

ALEX = "alex-06-2020"
ROYA = "roya-2020"
SAMPLE = Path(__file__).parents[2] / "services" / "demo" / "crises" / "lubrizol-2019-09.jsonl"
runner = CliRunner()


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def _events(count: int) -> list[Any]:
    made: list[Any] = []
    for i in range(count):
        crisis = ALEX if i % 3 != 1 else ROYA
        if i % 3 == 2:
            made.append(sample_event(MainCouranteEntryRecorded, event_id=uuid4(), crisis_id=crisis))
        else:
            made.append(incident_reported(crisis_id=crisis))
    return made


async def _filled(store: EventStore, count: int = 9) -> list[LogRecord]:
    records = chained(_events(count))
    await store.append(records)
    return records


# -- the columns, on both databases ------------------------------------------------------------


async def test_the_database_writes_the_columns_as_the_hash_covers_them(store: EventStore) -> None:
    awkward = 'op "dupont" \\ é 🚒 \u2028 \x01\x1f\t\n/<>'
    [record] = chained([incident_reported(crisis_id=ALEX, actor=awkward)])
    await store.append([record])
    [links] = [chunk async for chunk in store.read_links(ALEX)]
    assert links[0].columns == record.columns == orjson.dumps(orjson.loads(record.columns))
    assert await verify_log(store) == []


CHANGES: dict[str, Any] = {
    "actor": "op.durand",
    "status": "Exercise",
    "occurred_at": "shifted",
    "type": "incident.updated",
    "source": "intruder",
}


@pytest.mark.parametrize("column", [*CHANGES, "crisis_id"])
async def test_verify_names_a_changed_column(store: EventStore, column: str) -> None:
    records = await _filled(store)
    target = [r for r in records if r.crisis_id == ALEX][2]
    value: Any = CHANGES.get(column, "elsewhere-2020")
    if column == "occurred_at":
        value = target.occurred_at - timedelta(hours=3)
    async with store.engine.begin() as conn:
        await conn.execute(
            update(events).where(events.c.position == target.position).values({column: value})
        )

    faults = await verify_log(store)

    [fault] = [f for f in faults if f.crisis_id == ALEX]
    assert (fault.crisis_seq, fault.position, fault.kind) == (3, target.position, "columns")
    assert f"its {column} column was changed" in fault.problem
    if column == "actor":
        assert "'op.durand' where its payload says 'op.dupont'" in fault.problem


# -- records hashed before migration 0007 ------------------------------------------------------


async def _legacy_log(path: Path, count: int) -> list[LogRecord]:
    """A log at revision 0006 whose records carry the hash of that time (payload only), then
    brought to the current revision."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, "0006")
    records, prev = [], {ALEX: "0" * 64, ROYA: "0" * 64}
    for record in chained(_events(count)):
        digest = payload_only_hash(
            prev[record.crisis_id], record.crisis_seq, record.position, record.payload
        )
        records.append(record._replace(prev_hash=prev[record.crisis_id], hash=digest))
        prev[record.crisis_id] = digest
    store = EventStore(engine)
    async with engine.begin() as conn:
        await conn.execute(events.insert(), [r._asdict() for r in records])
    heads = {}
    for record in records:
        heads[record.crisis_id] = record
    first = {r.crisis_id: r for r in reversed(records)}
    async with engine.begin() as conn:
        await conn.execute(
            chain_heads.insert(),
            [
                {
                    "crisis_id": crisis,
                    "crisis_seq": last.crisis_seq,
                    "hash": last.hash,
                    "mc_number": max((r.mc_number or 0) for r in records if r.crisis_id == crisis),
                    "first_position": first[crisis].position,
                    "last_position": last.position,
                    "first_recorded_at": first[crisis].recorded_at,
                    "last_recorded_at": last.recorded_at,
                }
                for crisis, last in heads.items()
            ],
        )
    await upgrade(engine)
    await store.close()
    return records


def test_records_hashed_before_0007_still_verify_and_their_columns_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_legacy_log(tmp_path / "old.db", 9))
    _use(monkeypatch, tmp_path / "old.db")
    assert runner.invoke(app, ["log", "verify"]).exit_code == 0

    # New records chain on, hashed over their columns too; the archive marks the old ones.
    async def more() -> None:
        store = EventStore(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"))
        heads = await store.heads([ALEX])
        await store.append(chained([incident_reported(crisis_id=ALEX)], first=10, heads=heads))
        await store.close()

    asyncio.run(more())
    assert runner.invoke(app, ["log", "verify"]).exit_code == 0
    archive = tmp_path / "old.jsonl"
    assert runner.invoke(app, ["log", "export", "--out", str(archive)]).exit_code == 0
    assert b'"payload_hash"' in archive.read_bytes()
    assert runner.invoke(app, ["log", "verify", "--archive", str(archive)]).exit_code == 0

    with sqlite3.connect(tmp_path / "old.db") as db:
        db.execute(
            "UPDATE events SET actor = 'op.durand' WHERE crisis_id = ? AND crisis_seq = 2", (ALEX,)
        )
    result = runner.invoke(app, ["log", "verify"])
    assert result.exit_code == 1
    assert f"crisis {ALEX} at record 2" in result.output
    assert "its actor column was changed" in result.output


def test_the_migration_marks_the_records_it_found_and_no_others(tmp_path: Path) -> None:
    asyncio.run(_legacy_log(tmp_path / "old.db", 9))
    with sqlite3.connect(tmp_path / "old.db") as db:
        rows = db.execute("SELECT crisis_id, crisis_seq, payload_only_until FROM chain_heads")
        assert {(c, s, u) for c, s, u in rows} == {(ALEX, 6, 6), (ROYA, 3, 3)}


# -- through the command line ------------------------------------------------------------------


def _use(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("CRISIS_DB_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("CRISIS_VAR_DIR", str(path.parent / "var"))
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "250")


def _log(path: Path, count: int = 9, *, alert: bool = False) -> None:
    async def fill() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        made = _events(count)
        if alert:
            made.append(sample_event(PublicAlertIssued, event_id=uuid4(), crisis_id=ALEX))
        await EventStore(engine).append(chained(made))
        await engine.dispose()

    asyncio.run(fill())


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "'op.durand'"),
        ("status", "'Exercise'"),
        ("occurred_at", "'2020-10-02 09:00:00.000000'"),
        ("type", "'incident.updated'"),
    ],
)
def test_crisis_log_verify_names_a_changed_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str, value: str
) -> None:
    _log(tmp_path / "live.db")
    with sqlite3.connect(tmp_path / "live.db") as db:
        db.execute(
            f"UPDATE events SET {column} = {value} WHERE crisis_id = ? AND crisis_seq = 3",  # noqa: S608
            (ALEX,),
        )
    _use(monkeypatch, tmp_path / "live.db")
    result = runner.invoke(app, ["log", "verify"])
    assert result.exit_code == 1
    assert f"crisis {ALEX} at record 3" in result.output
    assert f"its {column} column was changed" in result.output


def test_crisis_log_verify_names_a_record_moved_to_another_crisis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(tmp_path / "live.db")
    with sqlite3.connect(tmp_path / "live.db") as db:
        db.execute(
            "UPDATE events SET crisis_id = 'elsewhere' WHERE crisis_id = ? AND crisis_seq = 3",
            (ALEX,),
        )
    _use(monkeypatch, tmp_path / "live.db")
    result = runner.invoke(app, ["log", "verify"])
    assert result.exit_code == 1
    assert f"crisis {ALEX} at record 3" in result.output
    assert "filed under crisis 'elsewhere': its crisis_id column was changed" in result.output


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A signed archive of a log of two crises, one with an issued public alert."""
    _log(tmp_path / "live.db", 9, alert=True)
    _use(monkeypatch, tmp_path / "live.db")
    path = tmp_path / "archive.jsonl"
    result = runner.invoke(app, ["log", "export", "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert "created the archive signing key" in result.output
    assert "signed by key ed25519:" in result.output
    _use(monkeypatch, tmp_path / "restored.db")
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _refused_by_both(path: Path, *words: str, key: Path | None = None) -> None:
    extra = [] if key is None else ["--public-key", str(key)]
    checked = runner.invoke(app, ["log", "verify", "--archive", str(path), *extra])
    imported = runner.invoke(app, ["log", "import", str(path), *extra])
    for result in (checked, imported):
        assert result.exit_code == 1, result.output
        for word in words:
            assert word in result.output, result.output
    assert "Nothing was imported" in imported.output
    assert "chain intact: 0 events" in runner.invoke(app, ["log", "verify"]).output


def test_a_good_archive_verifies_and_imports_with_the_same_hashes(archive: Path) -> None:
    checked = runner.invoke(app, ["log", "verify", "--archive", str(archive)])
    assert checked.exit_code == 0, checked.output
    assert "archive intact: 10 events of 2 crises" in checked.output
    imported = runner.invoke(app, ["log", "import", str(archive)])
    assert imported.exit_code == 0, imported.output
    assert "10 added" in imported.output
    assert "archive verified" in imported.output
    assert "chain intact: 10 events" in runner.invoke(app, ["log", "verify"]).output
    again = archive.with_name("again.jsonl")
    assert runner.invoke(app, ["log", "export", "--out", str(again)]).exit_code == 0
    records = [line for line in _lines(archive) if line.startswith(b'{"position"')]
    assert [line for line in _lines(again) if line.startswith(b'{"position"')] == records


def test_an_archive_with_a_changed_headline_is_refused_naming_its_line(archive: Path) -> None:
    lines = _lines(archive)
    [number] = [i for i, line in enumerate(lines) if b"headline" in line]
    lines[number] = lines[number].replace(b"crue de la V", b"fausse alerte de la V")
    archive.write_bytes(b"".join(lines))
    _refused_by_both(archive, f"line {number + 1}", "does not match its hash")


def test_an_archive_with_a_line_removed_is_refused(archive: Path) -> None:
    lines = _lines(archive)
    del lines[3]  # the third record (after the header): ALEX's second
    archive.write_bytes(b"".join(lines))
    _refused_by_both(archive, "line 4", "does not match its hash")


def test_an_archive_with_its_last_records_cut_is_refused(archive: Path) -> None:
    lines = _lines(archive)
    archive.write_bytes(b"".join(lines[:5]))
    _refused_by_both(archive, "line 6", "cut short")


def test_an_archive_with_two_lines_swapped_is_refused(archive: Path) -> None:
    lines = _lines(archive)
    lines[2], lines[3] = lines[3], lines[2]
    archive.write_bytes(b"".join(lines))
    _refused_by_both(archive, "line 4", "lines reordered")


def test_an_archive_with_a_bad_signature_is_refused(archive: Path) -> None:
    lines = _lines(archive)
    checkpoint = next(i for i, line in enumerate(lines) if line.startswith(b'{"checkpoint"'))
    data = orjson.loads(lines[checkpoint])
    data["checkpoint"]["signed_at"] = "2020-01-01T00:00:00Z"
    lines[checkpoint] = orjson.dumps(data) + b"\n"
    archive.write_bytes(b"".join(lines))
    _refused_by_both(archive, f"line {checkpoint + 1}", "signature", "does not verify")


def test_an_archive_re_signed_by_another_key_is_refused_with_the_expected_key(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = tmp_path / "cell.pub"
    assert runner.invoke(app, ["log", "key", "--out", str(expected)]).exit_code == 0
    # Someone else's log and key: a consistent archive, signed by them.
    _log(tmp_path / "forged.db", 9, alert=True)
    _use(monkeypatch, tmp_path / "forged.db")
    monkeypatch.setenv("CRISIS_ARCHIVE_KEY_FILE", str(tmp_path / "other.ed25519"))
    forged = tmp_path / "forged.jsonl"
    assert runner.invoke(app, ["log", "export", "--out", str(forged)]).exit_code == 0
    monkeypatch.delenv("CRISIS_ARCHIVE_KEY_FILE")
    _use(monkeypatch, tmp_path / "restored.db")

    assert runner.invoke(app, ["log", "verify", "--archive", str(forged)]).exit_code == 0
    _refused_by_both(forged, "line 1", "not by the expected key", key=expected)
    good = runner.invoke(app, ["log", "import", str(archive), "--public-key", str(expected)])
    assert good.exit_code == 0, good.output


def test_an_unsigned_archive_imports_with_a_warning_and_does_not_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, tmp_path / "log.db")
    checked = runner.invoke(app, ["log", "verify", "--archive", str(SAMPLE)])
    assert checked.exit_code == 1
    assert "unsigned archive" in checked.output
    refused = runner.invoke(app, ["log", "import", "--require-signed", str(SAMPLE)])
    assert refused.exit_code == 1
    assert "Nothing was imported" in refused.output
    imported = runner.invoke(app, ["log", "import", str(SAMPLE)])
    assert imported.exit_code == 0, imported.output
    assert "warning" in imported.output
    assert "unsigned archive" in imported.output
    monkeypatch.setenv("CRISIS_ARCHIVE_REQUIRE_SIGNED", "true")
    assert runner.invoke(app, ["log", "import", str(SAMPLE)]).exit_code == 1


def test_an_archive_stripped_of_its_header_is_refused(archive: Path) -> None:
    archive.write_bytes(b"".join(_lines(archive)[1:]))
    _refused_by_both(archive, "line 1", "without a header")


def test_the_signing_key_is_private_to_its_owner(archive: Path) -> None:
    key = archive.parent / "var" / "keys" / "archive.ed25519"
    assert key.stat().st_mode & 0o777 == 0o600


def test_columns_text_is_compact_json() -> None:
    assert columns_text("a", 1, None) == b'["a",1,null]'
