"""Plans: declarative rules on the picture that propose ORSEC plans and Vigipirate postures.

The rules of a département are read from its `<département>.toml` (`load_rules`), shipped in
services/plans/departements or in the folder CRISIS_PLANS_DIR names (`books`);
`evaluate` gives the proposals the picture calls for, `proposal_events` the events that carry
them. Proposals only: a person with the director role activates a plan.
"""

from services.plans.conditions import BilanCondition, PpiSite, VigilanceCondition, When
from services.plans.rules import (
    PlanAction,
    Proposal,
    Propose,
    Rule,
    RulesError,
    RuleSet,
    VigipirateAction,
    evaluate,
    load_rules,
    proposal_event_id,
    proposal_events,
)

__all__ = [
    "BilanCondition",
    "PlanAction",
    "PpiSite",
    "Proposal",
    "Propose",
    "Rule",
    "RuleSet",
    "RulesError",
    "VigilanceCondition",
    "VigipirateAction",
    "When",
    "evaluate",
    "load_rules",
    "proposal_event_id",
    "proposal_events",
]
