"""The plan rules, the CAP XSD and the sample crises ship with the package: the real `crisis`
finds them from any working folder, CRISIS_PLANS_DIR overrides the rules, and a built wheel
carries every one of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CRISIS = str(BIN / "crisis")
SHIPPED = [
    "services/plans/departements/06.toml",
    "services/plans/departements/README.md",
    "schemas/xsd/CAP-v1.2.xsd",
    "services/demo/crises/aude-2018-10.jsonl",
    "services/demo/crises/demo-alex-06.jsonl",
    "services/demo/crises/lubrizol-2019-09.jsonl",
    "services/console/static/index.html",
    "services/console/static/vendor/leaflet/images/marker-icon.png",
    "services/eventlog/migrations/script.py.mako",
    "services/runtime/security.toml",
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISIS_")}
    env["COLUMNS"] = "200"
    return {**env, **extra}


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_crisis_finds_the_shipped_plan_rules_from_any_working_folder(tmp_path: Path) -> None:
    result = _run(tmp_path, CRISIS, "plan", "rules")
    assert result.returncode == 0, result.stderr
    assert "(shipped with crisis-cell)" in result.stdout
    assert str(REPOSITORY / "services" / "plans" / "departements") in result.stdout
    assert "│ 06 " in result.stdout


def test_crisis_plans_dir_overrides_the_shipped_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shipped = (REPOSITORY / "services/plans/departements/06.toml").read_text(encoding="utf-8")
    (rules / "83.toml").write_text(shipped.replace('departement = "06"', 'departement = "83"'))
    result = _run(tmp_path, CRISIS, "plan", "rules", CRISIS_PLANS_DIR=str(rules))
    assert result.returncode == 0, result.stderr
    assert f"rule books in {rules} (CRISIS_PLANS_DIR)" in result.stdout
    assert "│ 83 " in result.stdout
    assert "│ 06 " not in result.stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    none = _run(tmp_path, CRISIS, "plan", "rules", CRISIS_PLANS_DIR=str(empty))
    assert none.returncode == 1
    assert "proposes nothing" in none.stderr


def test_a_built_wheel_carries_the_data_and_finds_it_where_it_is_installed(
    tmp_path: Path,
) -> None:
    # Built from a copy: a build in the repository would write into its build/ folder.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPOSITORY / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("schemas", "services"):
        shutil.copytree(REPOSITORY / package, source / package, ignore=skip)
    built = _run(tmp_path, str(BIN / "pip"), "wheel", str(source), "--no-deps", "-q", "-w", "w")
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "w").glob("crisis_cell-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert [name for name in SHIPPED if name not in names] == []
        installed = tmp_path / "installed"
        archive.extractall(installed)

    # The wheel's own code, from a folder that holds nothing else (PYTHONPATH before the
    # editable install of the repository).
    here = tmp_path / "elsewhere"
    here.mkdir()
    env = {"PYTHONPATH": str(installed)}
    listed = _run(here, sys.executable, "-m", "services.cli.main", "plan", "rules", **env)
    assert listed.returncode == 0, listed.stderr
    assert f"rule books in {installed / 'services/plans/departements'}" in listed.stdout
    assert "│ 06 " in listed.stdout
    probe = (
        "from importlib.resources import files\n"
        "from services.comms.cap_out import cap_xsd, _schema\n"
        "print(cap_xsd())\n"
        "_schema()\n"
        "print(sorted(e.name for e in (files('services.demo') / 'crises').iterdir()))\n"
        "from services.runtime.security import DESCRIPTION\n"
        "print(DESCRIPTION.read_text()[:1])\n"
        "print(DESCRIPTION)\n"
    )
    found = _run(here, sys.executable, "-c", probe, **env)
    assert found.returncode == 0, found.stderr
    xsd, crises, _, security = found.stdout.splitlines()
    assert security == str(installed / "services/runtime/security.toml")
    assert xsd == str(installed / "schemas/xsd/CAP-v1.2.xsd")
    assert "aude-2018-10.jsonl" in crises
    assert "lubrizol-2019-09.jsonl" in crises
