"""The locks that keep one system per folder and one recorder per log, without a server."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.runtime.discovery import RunInfo, write_run_info
from services.runtime.locks import (
    FileLock,
    advisory_key,
    already_running,
    store_lock,
    system_lock,
)
from services.runtime.settings import Settings

pytestmark = pytest.mark.unit


def test_a_folder_lock_is_refused_to_a_second_taker_even_in_the_same_process(
    tmp_path: Path,
) -> None:
    first, second = FileLock(tmp_path / "a.lock"), FileLock(tmp_path / "a.lock")
    assert first.acquire()
    try:
        assert not second.acquire()
        second.release()  # what it never took, it cannot give back
        assert not FileLock(tmp_path / "a.lock").acquire()
        assert first.holder().pid == os.getpid()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_a_store_lock_is_shared_within_the_process_and_freed_by_its_last_taker(
    tmp_path: Path,
) -> None:
    root, server = store_lock(tmp_path), store_lock(tmp_path)
    assert root.acquire()
    assert server.acquire()
    assert root.fd == server.fd is not None
    server.release()
    assert root.fd is not None, "still held by the root"
    root.release()
    assert root.fd is None
    assert FileLock(tmp_path / "crisis.lock").acquire()


def test_the_refusal_names_the_running_system_from_its_run_file(settings: Settings) -> None:
    lock = system_lock(settings)
    assert lock.acquire()
    try:
        started = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
        write_run_info(
            settings.run_file,
            RunInfo(
                nats_url="nats://127.0.0.1:4222",
                pid=os.getpid(),
                embedded=True,
                started_at=started,
                services=["eventlog"],
            ),
        )
        line = already_running(settings, lock)
    finally:
        lock.release()
    assert line == (
        f"a crisis system already runs from {settings.var_dir.resolve()} (pid {os.getpid()}, "
        "nats://127.0.0.1:4222, since 2026-03-01 08:30:00 UTC); stop it first (Ctrl-C in its "
        f"terminal, or kill -TERM {os.getpid()})"
    )
    assert "\n" not in line


def test_a_system_still_starting_is_named_from_its_lock_file(settings: Settings) -> None:
    lock = system_lock(settings)
    assert lock.acquire()
    try:
        line = already_running(settings, lock)
    finally:
        lock.release()
    assert f"(pid {os.getpid()}, starting, since " in line


def test_the_advisory_key_is_a_fixed_signed_64_bit_number_per_schema() -> None:
    key = advisory_key("public")
    assert key == advisory_key("public") != advisory_key("t_other")
    assert -(2**63) <= key < 2**63
