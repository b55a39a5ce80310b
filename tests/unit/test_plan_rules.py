"""Plan rules: the 06 rules on pictures folded from events, geometry, dedup and rule files."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import orjson
import pytest
from nats.js import JetStreamContext
from nats.js.api import PubAck

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CrisisOpened,
    IncidentClosed,
    IncidentReported,
    PlanActivated,
    PlanActivationProposed,
    PlanDeactivated,
    VigilanceChanged,
    VigipirateChanged,
    VigipiratePostureProposed,
)
from schemas.values import Circle, GeoPoint, Polygon
from schemas.wire import encode
from services.picture.fold import Picture, fold, new_picture
from services.plans import (
    Proposal,
    RulesError,
    RuleSet,
    evaluate,
    load_rules,
    proposal_event_id,
    proposal_events,
)
from services.plans.app import Proposer, RuleBook
from services.plans.geometry import haversine_km, meet, point_in_circle, point_in_polygon
from tests.unit.samples import sample_event

pytestmark = pytest.mark.unit

RULES_06 = Path(__file__).resolve().parents[2] / "services" / "plans" / "departements" / "06.toml"
CRISIS = "alex-06-2020"
T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)
NOW = datetime(2020, 10, 2, 18, 0, tzinfo=UTC)

NICE_CENTRE: dict[str, Any] = {
    "description": "Nice, place Masséna",
    "point": {"lat": 43.6975, "lon": 7.2700},
    "insee_codes": ["06088"],
}
NICE_PORT_DEPOT: dict[str, Any] = {"point": {"lat": 43.6950, "lon": 7.2870}}
CARROS_DEPOT: dict[str, Any] = {
    "circles": [{"center": {"lat": 43.7870, "lon": 7.2010}, "radius_km": 0.1}]
}
MONTAUROUX_ONLY: dict[str, Any] = {"description": "Montauroux", "insee_codes": ["83081"]}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The real rules of the Alpes-Maritimes."""
    return load_rules(RULES_06)


# -- building pictures ---------------------------------------------------------------------------


def _folded(*events: Envelope) -> Picture:
    picture = new_picture(CRISIS)
    for event in events:
        position = picture["position"] + 1
        recorded_at = (T0 + timedelta(minutes=position)).isoformat()
        fold(picture, orjson.loads(encode(event)), position, recorded_at)
    return picture


def _incident(
    incident_id: str, kind: str, severity: str = "severe", location: dict[str, Any] | None = None
) -> IncidentReported:
    return sample_event(
        IncidentReported,
        event_id=uuid4(),
        incident_id=incident_id,
        kind=kind,
        severity=severity,
        location=location or NICE_CENTRE,
    )


def _vigilance(phenomenon: str, colour: str) -> VigilanceChanged:
    return sample_event(VigilanceChanged, event_id=uuid4(), phenomenon=phenomenon, colour=colour)


def _bilan(**figures: int) -> BilanAssessed:
    return sample_event(BilanAssessed, event_id=uuid4(), incident_id=None, figures=figures)


def _proposed(picture: Picture, rules: RuleSet) -> list[tuple[str, str]]:
    return [(p.rule_id, p.key) for p in evaluate(picture, rules)]


# -- each rule of the 06, firing and not ---------------------------------------------------------

