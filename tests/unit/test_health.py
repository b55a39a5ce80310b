"""The health checks' verdicts and words, without a bus: disks, a stalled log, a timed-out act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.runtime.health import (
    MB,
    Check,
    Disk,
    HealthReport,
    StallWatch,
    disk_check,
    explain,
    read_disk,
    watched_paths,
)
from services.runtime.settings import Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _disk(what: str, free_mb: float, device: int = 1) -> Disk:
    return Disk(what, Path(f"/srv/{what}"), Path("/srv"), device, int(free_mb * MB))


def test_a_disk_below_the_threshold_says_where_how_much_and_which_setting() -> None:
    check = disk_check([_disk("var", 3), _disk("jetstream", 3)], min_free_mb=256)
    assert not check.ok
    assert "mounted at /srv is only 3 MB free" in check.problem
    assert "var (/srv/var), jetstream (/srv/jetstream)" in check.problem
    assert "CRISIS_DISK_MIN_FREE_MB" in check.problem


def test_a_full_disk_is_called_full_and_disks_with_room_pass() -> None:
    assert "is full" in disk_check([_disk("var", 0.5)], min_free_mb=256).problem
    assert disk_check([_disk("var", 300), _disk("db", 900, device=2)], min_free_mb=256).ok
    assert disk_check([_disk("var", 0)], min_free_mb=0).ok


def test_the_disks_watched_are_var_the_store_and_a_sqlite_log(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path / "var")
    watched = dict(watched_paths(settings, tmp_path / "var" / "jetstream"))
    assert set(watched) == {"var", "the JetStream store", "the SQLite event log"}
    postgres = settings.model_copy(update={"db_url": "postgresql+asyncpg://db/crisis"})
    assert set(dict(watched_paths(postgres, None))) == {"var"}
    # A folder not made yet is read on its nearest existing parent.
    assert read_disk("var", tmp_path / "not" / "yet").free > 0


def test_lag_is_a_stall_only_once_the_position_has_not_moved_for_long_enough() -> None:
    watch = StallWatch(stall_after_s=60)
    assert watch.observe(lag=5, position=10, now=0) is None
    assert watch.observe(lag=5, position=10, now=59) is None
    assert watch.observe(lag=7, position=10, now=75) == 75
    assert watch.observe(lag=7, position=11, now=80) is None, "it moved"
    assert watch.observe(lag=0, position=11, now=500) is None, "no lag, no stall"


def test_a_report_gives_each_verdict_and_the_problems_in_words() -> None:
    report = HealthReport(NOW, (Check("nats", ok=True), Check("disk", ok=False, problem="full")))
    assert not report.ready
    assert report.as_json() == {
        "ready": False,
        "checked_at": NOW.isoformat(),
        "checks": {"nats": True, "disk": False},
        "problems": ["disk: full"],
    }


def test_a_timed_out_command_is_told_how_old_the_last_report_is_and_what_it_said() -> None:
    body = HealthReport(
        NOW, (Check("jetstream writes", ok=False, problem="JetStream refuses writes"),)
    ).as_json()
    said = explain(body, NOW + timedelta(seconds=12))
    assert said == (
        "its last health report (12 s ago) said: jetstream writes: JetStream refuses writes"
    )
    fine = explain(HealthReport(NOW, (Check("nats", ok=True),)).as_json(), NOW)
    assert fine.startswith("its last health report (0 s ago) found nothing wrong")
