"""The AsyncAPI documents kept in the repository are the ones the code generates."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.docs import SERVICES, asyncapi, export_asyncapi

pytestmark = pytest.mark.unit

KEPT = Path(__file__).parents[2] / "docs" / "asyncapi"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_asyncapi_document_in_the_repository_is_current(service: str) -> None:
    kept = orjson.loads((KEPT / f"{service}.json").read_bytes())
    assert kept == asyncapi(service), "run `crisis docs asyncapi docs/asyncapi`"


def test_the_cell_document_names_its_request_channel_and_every_event_it_publishes(
    tmp_path: Path,
) -> None:
    export_asyncapi(tmp_path)
    cell = orjson.loads((tmp_path / "cell.json").read_bytes())
    assert "cell" in cell["channels"]
    assert "plan.activated" in cell["channels"]
    assert cell["channels"]["plan.activated"]["address"] == "crisis.{crisis_id}.plan.activated"
