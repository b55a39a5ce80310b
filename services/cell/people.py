"""Who may do what: the people of the cell, their roles and their password hashes, in one file.

    [people."op.dupont"]
    name = "Claire Dupont"
    role = "operator"          # operator | director | observer | reviewer | feed
    enabled = true
    password = "$argon2id$v=19$m=65536,t=3,p=4$…"   # argon2id hash; never the password

`crisis user add|list|disable|password` keeps it. The roles are enforced by the services: the
command service refuses an act the actor's role does not allow, and publishes nothing; the
console refuses to act for an observer or a reviewer before it asks.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.envelope import utc_now
from services.runtime.files import write_private

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12


class Role(StrEnum):
    """What a person does in the cell."""

    OPERATOR = "operator"  # keeps the main courante, reports incidents, drafts
    DIRECTOR = "director"  # the directeur de cabinet: opens crises, activates plans, validates
    OBSERVER = "observer"  # partner services: read only
    REVIEWER = "reviewer"  # after-action review: read only
    FEED = "feed"  # an automated feed: reports incidents and figures


READ_ONLY = frozenset({Role.OBSERVER, Role.REVIEWER})


class PeopleFileError(ValueError):
    """The people file cannot be read or changed."""


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who acts in the cell; `ident` is the actor of their events."""

    ident: str
    role: Role
    name: str = ""
    enabled: bool = True
    password: str | None = None  # argon2 hash
    added_at: str = ""

    def verify(self, password: str) -> bool:
        """True when `password` is this person's (and they may log in)."""
        if not self.enabled or self.password is None:
            return False
        try:
            return _HASHER.verify(self.password, password)
        except (VerificationError, InvalidHashError):
            return False


def hash_password(password: str) -> str:
    """The argon2id hash of a new password; too short a password is refused."""
    if len(password) < MIN_PASSWORD:
        raise PeopleFileError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


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
                ident,
                role,
                str(table.get("name", "")),
                bool(table.get("enabled", True)),
                table.get("password"),
                str(table.get("added_at", "")),
            )
        return cls(people)

    def find(self, ident: str) -> Person | None:
        """The enabled person known as `ident`, if any."""
        person = self.people.get(ident)
        return person if person is not None and person.enabled else None

    def save(self, path: Path) -> None:
        """Write the whole file (readable by its owner only: it holds password hashes)."""
        lines = ["# crisis-cell people and roles: `crisis user add|list|disable|password`.\n"]
        for person in self.people.values():
            lines.append(f"\n[people.{json.dumps(person.ident)}]\n")
            lines.append(f"name = {json.dumps(person.name, ensure_ascii=False)}\n")
            lines.append(f'role = "{person.role.value}"\n')
            lines.append(f"enabled = {'true' if person.enabled else 'false'}\n")
            if person.password:
                lines.append(f"password = {json.dumps(person.password)}\n")
            if person.added_at:
                lines.append(f'added_at = "{person.added_at}"\n')
        write_private(path, "".join(lines))


def _valid_ident(ident: str) -> None:
    if not ident or len(ident) > 100 or any(c in ident for c in ' "\n\\'):
        raise PeopleFileError(f"{ident!r} cannot be an identity: no spaces, quotes or backslashes")


def add_person(
    path: Path, ident: str, role: Role, name: str = "", password: str | None = None
) -> Person:
    """Add a person to the people file (with a password to log in to the console)."""
    _valid_ident(ident)
    people = People.load(path)
    if ident in people.people:
        raise PeopleFileError(f"{ident!r} is already in {path}")
    person = Person(
        ident,
        role,
        name,
        password=hash_password(password) if password is not None else None,
        added_at=utc_now().isoformat(timespec="seconds"),
    )
    people.people[ident] = person
    people.save(path)
    return person


def change_person(
    path: Path, ident: str, *, enabled: bool | None = None, password: str | None = None
) -> Person:
    """Disable or enable a person, or set their password."""
    people = People.load(path)
    person = people.people.get(ident)
    if person is None:
        raise PeopleFileError(f"nobody called {ident!r} in {path}")
    if enabled is not None:
        person = replace(person, enabled=enabled)
    if password is not None:
        person = replace(person, password=hash_password(password))
    people.people[ident] = person
    people.save(path)
    return person
