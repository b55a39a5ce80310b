"""`crisis user add|list|disable|enable|password`: the people of the cell, roles and passwords."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from services.cell.people import People, PeopleFileError, Role, add_person, change_person
from services.cli.cell_client import fail, out, settings

user_app = typer.Typer(
    help="The people of the cell: roles and console passwords.", no_args_is_help=True
)

Ident = Annotated[str, typer.Argument(help="Identity, the actor of their events (op.dupont).")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def _password(from_stdin: bool, *, required: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        if required:
            raise fail("give the password with --password-stdin (no terminal to ask on)", 2)
        return None
    return str(
        typer.prompt("Password (12 characters at least)", hide_input=True, confirmation_prompt=True)
    )


@user_app.command("add")
def user_add(
    ident: Ident,
    role: Annotated[Role, typer.Option(help="operator, director, observer, reviewer or feed.")],
    name: Annotated[str, typer.Option(help="Full name and function.")] = "",
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option(help="No console login (acts from the command line only).")
    ] = False,
) -> None:
    """Add a person of the cell with their role (and a password to log in to the console)."""
    loaded = settings()
    password = None if no_password else _password(password_stdin, required=False)
    try:
        add_person(loaded.people_path, ident, role, name, password)
    except PeopleFileError as exc:
        raise fail(str(exc), 2) from None
    login = "with a console password" if password else "without a console password"
    out.print(f"{escape(ident)} added as {role.value}, {login}, to {loaded.people_path}")


@user_app.command("list")
def user_list() -> None:
    """The people of the cell and their roles."""
    loaded = settings()
    people = People.load(loaded.people_path).people
    if not people:
        out.print(f"nobody in {loaded.people_path}: `crisis user add IDENT --role ROLE`")
        return
    table = Table("identity", "role", "name", "enabled", "console login", "added")
    for p in people.values():
        table.add_row(
            escape(p.ident),
            p.role.value,
            escape(p.name),
            "yes" if p.enabled else "no",
            "yes" if p.password else "no",
            p.added_at,
        )
    out.print(table)


@user_app.command("disable")
def user_disable(ident: Ident) -> None:
    """Disable a person: they can no longer log in nor act."""
    _change(ident, enabled=False)


@user_app.command("enable")
def user_enable(ident: Ident) -> None:
    """Enable a disabled person again."""
    _change(ident, enabled=True)


@user_app.command("password")
def user_password(ident: Ident, password_stdin: PasswordStdin = False) -> None:
    """Set a person's console password."""
    _change(ident, password=_password(password_stdin, required=True))


def _change(ident: str, *, enabled: bool | None = None, password: str | None = None) -> None:
    loaded = settings()
    try:
        person = change_person(loaded.people_path, ident, enabled=enabled, password=password)
    except PeopleFileError as exc:
        raise fail(str(exc), 2) from None
    state = "enabled" if person.enabled else "disabled"
    out.print(f"{escape(ident)}: {state}{', password set' if password else ''}")