FIRING: dict[str, tuple[list[Envelope], list[tuple[str, str]]]] = {
    "attentat-vigipirate-urgence": (
        [_incident("inc-1", "attentat")],
        [("attentat-vigipirate-urgence", "urgence_attentat"), ("attentat-novi", "novi")],
    ),
    # With the posture already at urgence attentat, NOVI alone is left to propose.
    "attentat-novi": (
        [
            sample_event(VigipirateChanged, event_id=uuid4(), posture="urgence_attentat"),
            _incident("inc-1", "attentat"),
        ],
        [("attentat-novi", "novi")],
    ),
    "novi-nombreuses-victimes": (
        [_bilan(urgences_absolues=4, urgences_relatives=6)],
        [("novi-nombreuses-victimes", "novi")],
    ),
    "inondation-vigilance-rouge": (
        [_incident("inc-1", "inondation"), _vigilance("pluie_inondation", "rouge")],
        [("inondation-vigilance-rouge", "orsec-inondation")],
    ),
    "soutien-des-populations": (
        [_bilan(evacues=60, heberges=40)],
        [("soutien-des-populations", "orsec-soutien-populations")],
    ),
    "feux-de-foret-grave": (
        [_incident("inc-1", "feu_de_foret", "severe")],
        [("feux-de-foret-grave", "orsec-feux-de-foret")],
    ),
    "canicule-vigilance-rouge": (
        [_incident("inc-1", "canicule"), _vigilance("canicule", "rouge")],
        [("canicule-vigilance-rouge", "orsec-canicule")],
    ),
    "incident-sur-site-ppi": (
        [_incident("inc-1", "accident_industriel", location=NICE_PORT_DEPOT)],
        [("incident-sur-site-ppi", "ppi-depot-port-nice")],
    ),
}

NOT_FIRING: dict[str, list[Envelope]] = {
    "attentat-vigipirate-urgence": [_incident("inc-1", "ordre_public")],
    "attentat-novi": [
        _incident("inc-1", "attentat"),
        sample_event(IncidentClosed, event_id=uuid4(), incident_id="inc-1"),
    ],
    "novi-nombreuses-victimes": [_bilan(urgences_absolues=4, urgences_relatives=5, impliques=40)],
    "inondation-vigilance-rouge": [
        _incident("inc-1", "inondation"),
        _vigilance("pluie_inondation", "orange"),
        _vigilance("orages", "rouge"),
    ],
    "soutien-des-populations": [_bilan(evacues=60, heberges=39, mis_a_l_abri=500)],
    "feux-de-foret-grave": [
        _incident("inc-1", "feu_de_foret", "moderate"),
        _incident("inc-2", "feu_de_foret", "unknown"),
        _incident("inc-3", "feu", "extreme"),
    ],
    "canicule-vigilance-rouge": [_incident("inc-1", "canicule"), _vigilance("canicule", "orange")],
    "incident-sur-site-ppi": [_incident("inc-1", "accident_industriel", location=NICE_CENTRE)],
}


def test_every_rule_of_the_06_has_a_firing_and_a_silent_case(rules: RuleSet) -> None:
    assert sorted(rule.id for rule in rules.rules) == sorted(FIRING) == sorted(NOT_FIRING)


@pytest.mark.parametrize("rule_id", sorted(FIRING))
def test_each_06_rule_fires_on_a_picture_that_meets_its_conditions(
    rules: RuleSet, rule_id: str
) -> None:
    events, expected = FIRING[rule_id]
    assert _proposed(_folded(*events), rules) == expected


@pytest.mark.parametrize("rule_id", sorted(NOT_FIRING))
def test_each_06_rule_stays_silent_when_a_condition_is_missing(
    rules: RuleSet, rule_id: str
) -> None:
    assert _proposed(_folded(*NOT_FIRING[rule_id]), rules) == []


def test_flood_vigilance_from_vigicrues_counts_as_much_as_rain_flood(rules: RuleSet) -> None:
    picture = _folded(_incident("inc-1", "inondation"), _vigilance("inondation", "rouge"))
    assert _proposed(picture, rules) == [("inondation-vigilance-rouge", "orsec-inondation")]


def test_a_flood_without_any_red_vigilance_is_not_enough(rules: RuleSet) -> None:
    assert _proposed(_folded(_incident("inc-1", "inondation", "extreme")), rules) == []


def test_a_red_vigilance_without_a_flood_incident_is_not_enough(rules: RuleSet) -> None:
    assert _proposed(_folded(_vigilance("pluie_inondation", "rouge")), rules) == []


