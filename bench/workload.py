"""The events every benchmark moves: realistic, varied, reproducible from a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from schemas import subjects
from schemas.envelope import Envelope
from schemas.events import BilanAssessed, IncidentReported, MainCouranteEntryRecorded
from schemas.ids import event_id_at
from schemas.wire import encode
from services.runtime.publish import headers_for

CRISES = 20
SEED = 20201002
PARIS_SUMMER = timezone(timedelta(hours=2))
STORM_ALEX = datetime(2020, 10, 2, 14, 32, tzinfo=PARIS_SUMMER)

SAINT_MARTIN = {"lat": 44.0689, "lon": 7.2553}
VESUBIE_RING = [
    {"lat": 44.10, "lon": 7.20},
    {"lat": 44.10, "lon": 7.30},
    {"lat": 44.00, "lon": 7.30},
    {"lat": 44.10, "lon": 7.20},
]
LOCATION: dict[str, Any] = {
    "description": "Saint-Martin-Vésubie, bord de la Vésubie",
    "point": SAINT_MARTIN,
    "polygons": [{"points": VESUBIE_RING}],
    "circles": [{"center": SAINT_MARTIN, "radius_km": 2.5}],
    "insee_codes": ["06127"],
}
SEVERITIES = ("minor", "moderate", "severe", "extreme")
PRIORITIES = ("routine", "urgent", "flash")
MEDIA = ("telephone", "radio", "email", "sms")
SENDERS = ("CODIS 06", "SAMU 06", "Gendarmerie 06", "Mairie de Breil-sur-Roya", "DDTM 06")
ROADS = ("RD 2565", "RD 6204", "RD 2566", "RD 91", "RN 204")


@dataclass(frozen=True, slots=True)
class Message:
    """One event as a publisher puts it on the bus."""

    subject: str
    payload: bytes
    headers: dict[str, str]


def crisis_ids() -> list[str]:
    """The crises the workload spreads its events over."""
    return [f"bench-crisis-{k:02d}" for k in range(CRISES)]


def _incident(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "incident_id": f"inc-{i:07d}",
        "kind": "inondation",
        "severity": rng.choice(SEVERITIES),
        "title": f"Crue de la Vésubie, signalement {i}",
        "location": LOCATION,
        "sources": ["Vigicrues", "CTA-CODIS 06"],
        "external_ids": [f"urn:oid:2.49.0.1.250.0.2020.10.02.{i}"],
        "warnings": ["<expires> missing"],
    }


def _entry(rng: random.Random, i: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "entry_id": f"mc-{i:07d}",
        "direction": "received",
        "sender": rng.choice(SENDERS),
        "medium": rng.choice(MEDIA),
        "priority": rng.choice(PRIORITIES),
        "text": f"{rng.choice(ROADS)} coupée au pont de Saint-Martin-Vésubie (message {i}).",
    }
    # One message in twenty asks for a follow-up, as in the cell's real main courante (the
    # picture keeps every open follow-up, so one on each would make its snapshots balloon).
    if i % 20 == 0:
        entry["follow_up_owner"] = "Cellule moyens"
        entry["follow_up_due"] = STORM_ALEX + timedelta(hours=4)
    return entry


def _bilan(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "incident_id": f"inc-{rng.randrange(max(i, 1)):07d}",
        "figures": {"decedes": rng.randrange(3), "disparus": rng.randrange(10), "evacues": i % 500},
        "source_of_figures": "SDIS 06",
    }


# (event class, payload builder, weight): reports and main-courante entries dominate a crisis.
_KINDS = (
    (IncidentReported, _incident, 4),
    (MainCouranteEntryRecorded, _entry, 4),
    (BilanAssessed, _bilan, 2),
)


def events(n: int, seed: int = SEED) -> Iterator[Envelope]:
    """`n` valid events over `CRISES` crises, built and validated like the samples of the tests."""
    rng = random.Random(seed)
    crises = crisis_ids()
    classes = [kind for kind in _KINDS for _ in range(kind[2])]
    for i in range(n):
        cls, payload, _ = rng.choice(classes)
        yield cls.model_validate(
            {
                # Time-ordered, as every publisher's ids are (schemas.ids), seeded.
                "event_id": event_id_at(
                    int((STORM_ALEX + timedelta(seconds=i)).timestamp() * 1000),
                    rng.getrandbits(74),
                ),
                "crisis_id": rng.choice(crises),
                "occurred_at": STORM_ALEX + timedelta(seconds=i),
                "received_at": (STORM_ALEX + timedelta(seconds=i, milliseconds=250)).astimezone(
                    UTC
                ),
                "source": "console",
                "actor": "op.dupont",
                **payload(rng, i),
            }
        )


def message(event: Envelope) -> Message:
    """The subject, bytes and headers an event is published with."""
    return Message(subjects.live(event.crisis_id, event.type), encode(event), headers_for(event))


def messages(n: int, seed: int = SEED) -> list[Message]:
    """`n` events ready to publish."""
    return [message(event) for event in events(n, seed)]
