"""The demo's people: a director, an operator and an observer, with passwords shown on screen."""

from __future__ import annotations

from pathlib import Path

from services.cell.people import People, Role, add_person

# Demo only: these passwords are printed by `crisis demo` and must never be used for real.
DEMO_PEOPLE = (
    ("dircab", Role.DIRECTOR, "Directeur de cabinet", "demo-directeur"),
    ("op.martin", Role.OPERATOR, "Paul Martin, opérateur COD", "demo-operateur"),
    ("obs.ars", Role.OBSERVER, "ARS, observateur", "demo-observateur"),
)


def demo_people(path: Path) -> list[tuple[str, str, str]]:
    """Add the demo people who are missing; return (identity, role, password) of each."""
    known = People.load(path).people
    for ident, role, name, password in DEMO_PEOPLE:
        if ident not in known:
            add_person(path, ident, role, name, password)
    return [(ident, role.value, password) for ident, role, _name, password in DEMO_PEOPLE]