def test_the_reason_says_which_incidents_colours_and_figures(rules: RuleSet) -> None:
    picture = _folded(
        _incident("inc-2", "inondation", "extreme"),
        _incident("inc-1", "inondation", "severe"),
        _vigilance("pluie_inondation", "rouge"),
        _bilan(urgences_absolues=3, urgences_relatives=9),
    )
    by_rule = {p.rule_id: p for p in evaluate(picture, rules)}
    flood = by_rule["inondation-vigilance-rouge"]
    assert flood.incident_ids == ("inc-1", "inc-2")
    assert flood.reason == (
        "2 incidents ouverts : inc-1 (inondation, gravité grave), "
        "inc-2 (inondation, gravité extrême) ; vigilance rouge pluie-inondation."
    )
    novi = by_rule["novi-nombreuses-victimes"]
    assert novi.reason == "Bilan UA 3 + UR 9 = 12 (seuil 10)."
    assert novi.incident_ids == ()


def test_a_ppi_reason_names_the_site_and_its_operator(rules: RuleSet) -> None:
    picture = _folded(_incident("inc-7", "tmd", location=CARROS_DEPOT))
    [proposal] = evaluate(picture, rules)
    assert proposal.key == "ppi-gpl-carros"
    assert "Dépôt de gaz liquéfiés (GPL) de Carros" in proposal.reason
    assert proposal.action.model_dump()["category"] == "dispositions_specifiques"
    assert proposal.incident_ids == ("inc-7",)


def test_an_incident_known_only_by_its_commune_hits_a_site_listing_that_commune(
    rules: RuleSet,
) -> None:
    picture = _folded(_incident("inc-1", "seisme", location=MONTAUROUX_ONLY))
    assert _proposed(picture, rules) == [("incident-sur-site-ppi", "ppi-barrage-saint-cassien")]


def test_a_point_elsewhere_in_a_listed_commune_does_not_hit_the_site(rules: RuleSet) -> None:
    # Geometry speaks when both sides have some: a shared commune is then not enough.
    elsewhere = {"point": {"lat": 43.60, "lon": 6.86}, "insee_codes": ["83081"]}
    assert _proposed(_folded(_incident("inc-1", "seisme", location=elsewhere)), rules) == []


def test_one_ppi_proposal_per_site_hit_in_the_order_of_the_sites(rules: RuleSet) -> None:
    picture = _folded(
        _incident("inc-2", "accident_industriel", location=CARROS_DEPOT),
        _incident("inc-1", "pollution", location=NICE_PORT_DEPOT),
        _incident(
            "inc-3",
            "inondation",
            location={"circles": [{"center": {"lat": 43.5700, "lon": 6.7900}, "radius_km": 0.5}]},
        ),
    )
    assert [(p.key, p.incident_ids) for p in evaluate(picture, rules)] == [
        ("ppi-depot-port-nice", ("inc-1",)),
        ("ppi-barrage-saint-cassien", ("inc-3",)),
        ("ppi-gpl-carros", ("inc-2",)),
    ]


def test_when_two_rules_propose_the_same_plan_the_first_in_the_file_speaks(
    rules: RuleSet,
) -> None:
    picture = _folded(
        sample_event(VigipirateChanged, posture="urgence_attentat"),
        _incident("inc-1", "attentat"),
        _bilan(urgences_absolues=8, urgences_relatives=20),
    )
    assert _proposed(picture, rules) == [("attentat-novi", "novi")]


# -- what the authority already handled ----------------------------------------------------------

FLOOD = [_incident("inc-1", "inondation"), _vigilance("pluie_inondation", "rouge")]
PLAN_FIELDS = {"plan_code": "orsec-inondation"}


@pytest.mark.parametrize(
    "handled",
    [
        sample_event(PlanActivationProposed, event_id=uuid4(), rule=None, **PLAN_FIELDS),
        sample_event(PlanActivated, event_id=uuid4(), **PLAN_FIELDS),
        sample_event(PlanDeactivated, event_id=uuid4(), **PLAN_FIELDS),
    ],
    ids=["proposed", "active", "deactivated"],
)
def test_a_plan_already_proposed_active_or_deactivated_is_not_proposed_again(
    rules: RuleSet, handled: Envelope
) -> None:
    assert _proposed(_folded(*FLOOD, handled), rules) == []


