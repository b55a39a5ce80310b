"""The command line as a person uses it: `crisis up` in one terminal, other commands in another."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.demo.scenario import tempete_alex
from services.runtime.discovery import read_run_info
from tests.unit.samples import incident_reported

pytestmark = pytest.mark.integration

CRISIS = [str(Path(sys.executable).parent / "crisis")]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_")}
    env["CRISIS_LOG_FORMAT"] = "json"
    env["COLUMNS"] = "250"
    # Any free ports: a developer's own system may hold the default ones.
    for service in ("PICTURE", "INTAKE", "CONSOLE", "OPS"):
        env[f"CRISIS_{service}_PORT"] = "0"
    return env


def _crisis(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CRISIS, *args],
        cwd=cwd,
        env=_env(),
        input=stdin.decode() if stdin else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 30) -> None:
    """Read `proc`'s standard error until a line holds `needle` (its logs may come first); a
    process still silent after `timeout` is killed, which ends the read."""
    assert proc.stderr is not None
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if needle in line:
                return
    finally:
        watchdog.cancel()
    pytest.fail(f"no line with {needle!r} within {timeout} s: {''.join(seen)[-2000:]}")


@pytest.fixture
def running_system(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`crisis up` in a fresh folder, with no NATS URL configured: it starts its own server."""
    proc = subprocess.Popen(
        [*CRISIS, "up"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while read_run_info(tmp_path / "var" / "run.json") is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, stderr = proc.communicate()
            pytest.fail(f"crisis up did not come up: {stderr}")
        time.sleep(0.1)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.usefixtures("running_system")
def test_up_publish_and_tail_work_together_from_the_same_folder(tmp_path: Path) -> None:
    event = incident_reported()
    (tmp_path / "event.json").write_text(event.model_dump_json())

    published = _crisis(tmp_path, "publish", "event.json")
    assert published.returncode == 0, published.stderr
    assert "#1" in published.stdout

    again = _crisis(tmp_path, "publish", "-", stdin=event.model_dump_json().encode())
    assert again.returncode == 0, again.stderr
    assert "duplicate" in again.stdout

    tail = subprocess.Popen(
        [*CRISIS, "tail", "--from-start"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert tail.stdout is not None
    # Wait for the line rather than for a fixed time: the command's start-up varies with load.
    first = tail.stdout.readline()
    tail.send_signal(signal.SIGINT)
    stdout, stderr = tail.communicate(timeout=20)
    lines = [line for line in (first + stdout).splitlines() if line.strip()]
    assert len(lines) == 1, (stdout, stderr)
    assert "incident.reported" in lines[0]
    assert event.crisis_id in lines[0]


@pytest.mark.usefixtures("running_system")
def test_an_invalid_event_is_refused_with_its_field_named_and_never_published(
    tmp_path: Path,
) -> None:
    data = json.loads(incident_reported().model_dump_json())
    data["severity"] = "apocalyptic"
    result = _crisis(tmp_path, "publish", "-", stdin=json.dumps(data).encode())
    assert result.returncode == 1
    assert "severity" in result.stderr
    assert "not published" in result.stderr

    naive = json.loads(incident_reported().model_dump_json())
    naive["occurred_at"] = "2020-10-02T16:30:00"
    result = _crisis(tmp_path, "publish", "-", stdin=json.dumps(naive).encode())
    assert result.returncode == 1
    assert "occurred_at" in result.stderr

    tail = subprocess.Popen(
        [*CRISIS, "tail", "--from-start"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Ctrl-C once it says it follows the stream: a fixed pause raced its start-up under CI's
    # load (twice the process was still there 20 and 45 s after a Ctrl-C sent 1.5 s in).
    _wait_for_line(tail, "following every crisis, from the stream's start")
    tail.send_signal(signal.SIGINT)
    stdout, _ = tail.communicate(timeout=20)
    assert stdout.strip() == ""


def test_up_stops_cleanly_on_sigterm_and_takes_its_server_down(
    tmp_path: Path, running_system: subprocess.Popen[str]
) -> None:
    info = read_run_info(tmp_path / "var" / "run.json")
    assert info is not None
    assert info.embedded
    running_system.send_signal(signal.SIGTERM)
    stdout, stderr = running_system.communicate(timeout=30)
    assert running_system.returncode == 0, stderr
    assert "Stopped cleanly" in stdout
    assert not (tmp_path / "var" / "run.json").exists()
    host, port = info.nats_url.removeprefix("nats://").split(":")

    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((host, int(port)), timeout=0.5),
    ):
        pass


def test_commands_say_how_to_start_the_system_when_nothing_runs(tmp_path: Path) -> None:
    (tmp_path / "event.json").write_text(incident_reported().model_dump_json())
    result = _crisis(tmp_path, "publish", "event.json")
    assert result.returncode == 2
    assert "crisis up" in result.stderr


def test_demo_brings_the_system_up_and_feeds_the_whole_sample_crisis(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CRISIS, "demo", "--interval", "0"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "keeps running" not in "".join(lines):
        lines.append(proc.stdout.readline())
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=30)
    output = "".join(lines) + rest
    events = [line for line in output.splitlines() if line.startswith("#")]
    assert proc.returncode == 0, stderr
    # The 60 events of the scenario, and what the intake made of the 3 Vigicrues CAP alerts;
    # and the plans service's own proposals, since it finds the 06 rules (package data) from
    # any folder: the scenario's scripted ones do not share their event ids.
    proposing = (" plan.activation_proposed ", " vigipirate.posture_proposed ")
    proposed = [line for line in events if any(kind in line for kind in proposing)]
    scripted = sum(event.type in {k.strip() for k in proposing} for event in tempete_alex("x"))
    assert len(events) - len(proposed) == 63 - scripted
    assert len(proposed) >= scripted
    from_intake = [line for line in events if "cap-" in line.split("incident_id=")[-1][:4]]
    assert len(from_intake) == 3
    assert sum(line.startswith("intake ") for line in output.splitlines()) == 3
    assert events[0].startswith("#1 ")
    assert "crisis.opened [EXERCICE]" in events[0]
    assert all("[EXERCICE]" in line for line in events)
    assert "Stopped cleanly" in output
    # The demo opens on the console: its address and the demo logins are printed.
    assert "Console: http://127.0.0.1:" in output
    assert "dircab" in output


@pytest.mark.usefixtures("running_system")
def test_up_records_every_published_event_in_the_event_log(tmp_path: Path) -> None:
    events = [incident_reported(title=f"Crue {i}") for i in range(3)]
    for i, event in enumerate(events):
        (tmp_path / f"e{i}.json").write_text(event.model_dump_json())
        assert _crisis(tmp_path, "publish", f"e{i}.json").returncode == 0
    deadline = time.monotonic() + 30
    records: list[dict[str, object]] = []
    while time.monotonic() < deadline and len(records) < 3:
        exported = _crisis(tmp_path, "log", "export")
        lines = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
        records = [line for line in lines if "position" in line]  # not the signed lines
        time.sleep(0.3)
    assert [r["event_id"] for r in records] == [str(e.event_id) for e in events]
    assert [r["position"] for r in records] == [1, 2, 3]
    assert (tmp_path / "var" / "crisis.db").exists()
    # Committed comes before acknowledged: the lag reaches 0 once the acks are in.
    caught_up = "0 (0 not delivered, 0 awaiting ack)"
    status = _crisis(tmp_path, "log", "status")
    while caught_up not in status.stdout and time.monotonic() < deadline:
        time.sleep(0.3)
        status = _crisis(tmp_path, "log", "status")
    assert status.returncode == 0, status.stderr
    assert caught_up in status.stdout


def test_publishing_a_file_that_does_not_exist_says_so(tmp_path: Path) -> None:
    result = _crisis(tmp_path, "publish", "missing.json")
    assert result.returncode == 1
    assert "cannot read missing.json" in result.stderr


def test_ctrl_c_in_the_terminal_stops_the_services_before_the_embedded_server(
    tmp_path: Path,
) -> None:
    # A terminal's Ctrl-C goes to the whole foreground process group, not only to `crisis up`.
    proc = subprocess.Popen(
        [*CRISIS, "up"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while read_run_info(tmp_path / "var" / "run.json") is None:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "crisis up did not come up"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Stopped cleanly" in stdout
    assert "Traceback" not in stderr
