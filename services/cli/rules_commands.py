"""`crisis plan rules`: the rule books the plans service reads, and whether each can be used."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from services.cli.cell_client import fail, out, settings
from services.plans.books import rule_files, rules_folder
from services.plans.rules import PlanAction, RulesError, RuleSet, load_rules


def plan_rules(
    departement: Annotated[
        str | None, typer.Option(help="Only this département, with each of its rules.")
    ] = None,
) -> None:
    """The plan rule books: the folder (shipped with crisis-cell, or CRISIS_PLANS_DIR), and each
    département's rules and PPI sites; exit 1 when there is none, or one cannot be used."""
    loaded = settings()
    folder = rules_folder(loaded.plans_dir)
    origin = "CRISIS_PLANS_DIR" if loaded.plans_dir is not None else "shipped with crisis-cell"
    out.print(f"rule books in {escape(str(folder))} ({origin})", soft_wrap=True)
    books = rule_files(folder)
    if departement is not None:
        books = {d: path for d, path in books.items() if d == departement}
    if not books:
        which = f"{departement}.toml" if departement else "<département>.toml"
        raise fail(f"no rule book ({which}) in {folder}: the plans service proposes nothing")
    table = Table("département", "rules", "PPI sites", "problem")
    broken = 0
    for name, path in books.items():
        try:
            rules = load_rules(path)
        except (RulesError, OSError) as exc:
            broken += 1
            table.add_row(name, "—", "—", f"[red]{escape(str(exc))}[/]")
            continue
        table.add_row(name, str(len(rules.rules)), str(len(rules.sites)), "")
        if departement is not None:
            out.print(table)
            out.print(_rules_table(rules))
            return
    out.print(table)
    if broken:
        raise typer.Exit(1)


def _rules_table(rules: RuleSet) -> Table:
    table = Table("rule", "proposes", "description", title=f"rules of {rules.departement}")
    for rule in rules.rules:
        action = rule.propose
        if isinstance(action.plan, PlanAction):
            proposes = action.plan.plan_code
        elif action.vigipirate is not None:
            proposes = f"Vigipirate {action.vigipirate.posture.value}"
        else:
            proposes = "the PPI of each site hit"
        table.add_row(rule.id, escape(proposes), escape(rule.description.strip().splitlines()[0]))
    return table
