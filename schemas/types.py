"""Constrained scalar types shared by the envelope and the event models."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

# A token is safe to place in a NATS subject: no `.`, `*`, `>` or white space can get in.
TOKEN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # noqa: S105 (a regular expression, not a secret)

Token = Annotated[
    str,
    StringConstraints(pattern=TOKEN_PATTERN),
    Field(description="Identifier usable as a NATS subject token: letters, digits, `_` and `-`."),
]
CrisisId = Annotated[
    str,
    StringConstraints(pattern=TOKEN_PATTERN),
    Field(
        description="Crisis identifier, also a NATS subject token.",
        examples=["inondation-06-2020-10"],
    ),
]
Departement = Annotated[
    str,
    StringConstraints(pattern=r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$"),
    Field(description="Code of the département (INSEE).", examples=["06", "2A", "974"]),
]
InseeCode = Annotated[
    str,
    StringConstraints(pattern=r"^([0-9]{2}|2A|2B)[0-9]{3}$"),
    Field(description="INSEE code of a commune.", examples=["06088"]),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Count = Annotated[int, Field(ge=0, le=100_000_000)]
Instant = AwareDatetime
Position = Annotated[
    int,
    Field(ge=0, description="Position of an event in the stream: its JetStream sequence number."),
]
Sha256Hex = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(description="SHA-256 digest as 64 lower-case hexadecimal digits."),
]
# Only http(s): a link shown to the public or to operators must open in a browser.
WebUrl = Annotated[
    str,
    StringConstraints(max_length=2048, pattern=r"^https?://[^\s/?#]+[^\s]*$"),
    Field(
        description="An http or https address.", examples=["https://www.alpes-maritimes.gouv.fr"]
    ),
]
