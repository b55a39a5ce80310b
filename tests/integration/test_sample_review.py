"""The sample crises shipped as exported logs: imported into an empty log, then reviewed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from services.cli.main import app

pytestmark = pytest.mark.integration

CRISES = Path(__file__).parents[2] / "services" / "demo" / "crises"
runner = CliRunner()


@pytest.fixture
def empty_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRISIS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


@pytest.mark.parametrize(
    ("crisis", "plan"),
    [("lubrizol-2019-09", "ppi-lubrizol-rouen"), ("aude-2018-10", "orsec-inondation")],
)
def test_a_sample_crisis_imports_verifies_and_gives_its_after_action_review(
    empty_log: Path, crisis: str, plan: str
) -> None:
    imported = runner.invoke(app, ["log", "import", str(CRISES / f"{crisis}.jsonl")])
    assert imported.exit_code == 0, imported.output
    verified = runner.invoke(app, ["log", "verify", "--crisis", crisis])
    assert verified.exit_code == 0, verified.output
    reviewed = runner.invoke(app, ["review", "--crisis", crisis, "--out", str(empty_log)])
    assert reviewed.exit_code == 0, reviewed.output
    figures = orjson.loads((empty_log / f"review-{crisis}.json").read_bytes())
    activated = [d for d in figures["delays"] if plan in str(d) and "activ" in str(d).lower()]
    assert activated, [d["label"] for d in figures["delays"]]
    assert activated[0]["minutes"] is not None
    page = (empty_log / f"review-{crisis}.html").read_text()
    assert "EXERCICE" in page