def test_a_posture_already_in_place_or_higher_is_not_proposed(rules: RuleSet) -> None:
    in_place = sample_event(VigipirateChanged, event_id=uuid4(), posture="urgence_attentat")
    proposed = sample_event(VigipiratePostureProposed, event_id=uuid4())
    attack = _incident("inc-1", "attentat")
    assert ("attentat-vigipirate-urgence", "urgence_attentat") not in _proposed(
        _folded(in_place, attack), rules
    )
    assert ("attentat-vigipirate-urgence", "urgence_attentat") not in _proposed(
        _folded(proposed, attack), rules
    )


def test_a_posture_higher_than_the_one_in_place_is_proposed(rules: RuleSet) -> None:
    lower = sample_event(
        VigipirateChanged, event_id=uuid4(), posture="securite_renforcee_risque_attentat"
    )
    picture = _folded(lower, _incident("inc-1", "attentat"))
    assert ("attentat-vigipirate-urgence", "urgence_attentat") in _proposed(picture, rules)


def test_once_its_proposals_are_folded_the_picture_calls_for_nothing_more(
    rules: RuleSet,
) -> None:
    picture = _folded(
        _incident("inc-9", "attentat"), *FLOOD, _bilan(evacues=150), _vigilance("canicule", "rouge")
    )
    proposals = evaluate(picture, rules)
    assert len(proposals) == 4
    events = proposal_events(proposals, crisis_id=CRISIS, status=Status.ACTUAL, now=NOW)
    for event in events:
        position = picture["position"] + 1
        fold(picture, orjson.loads(encode(event)), position, NOW.isoformat())
    assert evaluate(picture, rules) == []
    assert picture["plans"]["novi"]["state"] == "proposed"
    assert picture["vigipirate_proposed"]["posture"] == "urgence_attentat"


# -- determinism and stable ids ------------------------------------------------------------------


def test_evaluation_is_deterministic_whatever_the_order_incidents_arrived_in(
    rules: RuleSet,
) -> None:
    a = _incident("inc-a", "feu_de_foret", "extreme")
    b = _incident("inc-b", "feu_de_foret", "severe")
    c = _incident("inc-c", "accident_industriel", location=NICE_PORT_DEPOT)
    one, other = _folded(a, b, c), _folded(c, b, a)
    assert evaluate(one, rules) == evaluate(one, rules) == evaluate(other, rules)


def test_proposal_event_ids_depend_on_crisis_rule_and_plan_only(rules: RuleSet) -> None:
    proposals = evaluate(_folded(_incident("inc-1", "attentat")), rules)
    first = proposal_events(proposals, crisis_id=CRISIS, status=Status.ACTUAL, now=NOW)
    later = proposal_events(
        evaluate(_folded(_incident("inc-1", "attentat"), _incident("inc-2", "attentat")), rules),
        crisis_id=CRISIS,
        status=Status.ACTUAL,
        now=NOW + timedelta(minutes=5),
    )
    elsewhere = proposal_events(proposals, crisis_id="other-06", status=Status.ACTUAL, now=NOW)
    assert [e.event_id for e in first] == [e.event_id for e in later]
    assert [e.event_id for e in first] == [proposal_event_id(CRISIS, p) for p in proposals]
    assert not {e.event_id for e in first} & {e.event_id for e in elsewhere}
    assert len({e.event_id for e in first}) == 2


def test_proposal_events_carry_the_rule_reason_incidents_status_and_time(
    rules: RuleSet,
) -> None:
    proposals = evaluate(_folded(_incident("inc-1", "attentat")), rules)
    posture, plan = proposal_events(proposals, crisis_id=CRISIS, status=Status.EXERCISE, now=NOW)
    assert isinstance(posture, VigipiratePostureProposed)
    assert (posture.posture, posture.scope) == ("urgence_attentat", "Alpes-Maritimes")
    assert isinstance(plan, PlanActivationProposed)
    assert (plan.plan_code, plan.plan_name, plan.category) == (
        "novi",
        "ORSEC NOVI - nombreuses victimes",
        "dispositions_generales",
    )
    assert plan.rule == "attentat-novi"
    assert plan.incident_ids == ["inc-1"]
    assert plan.reason.startswith("Incident ouvert inc-1 (attentat")
    assert plan.occurred_at == plan.received_at == NOW
    assert (plan.status, plan.source, plan.actor) == (Status.EXERCISE, "plans", "service:plans")


