"""The rule books: the plan rules of each département, from the package or CRISIS_PLANS_DIR.

The rules of the départements ship with crisis-cell (`services/plans/departements/`), found with
importlib.resources wherever `crisis` runs; CRISIS_PLANS_DIR names a folder used instead. A
crisis whose département has no rule book gets no proposal: that is said loudly, once per crisis,
since nothing else would show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import structlog

from services.plans.rules import RulesError, RuleSet, load_rules

log = structlog.get_logger(__name__)

PACKAGED_FOLDER = "departements"


def packaged_rules() -> Traversable:
    """The folder of the rule books that ship with crisis-cell."""
    return files("services.plans") / PACKAGED_FOLDER


def rules_folder(configured: Path | Traversable | None) -> Traversable:
    """The configured folder (CRISIS_PLANS_DIR), or the rule books that ship with crisis-cell."""
    return packaged_rules() if configured is None else configured


def rule_files(folder: Traversable) -> dict[str, Traversable]:
    """The rule books in a folder, by département (`<département>.toml`); none when the folder
    does not exist."""
    if not folder.is_dir():
        return {}
    found = (entry for entry in folder.iterdir() if entry.is_file())
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in sorted(found, key=lambda entry: entry.name)
        if entry.name.endswith(".toml")
    }


@dataclass(frozen=True)
class Loaded:
    """What a folder of rule books gave: the rules by département, and the files refused."""

    folder: Traversable
    sets: dict[str, RuleSet]
    refused: dict[str, str]


class RuleBook:
    """The rules of each département, each file read once."""

    def __init__(self, folder: Path | Traversable | None = None) -> None:
        self.folder = rules_folder(folder)
        self._sets: dict[str, RuleSet | None] = {}
        self._warned: set[str] = set()

    def load_all(self) -> Loaded:
        """Read every rule book of the folder now; log which were loaded, and which not."""
        refused: dict[str, str] = {}
        for departement, path in rule_files(self.folder).items():
            problem = self._load(departement, path)
            if problem:
                refused[departement] = problem
        sets = {d: rules for d, rules in sorted(self._sets.items()) if rules is not None}
        if sets:
            log.info(
                "plans.rules_loaded",
                folder=str(self.folder),
                departements=sorted(sets),
                rules=sum(len(rules.rules) for rules in sets.values()),
                sites=sum(len(rules.sites) for rules in sets.values()),
            )
        else:
            log.warning(
                "plans.no_rule_books",
                folder=str(self.folder),
                hint="no plan will be proposed: set CRISIS_PLANS_DIR to a folder of "
                "<département>.toml files, or unset it for the rules that ship with crisis-cell",
            )
        return Loaded(self.folder, sets, refused)

    def of(self, departement: str | None) -> RuleSet | None:
        """The rules of a département, or None when it has no file (or a broken one, logged)."""
        if departement is None:
            return None
        if departement not in self._sets:
            path = self.folder / f"{departement}.toml"
            if path.is_file():
                self._load(departement, path)
            else:
                self._sets[departement] = None
        return self._sets[departement]

    def warn_missing(self, crisis_id: str, departement: str | None) -> None:
        """Say, once per crisis, that its département has no rules, so it gets no proposal."""
        if crisis_id in self._warned:
            return
        self._warned.add(crisis_id)
        log.warning(
            "plans.no_rules",
            crisis_id=crisis_id,
            departement=departement,
            folder=str(self.folder),
            hint=f"no plan or posture will be proposed for this crisis: write {departement}.toml "
            "in that folder (or point CRISIS_PLANS_DIR at one that has it)",
        )

    def _load(self, departement: str, path: Traversable) -> str:
        """Read one file; the problem when it cannot be used (logged), else ""."""
        try:
            self._sets[departement] = load_rules(path)
        except (RulesError, OSError) as exc:
            # The reason is the whole story (file, rule, field): no traceback to add to it.
            log.error("plans.rules_unreadable", file=str(path), error=str(exc))  # noqa: TRY400
            self._sets[departement] = None
            return str(exc)
        return ""
