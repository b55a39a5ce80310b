"""Declarative rules that propose ORSEC plans and Vigipirate postures from the picture.

A département's rules are a TOML file (`<département>.toml`, shipped in services/plans/departements
with its README, or in the folder CRISIS_PLANS_DIR names; services/plans/books.py): each rule
has conditions (`when`, services/plans/conditions.py) and one action (`propose`). `evaluate` says
what the picture calls for now; `proposal_events` turns that into events with ids derived from
the crisis, the rule and the plan or posture, so that a proposal made again is dropped as a
duplicate by JetStream and the log. Only a person with the director role activates a plan.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Self
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from schemas.envelope import Envelope, Status
from schemas.events.plans import PlanActivationProposed, VigipiratePostureProposed
from schemas.types import Departement, ShortText, Text, Token
from schemas.values import PlanCategory, VigipiratePosture
from services.picture.fold import Picture
from services.plans.conditions import Hit, PpiSite, When, hits

# Namespace of the proposal event ids: uuid5(namespace, "<crisis>/<rule>/<plan code or posture>").
PROPOSAL_NAMESPACE = uuid5(NAMESPACE_URL, "urn:crisis-cell:plans:proposal")

POSTURE_RANK = {
    VigipiratePosture.VIGILANCE: 0,
    VigipiratePosture.SECURITE_RENFORCEE_RISQUE_ATTENTAT: 1,
    VigipiratePosture.URGENCE_ATTENTAT: 2,
}
# A plan in one of these states has been handled by the authority, or is before it: a rule never
# proposes it again (a deactivated plan stays deactivated until a person proposes it).
HANDLED_PLAN_STATES = frozenset({"proposed", "active", "deactivated"})


class RulesError(ValueError):
    """A rules file that cannot be used, with what is wrong and where."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanAction(_Model):
    """Propose the activation of an ORSEC plan."""

    plan_code: Token
    plan_name: ShortText
    category: PlanCategory


class VigipirateAction(_Model):
    """Propose a Vigipirate posture."""

    posture: VigipiratePosture
    scope: ShortText | None = None


class Propose(_Model):
    """What a rule proposes: a plan, a posture, or the PPI of each site hit (`site_ppi`)."""

    plan: PlanAction | None = None
    vigipirate: VigipirateAction | None = None
    site_ppi: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> Self:
        given = [self.plan is not None, self.vigipirate is not None, self.site_ppi]
        if sum(given) != 1:
            raise ValueError("propose needs exactly one of plan, vigipirate or site_ppi = true")
        return self


class Rule(_Model):
    """One rule: when its conditions hold, it proposes its action."""

    id: Token
    description: Text
    when: When
    propose: Propose

    @model_validator(mode="after")
    def _site_ppi_needs_sites(self) -> Self:
        if self.propose.site_ppi and not self.when.on_ppi_site:
            raise ValueError("propose.site_ppi needs when.on_ppi_site = true")
        return self


class RuleSet(_Model):
    """A département's rules, in the order they are tried, and its PPI sites."""

    departement: Departement
    sites: tuple[PpiSite, ...] = ()
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.rules:
            raise ValueError("a rules file needs at least one [[rules]]")
        for what, values in (
            ("rule id", [rule.id for rule in self.rules]),
            ("site id", [site.id for site in self.sites]),
            ("site plan_code", [site.plan_code for site in self.sites]),
        ):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{what} given more than once: {', '.join(twice)}")
        if not self.sites and any(rule.when.on_ppi_site for rule in self.rules):
            raise ValueError("a rule uses on_ppi_site but the file has no [[sites]]")
        return self


class Proposal(_Model):
    """What one rule proposes now, why, and on which incidents."""

    rule_id: str
    action: PlanAction | VigipirateAction
    reason: str
    incident_ids: tuple[str, ...]

    @property
    def key(self) -> str:
        """What is proposed: the plan code, or the posture."""
        if isinstance(self.action, PlanAction):
            return self.action.plan_code
        return self.action.posture.value


def evaluate(picture: Picture, rules: RuleSet) -> list[Proposal]:
    """Every proposal the picture calls for now, in the order of the rules (then of the sites).

    Skipped: a plan already proposed, active or deactivated; a posture at or below the one in
    place or the one last proposed. When several rules propose the same plan, or a posture, the
    first in the file speaks (the picture then holds the proposal, so the others stay silent)."""
    proposals: list[Proposal] = []
    for rule in rules.rules:
        found = hits(picture, rule.when, rules.sites)
        if len(found) > 1 and not rule.propose.site_ppi:
            found = [_merged(found)]  # a plan or a posture is proposed once, for every site hit
        for hit in found:
            action = _action(rule, hit)
            if _handled(picture, action) or any(_same(action, p.action) for p in proposals):
                continue
            proposals.append(
                Proposal(
                    rule_id=rule.id,
                    action=action,
                    reason=_sentence(hit.reasons),
                    incident_ids=hit.incident_ids,
                )
            )
    return proposals


