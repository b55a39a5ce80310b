"""Events the system records about itself."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.envelope import Envelope
from schemas.types import Count, Sha256Hex, ShortText, Text, Token

RAW_EXCERPT_MAX = 4096


class InputRejected(Envelope):
    """An input has been rejected; the raw bytes are kept by the dead-letter path."""

    type: Literal["input.rejected"] = "input.rejected"
    schema_version: Literal[1] = 1
    input_source: Token = Field(
        description="Feed the input came from.", examples=["cap-meteo-france", "geojson-sdis06"]
    )
    reason: Text = Field(
        description="Why it was rejected, for an operator to read.",
        examples=["<info><area> missing: an alert without an area cannot be placed"],
    )
    detail_path: ShortText | None = Field(
        default=None,
        description="Element or JSON path at fault, if one can be named.",
        examples=["/alert/info[0]/area", "$.features[3].geometry"],
    )
    content_type: ShortText | None = Field(
        default=None, description="Declared content type.", examples=["application/cap+xml"]
    )
    raw_size: Count = Field(description="Size of the raw input in bytes.", examples=[5321])
    raw_sha256: Sha256Hex = Field(
        description="SHA-256 of the raw input: the key of its copy on the dead-letter path."
    )
    # Not stripped, possibly empty: the excerpt shows the input exactly as it came.
    raw_excerpt: str = Field(
        max_length=RAW_EXCERPT_MAX,
        description="Beginning of the raw input, decoded for display.",
        examples=['<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'],
    )
