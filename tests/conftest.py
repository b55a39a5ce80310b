"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.runtime.settings import Settings


@pytest.fixture(autouse=True)
def _no_ambient_crisis_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's CRISIS_NATS_URL and the like by accident."""
    for name in list(os.environ):
        if name.startswith("CRISIS_") and not name.startswith("CRISIS_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of an isolated deployment under the test's temporary folder."""
    return Settings(_env_file=None, var_dir=tmp_path / "var")  # type: ignore[call-arg]
