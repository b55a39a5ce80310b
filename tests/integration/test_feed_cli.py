"""`crisis feed` and `crisis incident attach` from the command line, on a real nats-server."""

from __future__ import annotations

import asyncio
import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from schemas.envelope import Status
from services.cell.app import CellService
from services.cell.people import Role, add_person
from services.cli.credentials import Held, keep
from services.cli.main import app
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.eventlog.store import EventStore
from services.intake.feeds import FeedRegistry, digest
from services.runtime.bus import connect
from services.runtime.database import make_engine
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.publish import publish_event
from services.runtime.settings import Settings
from services.runtime.topology import CRISIS_STREAM, topology
from tests.integration.test_intake_service import _opened

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parents[1] / "data" / "intake"
runner = CliRunner()


@pytest.fixture
def env(
    nats_server: EmbeddedNatsServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The CLI pointed at the test server, with the streams created."""
    monkeypatch.setenv("CRISIS_NATS_URL", nats_server.url)
    monkeypatch.setenv("CRISIS_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("CRISIS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "200")

    async def streams() -> None:
        async with connect(nats_server.url, plan=topology(settings)):
            pass

    asyncio.run(streams())
    return settings.model_copy(update={"nats_url": nats_server.url})


def _stream_events(url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with connect(url) as bus:
            info = await bus.js.stream_info(CRISIS_STREAM)
            found = []
            for seq in range(1, info.state.last_seq + 1):
                message = await bus.js.get_msg(CRISIS_STREAM, seq)
                found.append(orjson.loads(message.data or b"{}"))
            return found

    return asyncio.run(read())


def _json_lines(output: str) -> list[dict[str, Any]]:
    """The outcome lines (the runner mixes in the log lines of standard error)."""
    lines = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "accepted" in line]


def test_feed_publishes_what_it_accepts_and_exits_1_when_anything_is_refused(
    env: Settings,
) -> None:
    good = str(CORPUS / "cap12_vigicrues_rouge_vesubie.xml")
    bad = str(CORPUS / "bad_no_area.xml")
    result = runner.invoke(app, ["feed", good, bad, "--json", "--feed", "vigicrues"])
    assert result.exit_code == 1, result.output
    accepted, refused = _json_lines(result.output)
    assert set(accepted) == {
        "input", "path", "alert", "accepted", "outcome", "events", "warnings", "error"
    }  # fmt: skip
    assert accepted["accepted"]
    assert not refused["accepted"]
    assert refused["error"]["path"] == "/alert/info[0]/area"
    published = _stream_events(env.nats_url or "")
    types = [e["type"] for e in published]
    assert types.count("incident.reported") == 1
    assert types.count("input.rejected") == 1
    again = runner.invoke(app, ["feed", good, "--json", "--feed", "vigicrues"])
    assert again.exit_code == 0, again.output
    assert _json_lines(again.output)[0]["events"] == []
    assert [e["type"] for e in _stream_events(env.nats_url or "")] == types


def test_feed_dry_run_needs_no_bus_and_says_what_it_would_publish(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_VAR_DIR", str(settings.var_dir))
    alert = str(CORPUS / "cap12_vigicrues_rouge_vesubie.xml")
    update = str(CORPUS / "cap12_vigicrues_update.xml")
    result = runner.invoke(app, ["feed", alert, update, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    reported, updated = (line["events"][0] for line in _json_lines(result.output))
    assert reported["type"] == "incident.reported"
    assert updated["type"] == "incident.updated"
    assert updated["incident_id"] == reported["incident_id"]
    missing = runner.invoke(app, ["feed", str(CORPUS / "no-such-file.xml"), "--dry-run"])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    bad_feed = runner.invoke(app, ["feed", alert, "--dry-run", "--feed", "a.b"])
    assert bad_feed.exit_code == 2


def test_a_dry_run_gives_one_line_per_feed_entry_and_reads_partners_messages(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISIS_VAR_DIR", str(settings.var_dir))
    feed = str(CORPUS / "atom_links_and_cap_fields.xml")
    result = runner.invoke(app, ["feed", feed, "--dry-run", "--json"])
    assert result.exit_code == 1, result.output  # the third entry carries nothing: refused
    lines = _json_lines(result.output)
    assert [line["outcome"] for line in lines] == ["not fetched", "accepted", "refused"]
    assert lines[1]["events"][0]["type"] == "incident.reported"
    shown = runner.invoke(app, ["feed", feed, "--dry-run"])
    assert "1 accepted, 1 refused, 1 links not fetched, checked (dry run)." in shown.output
    case = str(CORPUS / "cisu" / "rc_eda_vesubie_flood.json")
    emsi = str(CORPUS / "emsi" / "vesubie_crue_alert.xml")
    partners = runner.invoke(app, ["feed", case, emsi, "--dry-run", "--json"])
    assert partners.exit_code == 0, partners.output
    created, alerted = _json_lines(partners.output)
    assert created["events"][0]["type"] == "incident.reported"
    assert created["alert"].startswith("cisu:")
    assert {e["type"] for e in alerted["events"]} >= {"bilan.assessed", "resource.engaged"}


def test_watch_takes_each_new_file_of_a_drop_folder_once_and_files_it(
    env: Settings, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in ("cap12_vigicrues_rouge_vesubie.xml", "hostile_external_entity.xml"):
        shutil.copy(CORPUS / name, drop / name)
    result = runner.invoke(app, ["feed", "watch", str(drop), "--once", "--feed", "drop"])
    assert result.exit_code == 0, result.output
    assert (drop / "accepted" / "cap12_vigicrues_rouge_vesubie.xml").exists()
    assert (drop / "refused" / "hostile_external_entity.xml").exists()
    assert not list(drop.glob("*.xml"))
    types = [e["type"] for e in _stream_events(env.nats_url or "")]
    assert types.count("incident.reported") == 1


def test_feed_add_keeps_only_the_digest_of_the_token_it_prints(env: Settings) -> None:
    result = runner.invoke(app, ["feed", "add", "vigicrues", "--description", "Vigicrues"])
    assert result.exit_code == 0, result.output
    token = next(
        line.split(": ", 1)[1].strip()
        for line in result.output.splitlines()
        if "shown once" in line
    )
    text = env.feeds_path.read_text()
    assert token not in text
    registry = FeedRegistry.load(env.feeds_path)
    assert registry.feeds["vigicrues"].token_sha256 == digest(token)
    assert registry.authenticate("vigicrues", token) is not None
    assert registry.authenticate("vigicrues", token + "x") is None
    twice = runner.invoke(app, ["feed", "add", "vigicrues"])
    assert twice.exit_code == 2
    listed = runner.invoke(app, ["feed", "list"])
    assert "vigicrues" in listed.output


def test_feed_rotate_disable_and_enable_change_the_feeds_file_in_place(env: Settings) -> None:
    added = runner.invoke(app, ["feed", "add", "sdis06", "--allow-host", "10.0.0.5"])
    assert added.exit_code == 0, added.output
    old = next(line.split(": ", 1)[1] for line in added.output.splitlines() if "shown once" in line)
    rotated = runner.invoke(app, ["feed", "rotate", "sdis06"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.split("(shown once): ", 1)[1].split()[0]
    registry = FeedRegistry.load(env.feeds_path)
    assert registry.authenticate("sdis06", old.strip()) is None
    assert registry.authenticate("sdis06", new) is not None
    assert registry.allowed_hosts("sdis06") == ("10.0.0.5",)
    assert new not in env.feeds_path.read_text()
    assert runner.invoke(app, ["feed", "disable", "sdis06"]).exit_code == 0
    assert registry.authenticate("sdis06", new) is None
    assert " no " in runner.invoke(app, ["feed", "list"]).output
    assert runner.invoke(app, ["feed", "enable", "sdis06"]).exit_code == 0
    assert registry.authenticate("sdis06", new) is not None
    assert runner.invoke(app, ["feed", "rotate", "nobody"]).exit_code == 2


def test_incident_attach_moves_a_standing_watch_incident_into_the_crisis(
    env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = env.nats_url or ""
    # The act goes through the cell, as the person logged in (a session as `crisis login`
    # keeps it; this server has no auth callout, tests/integration/test_trust.py has one).
    add_person(env.people_path, "op.martin", Role.OPERATOR, "Paul Martin")
    home = env.var_dir / "home"
    monkeypatch.setenv("CRISIS_CREDENTIALS_DIR", str(home))
    keep(
        env.model_copy(update={"credentials_dir": home}),
        Held("op.martin", "operator", "ccs_test", "2999-01-01T00:00:00+00:00", url),
    )

    async def with_log() -> None:
        engine = make_engine(env.database_url)
        await upgrade(engine)
        await engine.dispose()
        eventlog = EventLogService(env, EventStore(make_engine(env.database_url)))
        await eventlog.start(url)
        cell = CellService(env)
        await cell.start(url)
        try:
            async with connect(url) as bus:
                await publish_event(bus.js, _opened("crue-vesubie", Status.ACTUAL))
            await asyncio.sleep(0.1)
            await asyncio.to_thread(_feed_then_attach)
        finally:
            await cell.stop()
            await eventlog.stop()

    def _feed_then_attach() -> None:
        # The crisis is open: force the alert into the standing watch, as if it came before.
        fed = runner.invoke(
            app,
            [
                "feed",
                str(CORPUS / "cap12_meteofrance_orange_pluie.xml"),
                "--json",
                "--crisis",
                "veille",
            ],
        )
        assert fed.exit_code == 0, fed.output
        incident_id = _json_lines(fed.output)[0]["events"][0]["incident_id"]
        attached = None
        for _ in range(100):
            attached = runner.invoke(
                app,
                ["incident", "attach", incident_id, "--to", "crue-vesubie"],
            )
            if attached.exit_code == 0:
                break
            import time  # noqa: PLC0415

            time.sleep(0.1)
        assert attached is not None
        assert attached.exit_code == 0, attached.output
        refused = runner.invoke(app, ["incident", "attach", incident_id, "--to", "crue-vesubie"])
        assert refused.exit_code == 1

    asyncio.run(with_log())
    events = _stream_events(url)
    handed = [e for e in events if e["type"] == "incident.handed_over"]
    attached = [e for e in events if e["type"] == "incident.attached"]
    assert len(handed) == len(attached) == 1
    assert handed[0]["crisis_id"] == "veille"
    assert attached[0]["crisis_id"] == "crue-vesubie"
    assert attached[0]["actor"] == "op.martin"
    assert attached[0]["causation_id"] == handed[0]["event_id"]


@pytest.fixture
def web() -> Iterator[str]:
    """The corpus served over HTTP on a free port, as a feed publisher would serve it."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(CORPUS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.usefixtures("env")
def test_watch_polls_a_feed_url_and_follows_its_entries_links_over_http(web: str) -> None:
    url = f"{web}/atom_meteoalarm.xml"
    first = runner.invoke(app, ["feed", "watch", url, "--once", "--json", "--feed", "meteoalarm"])
    assert first.exit_code == 0, first.output
    outcomes = _json_lines(first.output)
    assert len(outcomes) == 3
    assert all(o["accepted"] for o in outcomes)
    linked = outcomes[2]
    assert "cap11_sdis_circle.xml" in linked["path"]
    assert linked["events"][0]["kind"] == "mouvement_de_terrain"
    again = runner.invoke(app, ["feed", "watch", url, "--once", "--json", "--feed", "meteoalarm"])
    assert [o["events"] for o in _json_lines(again.output)] == [[], [], []]
    taken = runner.invoke(app, ["feed", f"{web}/cap12_test.xml", "--json"])
    assert taken.exit_code == 0, taken.output
    assert _json_lines(taken.output)[0]["events"][0]["status"] == "Test"