def _merged(found: list[Hit]) -> Hit:
    """One hit for several sites: each site's incidents, then the picture-wide reasons once."""
    ids = sorted({incident_id for hit in found for incident_id in hit.incident_ids})
    return Hit((*(hit.reasons[0] for hit in found), *found[0].reasons[1:]), tuple(ids))


def _action(rule: Rule, hit: Hit) -> PlanAction | VigipirateAction:
    if rule.propose.plan is not None:
        return rule.propose.plan
    if rule.propose.vigipirate is not None:
        return rule.propose.vigipirate
    assert hit.site is not None  # noqa: S101 (site_ppi needs on_ppi_site, whose hits name a site)
    return PlanAction(
        plan_code=hit.site.plan_code,
        plan_name=hit.site.ppi_name,
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
    )


def _same(a: PlanAction | VigipirateAction, b: PlanAction | VigipirateAction) -> bool:
    if isinstance(a, PlanAction):
        return isinstance(b, PlanAction) and a.plan_code == b.plan_code
    return isinstance(b, VigipirateAction)


def _handled(picture: Picture, action: PlanAction | VigipirateAction) -> bool:
    if isinstance(action, PlanAction):
        plan = picture["plans"].get(action.plan_code)
        return plan is not None and plan.get("state") in HANDLED_PLAN_STATES
    wanted = POSTURE_RANK[action.posture]
    for known in (picture.get("vigipirate"), picture.get("vigipirate_proposed")):
        posture = known.get("posture") if known else None
        if posture in POSTURE_RANK and POSTURE_RANK[VigipiratePosture(posture)] >= wanted:
            return True
    return False


def _sentence(reasons: Sequence[str]) -> str:
    said = " ; ".join(reasons)
    return said[:1].upper() + said[1:] + "."


def proposal_event_id(crisis_id: str, proposal: Proposal) -> UUID:
    """The id of a proposal's event: the same for the same crisis, rule and plan or posture."""
    return uuid5(PROPOSAL_NAMESPACE, f"{crisis_id}/{proposal.rule_id}/{proposal.key}")


def proposal_events(
    proposals: Iterable[Proposal],
    *,
    crisis_id: str,
    status: Status,
    now: datetime,
    source: str = "plans",
    actor: str = "service:plans",
) -> list[Envelope]:
    """The events that publish the proposals, with stable event ids, occurring `now`."""
    events: list[Envelope] = []
    for proposal in proposals:
        envelope: dict[str, Any] = {
            "event_id": proposal_event_id(crisis_id, proposal),
            "crisis_id": crisis_id,
            "occurred_at": now,
            "received_at": now,
            "source": source,
            "actor": actor,
            "status": status,
            "rule": proposal.rule_id,
            "reason": proposal.reason,
            "incident_ids": list(proposal.incident_ids),
        }
        fields = {**envelope, **proposal.action.model_dump()}
        if isinstance(proposal.action, PlanAction):
            events.append(PlanActivationProposed.model_validate(fields))
        else:
            events.append(VigipiratePostureProposed.model_validate(fields))
    return events


def load_rules(path: str | Path | Traversable) -> RuleSet:
    """A département's rules from a TOML file; RulesError says what is wrong, and where.

    A file that cannot be opened raises the OSError of `open`."""
    source = Path(path) if isinstance(path, str) else path
    try:
        with source.open("rb") as file:
            data = tomllib.load(file)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  - {_where(data, e['loc'])}: {_what(e)}" for e in exc.errors())
        raise RulesError(f"{path}: {exc.error_count()} problem(s):\n{problems}") from None


# Known names, said when an unknown one is met under the table of that name ("" for the top).
_KNOWN: dict[str, tuple[str, ...]] = {
    "": tuple(RuleSet.model_fields),
    "rules": tuple(Rule.model_fields),
    "sites": tuple(PpiSite.model_fields),
    "when": tuple(When.model_fields),
    "propose": tuple(Propose.model_fields),
    "plan": tuple(PlanAction.model_fields),
    "vigipirate": tuple(VigipirateAction.model_fields),
}


def _where(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """'rule <id> (rules[2]), when.vigilance.min_colour', from a pydantic error location."""
    if len(loc) >= 2 and loc[0] in ("rules", "sites") and isinstance(loc[1], int):
        items = data.get(loc[0])
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        name = item.get("id") if isinstance(item, dict) else None
        what = "rule" if loc[0] == "rules" else "site"
        said = f"{what} {name!r} ({loc[0]}[{loc[1]}])" if name else f"{loc[0]}[{loc[1]}]"
        rest = ".".join(str(part) for part in loc[2:])
        return f"{said}, {rest}" if rest else said
    return ".".join(str(part) for part in loc) or "file"


def _what(error: Any) -> str:
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        parent = next((part for part in reversed(loc[:-1]) if isinstance(part, str)), "")
        known = _KNOWN.get(parent)
        what = "condition" if parent == "when" else "field"
        return f"unknown {what} {loc[-1]!r}" + (f" (known: {', '.join(known)})" if known else "")
    return str(error["msg"]).removeprefix("Value error, ")
