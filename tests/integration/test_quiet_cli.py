"""Quiet, clear output through the real `crisis`: no library INFO lines unless --verbose, and the
errors a person can act on (port in use, no system running, wrong credentials) in one line, with
exit 2 and no traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime.discovery import read_run_info

pytestmark = pytest.mark.integration

CRISIS = str(Path(sys.executable).parent / "crisis")
# What alembic and FastStream wrote on every run before: none of it is for the person at the
# terminal.
LIBRARY_NOISE = ("Context impl", "Will assume", "Running upgrade", "is being executed")
PASSWORD = "right-password-06"


def _env(tmp_path: Path, **ports: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_")}
    env["CRISIS_VAR_DIR"] = str(tmp_path / "var")
    env["CRISIS_CREDENTIALS_DIR"] = str(tmp_path / "credentials")
    env["CRISIS_LOG_FORMAT"] = "json"  # crisis-cell's own lines are JSON: anything else is not
    env["COLUMNS"] = "60"  # narrow: an error must still be one line
    for name in ("NATS", "PICTURE", "INTAKE", "CONSOLE", "OPS"):
        env[f"CRISIS_{name}_PORT"] = str(ports.get(name.lower(), 0))
    return env


def _crisis(
    tmp_path: Path, *args: str, stdin: str | None = None, **ports: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRISIS, *args],
        cwd=tmp_path,
        env=_env(tmp_path, **ports),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )


def _not_ours(stderr: str) -> list[str]:
    """The lines of standard error that are not crisis-cell's own JSON log lines."""
    lines = []
    for line in stderr.splitlines():
        try:
            json.loads(line)
        except ValueError:
            lines.append(line)
    return lines


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = _not_ours(result.stderr)
    assert line.startswith("error: ")
    assert result.stderr.rstrip("\n").endswith(line)  # the last thing said
    for word in words:
        assert word in line
    return line


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_command_that_migrates_the_database_prints_no_alembic_line(tmp_path: Path) -> None:
    result = _crisis(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "upgraded from empty" in result.stdout
    for noise in LIBRARY_NOISE:
        assert noise not in result.stderr + result.stdout
    assert _not_ours(result.stderr) == []


def test_verbose_shows_the_libraries_lines(tmp_path: Path) -> None:
    result = _crisis(tmp_path, "--verbose", "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "Running upgrade" in result.stderr


def test_up_with_its_nats_port_taken_says_so_in_one_line(tmp_path: Path, taken_port: int) -> None:
    result = _crisis(tmp_path, "up", nats=taken_port)
    line = _assert_one_line_error(result, f"127.0.0.1:{taken_port}", "CRISIS_NATS_PORT")
    assert result.stderr == line + "\n"  # nothing started, nothing else said


def test_up_with_the_console_port_taken_says_so_in_one_line(
    tmp_path: Path, taken_port: int
) -> None:
    result = _crisis(tmp_path, "up", console=taken_port)
    _assert_one_line_error(result, f"127.0.0.1:{taken_port}", "CRISIS_CONSOLE_PORT")
    for noise in LIBRARY_NOISE:
        assert noise not in result.stderr


@pytest.mark.parametrize(
    "args",
    [("log", "status"), ("alert", "issue", "alert-0001", "-c", "alex"), ("tail",)],
    ids=["log status", "alert issue", "tail"],
)
def test_a_command_needing_a_running_system_says_how_to_start_one_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    _assert_one_line_error(_crisis(tmp_path, *args), "crisis up")


@pytest.fixture
def running_system(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`crisis up` in a fresh folder, on free ports."""
    proc = subprocess.Popen(
        [CRISIS, "up"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while read_run_info(tmp_path / "var" / "run.json") is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"crisis up did not come up: {proc.communicate()[1][-2000:]}")
        time.sleep(0.1)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _add(tmp_path: Path, ident: str, role: str) -> None:
    added = _crisis(tmp_path, "user", "add", ident, "--role", role, "--password-stdin",
                    stdin=f"{PASSWORD}\n")  # fmt: skip
    assert added.returncode == 0, added.stderr


@pytest.mark.usefixtures("running_system")
def test_a_wrong_password_is_one_line_and_exit_2(tmp_path: Path) -> None:
    _add(tmp_path, "op.dupont", "operator")
    wrong = _crisis(tmp_path, "login", "op.dupont", "--password-stdin", stdin="wrong-password\n")
    _assert_one_line_error(wrong, "login refused", "wrong identity or password")


def test_up_says_which_rule_books_it_read_and_warns_of_a_crisis_without_any(
    tmp_path: Path, running_system: subprocess.Popen[str]
) -> None:
    _add(tmp_path, "dir.martin", "director")
    login = _crisis(tmp_path, "login", "dir.martin", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert login.returncode == 0, login.stderr
    # The 83 (Var) has no rule book in the package: its crisis will get no proposal.
    opened = _crisis(tmp_path, "open", "tempete-83", "--name", "Tempête", "--departement", "83")
    assert opened.returncode == 0, opened.stderr

    time.sleep(1)  # the plans service sees the crisis open
    running_system.send_signal(signal.SIGINT)
    stdout, stderr = running_system.communicate(timeout=20)
    assert running_system.returncode == 0, stderr
    assert "Stopped cleanly" in stdout
    for noise in LIBRARY_NOISE:
        assert noise not in stderr
    said = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    [loaded] = [entry for entry in said if entry["event"] == "plans.rules_loaded"]
    assert loaded["departements"] == ["06"]
    [warned] = [entry for entry in said if entry["event"] == "plans.no_rules"]
    assert (warned["level"], warned["crisis_id"], warned["departement"]) == (
        "warning",
        "tempete-83",
        "83",
    )
