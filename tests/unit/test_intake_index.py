"""The correlation index's knowledge of the resources engaged on each incident."""

from __future__ import annotations

from typing import Any

from services.intake.correlation import CorrelationIndex, Engaged


def _resource_event(kind: str, resource_id: str, incident_id: str | None = "inc-1") -> Any:
    return {
        "type": f"resource.{kind}",
        "crisis_id": "vesubie",
        "resource_id": resource_id,
        "service": "sdis",
        "units": 1,
        "personnel": 4,
        "incident_id": incident_id,
    }


def test_the_index_learns_engagements_and_releases_from_the_stream() -> None:
    index = CorrelationIndex()
    index.observe(_resource_event("engaged", "res-a"))
    index.observe(_resource_event("engaged", "res-b"))
    index.observe(_resource_event("engaged", "res-c", incident_id=None))
    index.observe(_resource_event("released", "res-a"))

    assert index.engaged("inc-1") == {"res-b": Engaged("res-b", "sdis", 1, 4)}
    assert index.engaged("inc-2") == {}


def test_an_overlay_engages_and_releases_on_top_of_its_base_until_committed() -> None:
    index = CorrelationIndex()
    index.observe(_resource_event("engaged", "res-a"))
    overlay = index.overlay()

    overlay.release("inc-1", "res-a")
    overlay.engage("inc-1", Engaged("res-b", "samu_smur", 1, 3))

    assert set(overlay.engaged("inc-1")) == {"res-b"}
    assert set(index.engaged("inc-1")) == {"res-a"}  # the base is untouched until the commit
    overlay.commit()
    assert set(index.engaged("inc-1")) == {"res-b"}