# -- geometry ------------------------------------------------------------------------------------


def _ring(*points: tuple[float, float]) -> Polygon:
    ring = [GeoPoint(lat=lat, lon=lon) for lat, lon in points]
    return Polygon(points=[*ring, ring[0]])


SQUARE = _ring((43.0, 7.0), (43.0, 7.1), (43.1, 7.1), (43.1, 7.0))
# A "U" opening north: its notch between lon 7.03 and 7.07 above lat 43.03 is outside.
U_SHAPE = _ring(
    (43.0, 7.0),
    (43.0, 7.1),
    (43.1, 7.1),
    (43.1, 7.07),
    (43.03, 7.07),
    (43.03, 7.03),
    (43.1, 7.03),
    (43.1, 7.0),
)


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [
        (43.05, 7.05, True),
        (43.15, 7.05, False),
        (43.05, 7.15, False),
        (42.95, 6.95, False),
    ],
)
def test_a_point_is_inside_a_square_ring_only_within_its_sides(
    lat: float, lon: float, inside: bool
) -> None:
    assert point_in_polygon(GeoPoint(lat=lat, lon=lon), SQUARE) is inside


def test_a_point_in_the_notch_of_a_concave_ring_is_outside_and_beside_it_inside() -> None:
    assert not point_in_polygon(GeoPoint(lat=43.06, lon=7.05), U_SHAPE)
    assert point_in_polygon(GeoPoint(lat=43.06, lon=7.01), U_SHAPE)
    assert point_in_polygon(GeoPoint(lat=43.01, lon=7.05), U_SHAPE)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    distance = haversine_km(GeoPoint(lat=43.0, lon=7.0), GeoPoint(lat=44.0, lon=7.0))
    assert distance == pytest.approx(111.2, abs=0.1)


def test_a_point_is_in_a_circle_up_to_its_radius_by_great_circle_distance() -> None:
    circle = Circle(center=GeoPoint(lat=43.0, lon=7.0), radius_km=1.0)
    assert point_in_circle(GeoPoint(lat=43.0085, lon=7.0), circle)  # about 0.95 km north
    assert not point_in_circle(GeoPoint(lat=43.0095, lon=7.0), circle)  # about 1.06 km
    # A degree of longitude is shorter than one of latitude at 43°N: 0.012° is about 0.98 km.
    assert point_in_circle(GeoPoint(lat=43.0, lon=7.012), circle)


def test_areas_meet_when_a_vertex_or_a_centre_falls_inside_the_other() -> None:
    near = Circle(center=GeoPoint(lat=43.05, lon=7.15), radius_km=7.5)
    far = Circle(center=GeoPoint(lat=43.05, lon=7.5), radius_km=5.0)
    overlapping = _ring((43.05, 7.05), (43.05, 7.2), (43.2, 7.2), (43.2, 7.05))
    disjoint = _ring((44.0, 8.0), (44.0, 8.1), (44.1, 8.1), (44.1, 8.0))
    assert meet(SQUARE, overlapping)
    assert meet(overlapping, SQUARE)
    assert not meet(SQUARE, disjoint)
    assert meet(SQUARE, near)
    assert meet(near, SQUARE)
    assert not meet(SQUARE, far)
    assert meet(near, Circle(center=GeoPoint(lat=43.05, lon=7.25), radius_km=4.0))
    assert not meet(near, far)
    assert meet(Circle(center=GeoPoint(lat=43.05, lon=7.05), radius_km=0.1), SQUARE)


# -- rule files ----------------------------------------------------------------------------------


def test_the_06_rules_load_with_their_sites(rules: RuleSet) -> None:
    assert rules.departement == "06"
    assert [site.plan_code for site in rules.sites] == [
        "ppi-depot-port-nice",
        "ppi-barrage-saint-cassien",
        "ppi-gpl-carros",
    ]
    assert all(rule.description for rule in rules.rules)


