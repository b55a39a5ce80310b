"""Rules and data ship with the package: found by importlib.resources, never from the working
folder; the plans service says which rule books it read, and when a crisis has none."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import orjson
import pytest
import structlog
from nats.js import JetStreamContext
from nats.js.api import PubAck
from structlog.testing import capture_logs

from schemas.events import CrisisOpened
from schemas.wire import encode
from services.comms.cap_out import cap_xsd
from services.picture.fold import Picture, fold, new_picture
from services.plans import books
from services.plans.app import Proposer
from services.plans.books import RuleBook, packaged_rules, rule_files, rules_folder
from services.runtime.settings import Settings
from tests.unit.samples import sample_event

pytestmark = pytest.mark.unit

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A logger not yet cached: an earlier test's use would hide it from `capture_logs`."""
    monkeypatch.setattr(books, "log", structlog.get_logger(books.__name__))


def test_the_rules_of_the_06_ship_in_the_package_and_are_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing is looked for in the working folder
    monkeypatch.delenv("CRISIS_PLANS_DIR", raising=False)
    assert Settings(_env_file=None).plans_dir is None  # type: ignore[call-arg]
    folder = rules_folder(None)
    assert folder.is_dir()
    assert "06" in rule_files(folder)
    rules = RuleBook().of("06")
    assert rules is not None
    assert rules.departement == "06"


def test_crisis_plans_dir_names_the_folder_used_instead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shipped = (packaged_rules() / "06.toml").read_text(encoding="utf-8")
    (tmp_path / "83.toml").write_text(shipped.replace('departement = "06"', 'departement = "83"'))
    monkeypatch.setenv("CRISIS_PLANS_DIR", str(tmp_path))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    book = RuleBook(settings.plans_dir)
    assert list(rule_files(book.folder)) == ["83"]
    assert book.of("83") is not None
    assert book.of("06") is None  # the shipped rules are not mixed in


def test_the_cap_xsd_and_the_sample_crises_are_package_data() -> None:
    assert b"urn:oasis:names:tc:emergency:cap:1.2" in cap_xsd().read_bytes()
    from importlib.resources import files  # noqa: PLC0415

    crises = files("services.demo") / "crises"
    names = sorted(entry.name for entry in crises.iterdir() if entry.name.endswith(".jsonl"))
    assert names == ["aude-2018-10.jsonl", "demo-alex-06.jsonl", "lubrizol-2019-09.jsonl"]
    first = orjson.loads((crises / "aude-2018-10.jsonl").read_bytes().splitlines()[0])
    assert first["position"] == 1


def test_pyproject_ships_every_data_file_the_code_reads() -> None:
    pyproject = (REPOSITORY / "pyproject.toml").read_text()
    for pattern in (
        '"xsd/*.xsd"',
        '"departements/*.toml"',
        '"crises/*.jsonl"',
        '"static/*"',
        '"migrations/script.py.mako"',
    ):
        assert pattern in pyproject


# -- what the plans service says --------------------------------------------------------------


def test_loading_the_rule_books_logs_the_folder_and_the_departements() -> None:
    with capture_logs() as logs:
        loaded = RuleBook().load_all()
    assert sorted(loaded.sets) == ["06"]
    [said] = [entry for entry in logs if entry["event"] == "plans.rules_loaded"]
    assert said["log_level"] == "info"
    assert said["departements"] == ["06"]
    assert said["folder"].endswith("departements")
    assert said["rules"] == len(loaded.sets["06"].rules)


def test_a_folder_without_rule_books_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "06.toml").write_text("departement = '06'\n")  # no [[rules]]: refused
    with capture_logs() as logs:
        loaded = RuleBook(tmp_path).load_all()
    assert loaded.sets == {}
    assert "06" in loaded.refused
    events = [(entry["event"], entry["log_level"]) for entry in logs]
    assert ("plans.rules_unreadable", "error") in events
    assert ("plans.no_rule_books", "warning") in events


class _JetStream:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, subject: str, _payload: bytes, **_: object) -> PubAck:
        self.published.append(subject)
        return PubAck(stream="CRISIS", seq=len(self.published))


def _opened(crisis_id: str, departement: str) -> Picture:
    picture = new_picture(crisis_id)
    event = sample_event(
        CrisisOpened, event_id=uuid4(), crisis_id=crisis_id, departement=departement
    )
    fold(picture, orjson.loads(encode(event)), 1, "2020-10-02T12:00:00+00:00")
    return picture


async def test_a_crisis_whose_departement_has_no_rules_is_warned_about_once() -> None:
    js = _JetStream()
    proposer = Proposer(cast(JetStreamContext, js), RuleBook())
    picture = _opened("tempete-83", "83")
    with capture_logs() as logs:
        assert await proposer.propose(picture) == 0
        assert await proposer.propose(picture) == 0  # again: no second warning
    warnings = [entry for entry in logs if entry["event"] == "plans.no_rules"]
    assert len(warnings) == 1
    [warning] = warnings
    assert warning["log_level"] == "warning"
    assert warning["crisis_id"] == "tempete-83"
    assert warning["departement"] == "83"
    assert "83.toml" in warning["hint"]
    assert js.published == []


async def test_a_crisis_of_a_departement_with_rules_is_not_warned_about() -> None:
    proposer = Proposer(cast(JetStreamContext, _JetStream()), RuleBook())
    with capture_logs() as logs:
        await proposer.propose(_opened("alex-06", "06"))
    assert not [entry for entry in logs if entry["event"] == "plans.no_rules"]


async def test_the_proposer_task_warns_for_the_crises_it_is_handed() -> None:
    proposer = Proposer(cast(JetStreamContext, _JetStream()), RuleBook())
    proposer.live = True
    running = asyncio.create_task(proposer.run())
    logs: list[dict[str, Any]]
    try:
        with capture_logs() as logs:
            await proposer.on_event(_opened("incendie-2a", "2A"), {"type": "crisis.opened"})
            for _ in range(100):
                if logs:
                    break
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert [entry["departement"] for entry in logs if entry["event"] == "plans.no_rules"] == ["2A"]
