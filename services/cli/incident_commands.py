"""`crisis incident attach`: an incident of the standing watch (or of another crisis) joins a
crisis, as an act of the person logged in, through the cell."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from schemas.envelope import STANDING_WATCH
from services.cli.cell_client import act

incident_app = typer.Typer(help="Acts on incidents.", no_args_is_help=True)
out = Console()


@incident_app.command("attach")
def attach(
    incident_id: Annotated[str, typer.Argument(help="The incident, as its picture shows it.")],
    to: Annotated[str, typer.Option("--to", help="The crisis it joins.")],
    from_crisis: Annotated[
        str, typer.Option("--from", help="The crisis it leaves (default: the standing watch).")
    ] = STANDING_WATCH,
    as_: Annotated[
        str | None, typer.Option("--as", help="Which of your sessions acts (`crisis login`).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why, in words.")] = None,
) -> None:
    """Attach an incident of the standing watch (or of another crisis) to a crisis."""
    command = {
        "act": "attach_incident",
        "crisis_id": to,
        "incident_id": incident_id,
        "from_crisis_id": from_crisis,
        "reason": reason,
    }
    act(as_, command)
    out.print(
        f"incident [bold]{escape(incident_id)}[/] handed over by {escape(from_crisis)} and "
        f"attached to [bold]{escape(to)}[/]"
    )
