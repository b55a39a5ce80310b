"""JSON Schema files for feed integrators, and the stream definitions kept in infra/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.catalogue import EVENT_TYPES
from schemas.export import export_schemas, schema_file_name
from services.runtime.settings import Settings
from services.runtime.topology import stream_file_contents, topology
from tests.unit.samples import sample_event

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_export_writes_one_schema_per_event_type_and_an_index(tmp_path: Path) -> None:
    written = export_schemas(tmp_path / "schemas")
    names = {path.name for path in written}
    assert names == {schema_file_name(cls) for cls in EVENT_TYPES} | {"index.json"}
    index = json.loads((tmp_path / "schemas" / "index.json").read_text())
    assert [entry["type"] for entry in index] == [
        cls.model_fields["type"].default for cls in EVENT_TYPES
    ]


def test_each_schema_pins_its_type_and_requires_what_a_sender_must_give(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    for cls in EVENT_TYPES:
        schema = json.loads((tmp_path / schema_file_name(cls)).read_text())
        wire_name = cls.model_fields["type"].default
        assert schema["$id"].endswith(f"{wire_name}.v1.schema.json")
        assert schema["properties"]["type"]["const"] == wire_name
        assert {"crisis_id", "occurred_at", "source", "actor"} <= set(schema["required"])
        assert schema["additionalProperties"] is False
        sample = json.loads(sample_event(cls).model_dump_json())
        assert set(sample) <= set(schema["properties"])


def test_the_stream_files_in_infra_match_the_definitions_in_code() -> None:
    plan = topology(Settings(_env_file=None))  # type: ignore[call-arg]
    for config in plan.streams:
        path = REPO / "infra" / "jetstream" / f"{config.name}.json"
        assert path.read_text() == stream_file_contents(config), (
            f"{path} is stale: run `crisis infra streams infra/jetstream`"
        )
