"""`crisis picture` as an operator runs it on a log holding storm Alex: now, as of, and diffs."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from schemas.events import BilanAssessed, SituationReportIssued
from services.cli.main import app
from services.demo.scenario import tempete_alex
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.runtime.database import make_engine
from tests.store_fixtures import chained, recorded_at

# Every test reads the Alex log unless it configures a database of its own.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("alex")]

runner = CliRunner()
CRISIS = "alex-test"
EVENTS = tempete_alex(CRISIS)
END = len(EVENTS)
PARIS = timezone(timedelta(hours=2))


def _fill(path: Path, *crises: str) -> None:
    async def fill() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        store = EventStore(engine)
        for number, crisis_id in enumerate(crises):
            await store.append(chained(tempete_alex(crisis_id), first=1 + number * END))
        await engine.dispose()

    asyncio.run(fill())


@pytest.fixture(scope="module")
def alex_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite log holding the 60 events of storm Alex, positions 1 to 60."""
    path = tmp_path_factory.mktemp("picture") / "alex.db"
    _fill(path, CRISIS)
    return path


@pytest.fixture
def alex(alex_log: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Alex log as the configured database of the command line."""
    _use_database(monkeypatch, alex_log)
    return alex_log


def _use_database(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("CRISIS_DB_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    # Rich wraps at the terminal's width; a wide one keeps each row on one line.
    monkeypatch.setenv("COLUMNS", "250")


def _json(*args: str) -> Any:
    result = runner.invoke(app, ["picture", *args, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def _line_with(output: str, text: str) -> str:
    return next(line for line in output.splitlines() if text in line)


def test_the_picture_shows_the_crisis_its_bilan_and_its_plans() -> None:
    result = runner.invoke(app, ["picture", "--crisis", CRISIS])
    assert result.exit_code == 0, result.output
    assert "Tempête Alex" in result.output
    assert "EXERCICE" in result.output
    assert "Bilan" in result.output
    assert " 8 " in _line_with(result.output, "Disparus")
    assert "active" in _line_with(result.output, "orsec-inondation")
    assert "Main courante" in result.output
    assert "Point de situation  n°2" in result.output


def test_the_only_crisis_of_the_log_needs_no_crisis_option() -> None:
    result = runner.invoke(app, ["picture"])
    assert result.exit_code == 0, result.output
    assert CRISIS in result.output


def test_the_json_picture_agrees_with_the_scenario() -> None:
    shown = _json("--crisis", CRISIS)
    assert shown["crisis_id"] == CRISIS
    assert shown["events"] == END
    assert shown["exercise"] is True
    assert "orsec-inondation" in shown["active_plans"]
    assert shown["bilan"]["disparus"]["value"] == 8
    assert shown["bilan"]["disparus"]["basis"] == "crisis_wide"
    assert shown["sitrep"]["number"] == 2
    assert shown["shown_at"] == shown["recorded_at"]


def test_a_position_gives_the_picture_as_it_stood_there() -> None:
    shown = _json("--crisis", CRISIS, "--position", "10")
    assert shown["events"] == 10
    assert shown["position"] == 10
    assert shown["recorded_at"] == recorded_at(10).isoformat().replace("+00:00", "Z")
    assert shown["active_plans"] == []


def test_an_instant_between_two_records_gives_the_picture_of_the_earlier_one() -> None:
    between = (recorded_at(20) + timedelta(milliseconds=500)).astimezone(PARIS)
    shown = _json("--crisis", CRISIS, "--as-of", between.isoformat())
    assert shown["events"] == 20
    assert shown["position"] == 20
    assert shown["shown_at"] == between.astimezone(UTC).isoformat()


def test_an_instant_without_offset_is_refused() -> None:
    result = runner.invoke(app, ["picture", "--crisis", CRISIS, "--as-of", "2020-10-02T14:32:00"])
    assert result.exit_code == 2
    assert "no UTC offset" in result.output


def test_as_of_and_position_together_are_refused() -> None:
    result = runner.invoke(
        app, ["picture", "--as-of", "2020-10-02T14:32:00+02:00", "--position", "3"]
    )
    assert result.exit_code == 2
    assert "not both" in result.output


def test_an_unknown_crisis_is_refused_and_the_command_listing_crises_named() -> None:
    result = runner.invoke(app, ["picture", "--crisis", "roya"])
    assert result.exit_code == 1
    assert "no crisis 'roya'" in result.output
    assert "crisis log status" in result.output
    assert result.stdout == ""


def test_without_crisis_a_log_of_several_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(tmp_path / "two.db", "alex-a", "alex-b")
    _use_database(monkeypatch, tmp_path / "two.db")
    result = runner.invoke(app, ["picture"])
    assert result.exit_code == 1
    assert "alex-a, alex-b" in result.output


def test_diff_lists_the_changes_between_two_positions() -> None:
    result = runner.invoke(
        app, ["picture", "diff", "--crisis", CRISIS, "--from", "10", "--to", "30"]
    )
    assert result.exit_code == 0, result.output
    # Among them: the first report (from which delays are measured), two main-courante
    # follow-ups, and the position each fact keeps.
    assert "27 changes" in result.output
    assert "added" in _line_with(result.output, "plans.orsec-inondation")
    assert "orange -> rouge" in _line_with(result.output, "vigilance.pluie_inondation.colour")

    changed = _json("diff", "--crisis", CRISIS, "--from", "10", "--to", "30")
    assert changed["count"] == len(changed["changes"]) == 27
    assert changed["from"]["position"] == 10
    assert changed["to"]["position"] == 30
    paths = {change["path"]: change for change in changed["changes"]}
    assert paths["plans.orsec-inondation"]["change"] == "added"
    assert paths["events"] == {"path": "events", "change": "changed", "before": 10, "after": 30}
    # Overdue flags depend on the instant a picture is shown at, not on the log.
    assert not any("overdue" in path for path in paths)
    assert "shown_at" not in paths


def test_diff_takes_the_crisis_and_json_given_before_it() -> None:
    result = runner.invoke(
        app, ["picture", "--crisis", "roya", "--json", "diff", "--from", "1", "--to", "2"]
    )
    assert result.exit_code == 1
    assert "no crisis 'roya'" in result.output
    before = runner.invoke(app, ["picture", "--json", "diff", "--from", "10", "--to", "30"])
    assert orjson.loads(before.stdout)["count"] == 27


def test_diff_of_a_position_with_itself_is_empty() -> None:
    same = _json("diff", "--crisis", CRISIS, "--from", "30", "--to", "30")
    assert same["count"] == 0
    assert same["changes"] == []


def test_diff_accepts_instants_as_well_as_positions() -> None:
    start = recorded_at(10).astimezone(PARIS).isoformat()
    by_instant = _json("diff", "--from", start, "--to", "30")
    assert by_instant == {
        **_json("diff", "--from", "10", "--to", "30"),
        "from": {**by_instant["from"], "given": start},
    }
    assert by_instant["from"]["position"] == 10


def test_diff_from_the_last_situation_report() -> None:
    sitreps = [n for n, e in enumerate(EVENTS, 1) if isinstance(e, SituationReportIssued)]
    first, last = sitreps
    assert last == END

    at_end = _json("diff", "--crisis", CRISIS, "--from", "last-sitrep", "--to", str(END))
    assert at_end["from"]["position"] == END
    assert at_end["count"] == 0

    eight_missing = next(
        n
        for n, e in enumerate(EVENTS, 1)
        if isinstance(e, BilanAssessed) and e.figures.disparus == 8
    )
    assert first < eight_missing < last
    since_first = _json("diff", "--from", "last-sitrep", "--to", str(eight_missing))
    assert since_first["from"]["position"] == first
    paths = {change["path"]: change for change in since_first["changes"]}
    assert (paths["bilan.disparus.value"]["before"], paths["bilan.disparus.value"]["after"]) == (
        2,
        8,
    )

    readable = runner.invoke(
        app, ["picture", "diff", "--from", "last-sitrep", "--to", str(eight_missing)]
    )
    assert readable.exit_code == 0, readable.output
    assert "2 -> 8" in _line_with(readable.output, "bilan.disparus.value")


def test_diff_from_the_last_situation_report_when_there_is_none_says_so() -> None:
    result = runner.invoke(app, ["picture", "diff", "--from", "last-sitrep", "--to", "20"])
    assert result.exit_code == 1
    assert "no situation report" in result.output
