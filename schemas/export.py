"""JSON Schema files of the catalogue, one per event type, for feed integrators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.catalogue import EVENT_TYPES
from schemas.envelope import Envelope

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://crisis-cell.eu/schemas/"


def schema_file_name(cls: type[Envelope]) -> str:
    """`<type>.v<version>.schema.json`, e.g. `incident.reported.v1.schema.json`."""
    fields = cls.model_fields
    return f"{fields['type'].default}.v{fields['schema_version'].default}.schema.json"


def event_schema(cls: type[Envelope]) -> dict[str, Any]:
    """The JSON Schema of one event type, as a sender must write it."""
    schema = cls.model_json_schema(mode="validation")
    name = schema_file_name(cls)
    return {"$schema": SCHEMA_DIALECT, "$id": ID_BASE + name, **schema}


def export_schemas(directory: Path) -> list[Path]:
    """Write one schema file per event type and an index; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index: list[dict[str, Any]] = []
    for cls in EVENT_TYPES:
        path = directory / schema_file_name(cls)
        path.write_text(json.dumps(event_schema(cls), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
        index.append(
            {
                "type": cls.model_fields["type"].default,
                "schema_version": cls.model_fields["schema_version"].default,
                "title": cls.__name__,
                "description": (cls.__doc__ or "").strip(),
                "file": path.name,
            }
        )
    index_path = directory / "index.json"
    index_path.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    written.append(index_path)
    return written