RULE = """
departement = "06"

[[rules]]
id = "inondation"
description = "Une inondation."
[rules.when]
{when}
[rules.propose.plan]
plan_code = "orsec-inondation"
plan_name = "ORSEC inondation"
category = "{category}"
"""


def _load(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "99.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


def test_a_file_that_is_not_toml_is_refused_as_such(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"99\.toml: not valid TOML: .*line 1"):
        _load(tmp_path, "departement = \n")


def test_an_unknown_condition_is_refused_naming_the_rule_and_the_known_ones(
    tmp_path: Path,
) -> None:
    text = RULE.format(when='incident_kind = ["inondation"]', category="dispositions_specifiques")
    with pytest.raises(RulesError) as raised:
        _load(tmp_path, text)
    message = str(raised.value)
    assert "rule 'inondation' (rules[0]), when.incident_kind" in message
    assert "unknown condition 'incident_kind' (known: incident_kinds, min_severity" in message


def test_an_unknown_plan_category_is_refused_naming_the_rule_and_field(tmp_path: Path) -> None:
    text = RULE.format(when='incident_kinds = ["inondation"]', category="dispositions_locales")
    with pytest.raises(RulesError) as raised:
        _load(tmp_path, text)
    assert (
        "rule 'inondation' (rules[0]), propose.plan.category: "
        "Input should be 'dispositions_generales' or 'dispositions_specifiques'"
    ) in str(raised.value)


@pytest.mark.parametrize(
    ("when", "said"),
    [
        ("", "a rule needs at least one condition"),
        ('min_severity = "unknown"', "unknown never qualifies"),
        ('bilan_at_least = { figures = ["blesses"], total = 3 }', "unknown figures ['blesses']"),
        ('vigilance = { phenomena = ["pluie_inondation"], min_colour = "violet" }', "min_colour"),
        ("on_ppi_site = true", "a rule uses on_ppi_site but the file has no [[sites]]"),
    ],
)
def test_conditions_that_cannot_work_are_refused_with_a_reason(
    tmp_path: Path, when: str, said: str
) -> None:
    with pytest.raises(RulesError) as raised:
        _load(tmp_path, RULE.format(when=when, category="dispositions_specifiques"))
    assert said in str(raised.value)


def test_two_rules_with_one_id_are_refused(tmp_path: Path) -> None:
    one = RULE.format(when='incident_kinds = ["inondation"]', category="dispositions_specifiques")
    with pytest.raises(RulesError, match="rule id given more than once: inondation"):
        _load(tmp_path, one + one.replace('departement = "06"', ""))


def test_a_site_ppi_proposal_without_the_on_ppi_site_condition_is_refused(
    tmp_path: Path,
) -> None:
    text = """
departement = "06"

[[rules]]
id = "ppi"
description = "Le PPI du site."
[rules.when]
incident_kinds = ["seveso"]
[rules.propose]
site_ppi = true
"""
    with pytest.raises(RulesError, match=r"rule 'ppi' \(rules\[0\]\): propose.site_ppi needs"):
        _load(tmp_path, text)


def test_a_rule_proposing_both_a_plan_and_a_posture_is_refused(tmp_path: Path) -> None:
    text = RULE.format(when='incident_kinds = ["attentat"]', category="dispositions_generales")
    text += '[rules.propose.vigipirate]\nposture = "urgence_attentat"\n'
    with pytest.raises(RulesError, match=r"rules\[0\]\), propose: propose needs exactly one"):
        _load(tmp_path, text)


def test_a_site_with_nowhere_is_refused_naming_the_site(tmp_path: Path) -> None:
    text = (
        RULE.format(when="on_ppi_site = true", category="dispositions_specifiques")
        + """
[[sites]]
id = "nulle-part"
name = "Site sans lieu"
operator = "Exploitant"
kind = "barrage"
plan_code = "ppi-nulle-part"
"""
    )
    with pytest.raises(
        RulesError, match=r"site 'nulle-part' \(sites\[0\]\): a site needs a polygon"
    ):
        _load(tmp_path, text)


def test_proposals_are_plain_values(rules: RuleSet) -> None:
    [proposal] = evaluate(_folded(_bilan(evacues=100)), rules)
    assert proposal == Proposal.model_validate(proposal.model_dump())


def test_a_posture_on_ppi_sites_is_proposed_once_naming_every_site_hit(rules: RuleSet) -> None:
    guarded = RuleSet.model_validate(
        {
            "departement": "06",
            "sites": [site.model_dump() for site in rules.sites],
            "rules": [
                {
                    "id": "menace-sur-site",
                    "description": "Menace sur un site sensible.",
                    "when": {"incident_kinds": ["ordre_public"], "on_ppi_site": True},
                    "propose": {"vigipirate": {"posture": "securite_renforcee_risque_attentat"}},
                }
            ],
        }
    )
    picture = _folded(
        _incident("inc-2", "ordre_public", location=CARROS_DEPOT),
        _incident("inc-1", "ordre_public", location=NICE_PORT_DEPOT),
    )
    [proposal] = evaluate(picture, guarded)
    assert proposal.key == "securite_renforcee_risque_attentat"
    assert proposal.incident_ids == ("inc-1", "inc-2")
    assert "port de Nice" in proposal.reason
    assert "Carros" in proposal.reason


# -- the proposer, as the plans service runs it ---------------------------------------------------


class _HeldJetStream:
    """A JetStream whose acks wait until released: publishing takes as long as the test says."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, payload: bytes, **_: object) -> PubAck:
        await self.released.wait()
        self.published.append((subject, payload))
        return PubAck(stream="CRISIS", seq=len(self.published))


async def test_the_proposer_publishes_from_its_own_task_never_inside_the_fold() -> None:
    # The shared picture calls on_event inside its fold: a wait there for JetStream's ack held
    # every live client and act of the process. Here the ack never comes until released.
    js = _HeldJetStream()
    proposer = Proposer(cast(JetStreamContext, js), RuleBook(RULES_06.parent))
    proposer.live = True
    opened = sample_event(CrisisOpened, event_id=uuid4(), crisis_id=CRISIS, departement="06")
    picture = _folded(opened, _incident("inc-1", "attentat"))
    running = asyncio.create_task(proposer.run())
    try:
        await asyncio.wait_for(proposer.on_event(picture, {"type": "incident.reported"}), 1)
        await asyncio.sleep(0.05)
        assert js.published == []  # proposed, not yet acked: the fold did not wait for it
        js.released.set()
        for _ in range(100):
            if len(js.published) == 2:
                break
            await asyncio.sleep(0.01)
        # crisis.<crisis>.<aggregate>.<event>: Vigipirate urgence attentat, and NOVI.
        aggregates = sorted(subject.split(".")[2] for subject, _ in js.published)
        assert aggregates == ["plan", "vigipirate"]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


class _FailingOnceJetStream(_HeldJetStream):
    """A JetStream whose first publish fails as a publish that gave up would."""

    async def publish(self, subject: str, payload: bytes, **kwargs: object) -> PubAck:
        if not self.released.is_set():
            self.released.set()
            raise RuntimeError("no ack")
        return await super().publish(subject, payload, **kwargs)


async def test_a_proposal_that_fails_to_publish_is_tried_again_without_a_new_event() -> None:
    js = _FailingOnceJetStream()
    proposer = Proposer(cast(JetStreamContext, js), RuleBook(RULES_06.parent), retry_after_s=0.01)
    proposer.live = True
    opened = sample_event(CrisisOpened, event_id=uuid4(), crisis_id=CRISIS, departement="06")
    picture = _folded(opened, _incident("inc-1", "attentat"))
    running = asyncio.create_task(proposer.run())
    try:
        await proposer.on_event(picture, {"type": "incident.reported"})
        for _ in range(200):
            if len(js.published) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(js.published) == 2  # both proposals, though the first try failed
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
