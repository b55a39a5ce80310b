"""Who may do what: the people of the cell and their roles, from one TOML file.

    [people."op.dupont"]
    name = "Claire Dupont"
    role = "operator"          # operator | director | observer | feed
    enabled = true

`crisis user add NAME --role ROLE` writes it. The roles are enforced by the services: the
command service refuses an act the actor's role does not allow, and publishes nothing.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from schemas.envelope import utc_now


class Role(StrEnum):
    """What a person does in the cell."""

    OPERATOR = "operator"  # keeps the main courante, reports incidents, drafts
    DIRECTOR = "director"  # the directeur de cabinet: opens crises, activates plans, validates
    OBSERVER = "observer"  # partner services, reviewers: read only
    FEED = "feed"  # an automated feed: reports incidents and figures


class PeopleFileError(ValueError):
    """The people file cannot be read or changed."""


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who acts in the cell; `ident` is the actor of their events."""

    ident: str
    role: Role
    name: str = ""
    enabled: bool = True


class People:
    """The people of one deployment."""

    def __init__(self, people: dict[str, Person] | None = None) -> None:
        self.people = people or {}

    @classmethod
    def load(cls, path: Path) -> People:
        """Read `path`; a missing file is nobody."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PeopleFileError(f"people file {path} cannot be read: {exc}") from None
        people = {}
        for ident, table in (data.get("people") or {}).items():
            try:
                role = Role(table.get("role"))
            except ValueError:
                choices = ", ".join(r.value for r in Role)
                raise PeopleFileError(f"{path}: {ident!r} needs a role among {choices}") from None
            people[ident] = Person(
                ident, role, str(table.get("name", "")), bool(table.get("enabled", True))
            )
        return cls(people)

    def find(self, ident: str) -> Person | None:
        """The enabled person known as `ident`, if any."""
        person = self.people.get(ident)
        return person if person is not None and person.enabled else None


def add_person(path: Path, ident: str, role: Role, name: str = "") -> Person:
    """Add a person to the people file."""
    if not ident or len(ident) > 100 or any(c in ident for c in ' "\n\\'):
        raise PeopleFileError(f"{ident!r} cannot be an identity: no spaces, quotes or backslashes")
    if ident in People.load(path).people:
        raise PeopleFileError(f"{ident!r} is already in {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    is_new = not path.exists()
    with path.open("a", encoding="utf-8") as handle:
        if is_new:
            handle.write("# crisis-cell people and roles: `crisis user add NAME --role ROLE`.\n")
        handle.write(
            f'\n[people."{ident}"]\nname = {json.dumps(name, ensure_ascii=False)}\n'
            f'role = "{role.value}"\nenabled = true\n'
            f'added_at = "{utc_now().isoformat(timespec="seconds")}"\n'
        )
    return Person(ident, role, name)
