"""The intake over the corpus of tests/data/intake: each file gives the outcome its README says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.envelope import Status
from schemas.events import (
    IncidentClosed,
    IncidentReported,
    IncidentUpdated,
    MainCouranteEntryRecorded,
)
from schemas.values import IncidentKind, Severity
from services.intake.core import Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.fetch import LinkFetcher
from services.intake.xmlsafe import without_secrets

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data" / "intake"
MAX_BYTES = 768 * 1024
VIGICRUES_ROUGE_KEY = (
    "cap:vigicrues@developpement-durable.gouv.fr,FR-VIGICRUES-SPC-MEDEST-20201002T160000-VESUBIE"
)


def new_intake(index: CorrelationIndex | None = None, **config: Any) -> Intake:
    """An intake with a fresh index that follows links only beside the corpus files."""
    return Intake(
        CorrelationIndex() if index is None else index,
        IntakeConfig(**config),
        fetch=LinkFetcher(max_bytes=MAX_BYTES, root=DATA),
    )


async def take(
    name: str, *, intake: Intake | None = None, feed: str = "sdis06", **kwargs: Any
) -> list[Outcome]:
    """The outcomes of one corpus file, named by its path so that relative links resolve."""
    path = DATA / name
    return await (intake or new_intake()).take(
        path.read_bytes(), name=str(path), feed=feed, **kwargs
    )


def remember(index: CorrelationIndex, outcomes: list[Outcome]) -> None:
    """What the caller does once the events are published: the index learns what they said."""
    for outcome in outcomes:
        for keys, ref in outcome.learnt:
            index.remember(keys, ref)


def only_event(outcome: Outcome) -> Any:
    assert outcome.accepted, outcome.error
    assert len(outcome.events) == 1
    return outcome.events[0]


def reported(outcome: Outcome) -> IncidentReported:
    event = only_event(outcome)
    assert isinstance(event, IncidentReported)
    return event


def corpus(prefix: str) -> list[str]:
    return sorted(p.name for p in DATA.iterdir() if p.name.startswith(prefix))


def every_input() -> list[str]:
    return sorted(p.name for p in DATA.iterdir() if p.suffix in (".xml", ".json"))


# --- CAP, EDXL-DE and feeds that should be read ------------------------------------------------

A = Status.ACTUAL
GOOD = {
    # file: one (status, kind, severity) per outcome, in document order
    "cap10_prefecture.xml": [(A, IncidentKind.TEMPETE, Severity.SEVERE)],
    "cap11_sdis_circle.xml": [(A, IncidentKind.MOUVEMENT_DE_TERRAIN, Severity.SEVERE)],
    "cap12_meteofrance_orange_pluie.xml": [(A, IncidentKind.INONDATION, Severity.SEVERE)],
    "cap12_vigicrues_rouge_vesubie.xml": [(A, IncidentKind.INONDATION, Severity.EXTREME)],
    "cap12_duplicate_of_vigicrues.xml": [(A, IncidentKind.INONDATION, Severity.EXTREME)],
    "cap12_exercise.xml": [(Status.EXERCISE, IncidentKind.INONDATION, Severity.EXTREME)],
    "cap12_test.xml": [(Status.TEST, IncidentKind.INONDATION, Severity.EXTREME)],
    "cap12_system.xml": [(Status.SYSTEM, IncidentKind.INONDATION, Severity.EXTREME)],
    "cap12_signed.xml": [(A, IncidentKind.INONDATION, Severity.EXTREME)],
    "cap12_resources.xml": [(A, IncidentKind.INONDATION, Severity.EXTREME)],
    "edxl_de_exercise.xml": [(Status.EXERCISE, IncidentKind.INONDATION, Severity.SEVERE)] * 3,
    "atom_meteoalarm.xml": [
        (A, IncidentKind.INONDATION, Severity.EXTREME),
        (A, IncidentKind.TEMPETE, Severity.SEVERE),
        (A, IncidentKind.MOUVEMENT_DE_TERRAIN, Severity.SEVERE),  # fetched: cap11_sdis_circle
    ],
}


@pytest.mark.parametrize(("name", "expected"), GOOD.items(), ids=list(GOOD))
async def test_every_good_cap_file_is_accepted_with_the_status_kind_and_severity_it_carries(
    name: str, expected: list[tuple[Status, IncidentKind, Severity]]
) -> None:
    outcomes = await take(name)
    events = [reported(outcome) for outcome in outcomes]
    assert [(e.status, e.kind, e.severity) for e in events] == expected
    assert all(e.crisis_id == "veille" for e in events)  # no crisis is open
    assert all(e.source == "sdis06" and e.actor == "feed:sdis06" for e in events)
    assert all(not outcome.internal and outcome.error is None for outcome in outcomes)


@pytest.mark.parametrize("name", list(GOOD))
async def test_every_report_carries_the_input_as_received_by_the_sha256_of_its_raw_bytes(
    name: str,
) -> None:
    # Kept as received, less a CAP 1.0 <password> (only cap10_prefecture.xml has one).
    raw = without_secrets((DATA / name).read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    for outcome in await take(name):
        original = reported(outcome).attachments[0]
        assert original.description == "Input as received"
        assert original.sha256 == digest
        assert original.size == len(raw)
        assert original.uri is not None
        assert original.uri.endswith(digest)
        assert outcome.blobs[digest] == raw


async def test_the_vigicrues_red_vigilance_keeps_both_polygons_and_the_commune() -> None:
    event = reported((await take("cap12_vigicrues_rouge_vesubie.xml"))[0])
    assert len(event.location.polygons) == 2
    assert all(p.points[0] == p.points[-1] for p in event.location.polygons)
    assert all(
        43.8 < pt.lat < 44.2 and 7.2 < pt.lon < 7.4 for pt in event.location.polygons[0].points
    )
    assert event.location.insee_codes == ["06127"]
    assert event.location.description is not None
    assert "Saint-Martin-Vésubie" in event.location.description
    assert event.external_ids == [VIGICRUES_ROUGE_KEY]
    assert event.expires_at is not None


async def test_the_sdis_circle_is_2_5_km_and_its_altitude_and_ceiling_are_converted_to_metres() -> (
    None
):
    event = reported((await take("cap11_sdis_circle.xml"))[0])
    (circle,) = event.location.circles
    assert (circle.center.lat, circle.center.lon) == (pytest.approx(44.07), pytest.approx(7.27))
    assert circle.radius_km == pytest.approx(2.5)
    assert event.location.insee_codes == ["06127"]
    # 300 ft and 1200 ft above mean sea level (README, Conventions)
    assert event.location.altitude_m == pytest.approx(91.44, abs=0.05)
    assert event.location.ceiling_m == pytest.approx(365.76, abs=0.05)
    assert "cap-incident:cta-codis@sdis06.fr,SDIS06-2020-4488" in event.external_ids


async def test_the_cap_1_0_geocode_written_as_text_is_read_as_an_insee_code() -> None:
    event = reported((await take("cap10_prefecture.xml"))[0])
    assert event.location.insee_codes == ["06088"]
    assert len(event.location.polygons) == 1


async def test_the_cap_1_0_password_is_not_carried_by_any_event_or_warning() -> None:
    (outcome,) = await take("cap10_prefecture.xml")
    shown = json.dumps(outcome.to_json(), ensure_ascii=False)
    assert "exemple-cap10" not in shown
    assert "password" not in shown


async def test_the_cap_1_0_password_is_not_kept_in_the_blobs_either() -> None:
    (outcome,) = await take("cap10_prefecture.xml")
    assert outcome.blobs
    assert all(b"exemple-cap10" not in blob for blob in outcome.blobs.values())


async def test_the_french_info_is_chosen_by_default_and_the_english_one_kept_beside_it() -> None:
    event = reported((await take("cap12_meteofrance_orange_pluie.xml"))[0])
    assert "vigilance orange" in event.title
    (english,) = event.other_languages
    assert english.language == "en-GB"
    assert english.headline is not None
    assert "orange rain-flood warning" in english.headline
    assert english.description
    assert english.instruction
    # Given by geocodes only: département code 06 is not a commune's INSEE code
    assert event.location.insee_codes == []
    assert event.location.polygons == []
    assert event.location.description is not None
    assert "FRL03" in event.location.description


async def test_with_english_configured_the_english_info_is_chosen_and_the_french_one_kept() -> None:
    (outcome,) = await take("cap12_meteofrance_orange_pluie.xml", intake=new_intake(language="en"))
    event = reported(outcome)
    assert "orange rain-flood warning" in event.title
    assert [other.language for other in event.other_languages] == ["fr-FR"]
    assert not any("no <info> in" in w for w in outcome.warnings)


async def test_the_png_resource_is_kept_by_its_sha256_and_the_pdf_by_its_address() -> None:
    (outcome,) = await take("cap12_resources.xml")
    event = reported(outcome)
    _, png, pdf = event.attachments
    assert png.mime_type == "image/png"
    assert png.size == 103
    assert png.sha256 is not None
    assert png.uri == f"nats-object://crisis-intake/{png.sha256}"
    content = outcome.blobs[png.sha256]
    assert hashlib.sha256(content).hexdigest() == png.sha256
    assert len(content) == 103
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.mime_type == "application/pdf"
    assert pdf.sha256 is None
    assert pdf.uri == "https://www.vigicrues.gouv.fr/bulletins/2020-10-02-1600-SPC-MEDEST.pdf"
    assert pdf.description == "Bulletin de vigilance crues (PDF)"
    # The digest matches: no warning about it
    assert not any("digest" in w for w in outcome.warnings)


async def test_a_signed_alert_is_read_and_marked_signed_with_a_not_verified_warning() -> None:
    (outcome,) = await take("cap12_signed.xml")
    event = reported(outcome)
    assert event.signed is True
    assert any("signature" in w and "not verified" in w for w in outcome.warnings)
    assert event.warnings == outcome.warnings
    unsigned = reported((await take("cap12_vigicrues_rouge_vesubie.xml"))[0])
    assert unsigned.signed is False


async def test_the_edxl_exercise_envelope_gives_three_exercise_alerts_one_of_them_base64() -> None:
    outcomes = await take("edxl_de_exercise.xml")
    assert outcomes[2].path.endswith("/nonXMLContent/contentData/alert")
    assert len({reported(o).incident_id for o in outcomes}) == 3
    assert all(reported(o).is_exercise for o in outcomes)


async def test_the_atom_feed_gives_its_two_inline_alerts_and_fetches_the_linked_one() -> None:
    outcomes = await take("atom_meteoalarm.xml")
    assert [o.path for o in outcomes][:2] == [
        "/feed/entry[0]/content/alert",
        "/feed/entry[1]/content/alert",
    ]
    assert outcomes[2].path == "/feed/entry[2]/link -> cap11_sdis_circle.xml/alert"
    fetched = reported(outcomes[2])
    assert fetched.location.circles[0].radius_km == pytest.approx(2.5)


async def test_without_a_fetcher_the_atom_link_is_not_fetched_and_inline_alerts_still_read() -> (
    None
):
    path = DATA / "atom_meteoalarm.xml"
    outcomes = await Intake(CorrelationIndex()).take(
        path.read_bytes(), name=str(path), feed="meteoalarm"
    )
    assert [o.verdict for o in outcomes] == ["accepted", "accepted", "not fetched"]
    assert outcomes[2].error is None
    assert not outcomes[2].refused
    assert outcomes[2].to_json()["outcome"] == "not fetched"
    assert "cap11_sdis_circle.xml: not fetched" in outcomes[2].to_json()["warnings"][-1]


async def test_the_rss_feed_gives_the_alerts_it_links_to_and_the_update_amends_the_first() -> None:
    outcomes = await take("rss_vigicrues.xml")
    first, update, prefecture = (only_event(o) for o in outcomes)
    assert isinstance(first, IncidentReported)
    assert isinstance(update, IncidentUpdated)
    assert update.incident_id == first.incident_id
    assert isinstance(prefecture, IncidentReported)
    assert prefecture.location.insee_codes == ["06088"]


async def test_the_corpus_chain_reports_updates_and_closes_one_incident_and_drops_duplicates() -> (
    None
):
    index = CorrelationIndex()
    intake = new_intake(index)
    events = []
    notes = []
    for name in (
        "cap12_vigicrues_rouge_vesubie.xml",
        "cap12_duplicate_of_vigicrues.xml",
        "cap12_vigicrues_update.xml",
        "cap12_vigicrues_cancel.xml",
        "rss_vigicrues.xml",
    ):
        outcomes = await take(name, intake=intake, feed="vigicrues")
        assert all(o.accepted for o in outcomes), [o.error for o in outcomes]
        remember(index, outcomes)
        events += [(name, e) for o in outcomes for e in o.events]
        notes += [(name, n) for o in outcomes for n in o.notes]
    kinds = [(name, type(e)) for name, e in events]
    assert kinds == [
        ("cap12_vigicrues_rouge_vesubie.xml", IncidentReported),
        ("cap12_vigicrues_update.xml", IncidentUpdated),
        ("cap12_vigicrues_cancel.xml", IncidentClosed),
        ("rss_vigicrues.xml", IncidentReported),  # only the prefecture's alert is new
    ]
    assert len({e.incident_id for _, e in events[:3]}) == 1
    assert [name for name, note in notes if "already received" in note] == [
        "cap12_duplicate_of_vigicrues.xml",
        "rss_vigicrues.xml",
        "rss_vigicrues.xml",
    ]


async def test_an_update_whose_original_was_never_received_is_reported_with_a_warning() -> None:
    (outcome,) = await take("cap12_vigicrues_update.xml")
    event = reported(outcome)
    assert any("has not received" in w for w in outcome.warnings)
    assert VIGICRUES_ROUGE_KEY in event.external_ids


async def test_a_cancel_of_alerts_never_received_is_recorded_and_closes_them_later() -> None:
    index = CorrelationIndex()
    (outcome,) = await take("cap12_vigicrues_cancel.xml", intake=Intake(index))
    assert outcome.accepted
    assert outcome.error is None
    (entry,) = outcome.events
    assert isinstance(entry, MainCouranteEntryRecorded)
    assert entry.crisis_id == "veille"  # where its alert would have gone: no crisis is open
    withdrawn = [key for key in entry.external_ids if key.startswith("cancels:")]
    assert withdrawn, "the entry names the alerts the Cancel withdrew"
    assert "has not received" in entry.text
    index.observe(entry.to_wire())  # as the intake learns it back from the stream

    (late,) = await take("cap12_vigicrues_rouge_vesubie.xml", intake=Intake(index))
    reported_, closed = late.events
    assert isinstance(reported_, IncidentReported)
    assert isinstance(closed, IncidentClosed)
    assert closed.incident_id == reported_.incident_id
    assert closed.reason is not None
    assert "received before this alert" in closed.reason
    assert any("withdrawn by" in w for w in late.warnings)


# --- quirks: tolerated with a warning ------------------------------------------------------------

QUIRKS = {
    "quirk_lon_lat.xml": ("lon,lat", 1),
    "quirk_plus_signs.xml": ("'+' signs", 1),
    "quirk_empty_polygon.xml": ("empty polygon", 1),
    "quirk_escaped_html.xml": ("HTML markup removed", 1),
    "quirk_latin1_declared.xml": ("iso-8859-1", 1),
    "quirk_latin1_undeclared.xml": ("ISO-8859-1", 1),
    "quirk_wrapper_alerts.xml": ("wrapper", 3),
    "quirk_mixed_namespace.xml": ("CAP 1.1 namespace", 1),
    "quirk_empty_references.xml": ("empty <references/>", 1),
    "quirk_empty_enums.xml": ("taken as Unknown", 1),
    # Tolerated silently: XML allows a byte-order mark and a missing declaration
    "quirk_bom.xml": (None, 1),
    "quirk_no_declaration.xml": (None, 1),
}


def test_the_quirk_table_covers_every_quirk_file() -> None:
    assert sorted(QUIRKS) == corpus("quirk_")


@pytest.mark.parametrize(("name", "expected"), QUIRKS.items(), ids=list(QUIRKS))
async def test_each_quirk_is_tolerated_with_the_warning_the_readme_describes(
    name: str, expected: tuple[str | None, int]
) -> None:
    warning, count = expected
    outcomes = await take(name)
    assert len(outcomes) == count
    for outcome in outcomes:
        event = reported(outcome)
        if warning is None:
            assert outcome.warnings == []
        else:
            assert any(warning in w for w in outcome.warnings), outcome.warnings
        # What was tolerated travels with the event, for an operator to check
        assert event.warnings == outcome.warnings


async def test_a_polygon_written_lon_lat_is_swapped_back_to_lat_lon() -> None:
    event = reported((await take("quirk_lon_lat.xml"))[0])
    (polygon,) = event.location.polygons
    assert all(43.69 < p.lat < 43.73 and 7.24 < p.lon < 7.28 for p in polygon.points)
    assert polygon.points[-1].lat == pytest.approx(43.7)
    assert polygon.points[-1].lon == pytest.approx(7.25)
    assert polygon.points[2].lat == pytest.approx(43.72)


async def test_plus_signs_in_coordinates_are_read_as_positive_numbers() -> None:
    event = reported((await take("quirk_plus_signs.xml"))[0])
    (polygon,) = event.location.polygons
    assert [(p.lat, p.lon) for p in polygon.points] == [
        (pytest.approx(43.70), pytest.approx(7.25)),
        (pytest.approx(43.71), pytest.approx(7.26)),
        (pytest.approx(43.72), pytest.approx(7.25)),
        (pytest.approx(43.71), pytest.approx(7.24)),
        (pytest.approx(43.70), pytest.approx(7.25)),
    ]


async def test_empty_polygons_are_dropped_and_the_location_comes_from_the_geocode() -> None:
    (outcome,) = await take("quirk_empty_polygon.xml")
    event = reported(outcome)
    assert event.location.polygons == []
    assert event.location.insee_codes == ["06088"]
    assert sum("empty polygon" in w for w in outcome.warnings) == 2
    assert all("/alert/info[0]/area[0]/polygon" in w for w in outcome.warnings)


async def test_escaped_html_is_removed_from_the_description_and_the_instruction() -> None:
    (outcome,) = await take("quirk_escaped_html.xml")
    event = reported(outcome)
    assert event.description is not None
    for markup in ("<", ">", "&nbsp;", "&lt;", "&amp;", "\xa0"):
        assert markup not in event.description
    assert "Crue majeure de la Vésubie" in event.description
    assert "20h 00" in event.description
    assert "- Montez dans les étages." in event.description
    assert {w.split(":")[0] for w in outcome.warnings} == {
        "/alert/info[0]/description",
        "/alert/info[0]/instruction",
    }


@pytest.mark.parametrize("name", ["quirk_latin1_declared.xml", "quirk_latin1_undeclared.xml"])
async def test_latin_1_text_is_decoded_to_the_right_accented_letters(name: str) -> None:
    event = reported((await take(name))[0])
    text = f"{event.title} {event.description}"
    for word in ("très", "reçu", "ça"):
        assert word in text
    assert "\ufffd" not in text
    assert "Ã" not in text  # not UTF-8 read as Latin-1, nor the reverse


async def test_the_wrapper_gives_its_three_alerts_one_by_one() -> None:
    outcomes = await take("quirk_wrapper_alerts.xml")
    assert [o.path for o in outcomes] == [f"/alerts/alert[{i}]" for i in range(3)]
    assert [o.alert for o in outcomes] == [
        f"cap:cta-codis@sdis06.fr,SDIS06-QUIRK-0012-WRAPPED-{i}" for i in (1, 2, 3)
    ]
    assert len({reported(o).incident_id for o in outcomes}) == 3


async def test_each_empty_assessment_gets_its_own_warning_and_the_severity_is_unknown() -> None:
    (outcome,) = await take("quirk_empty_enums.xml")
    assert reported(outcome).severity is Severity.UNKNOWN
    for element in ("urgency", "severity", "certainty"):
        assert any(w.startswith(f"/alert/info[0]/{element}:") for w in outcome.warnings)


@pytest.mark.parametrize("name", ["quirk_bom.xml", "quirk_no_declaration.xml"])
async def test_a_bom_or_a_missing_declaration_reads_the_same_as_a_plain_document(
    name: str,
) -> None:
    event = reported((await take(name))[0])
    assert not event.title.startswith("\ufeff")
    assert "\ufffd" not in f"{event.title} {event.description}"


# --- refusals --------------------------------------------------------------------------------


REFUSED = [
    ("hostile_billion_laughs.xml", "DOCTYPE"),
    ("hostile_external_entity.xml", "DOCTYPE"),
    ("hostile_external_dtd.xml", "DOCTYPE"),
    ("hostile_parameter_entity.xml", "DOCTYPE"),
    ("bad_wrong_namespace.xml", "/alert"),
    ("bad_missing_identifier.xml", "/alert/identifier"),
    ("bad_missing_sent.xml", "/alert/sent"),
    ("bad_invalid_sent.xml", "/alert/sent"),
    ("bad_info_without_event.xml", "/alert/info[0]/event"),
    ("bad_no_area.xml", "/alert/info[0]/area"),
    ("bad_geojson_coordinates.json", "$.features[0].geometry"),
    # Bytes and well-formedness fail before there are elements: the reason gives the position.
    ("bad_declared_utf8_invalid_bytes.xml", "/"),
    ("bad_malformed.xml", "/"),
    ("bad_geojson_no_geometry.json", "$.features[0].geometry"),
]


def test_the_refusal_table_covers_every_hostile_and_bad_file() -> None:
    names = sorted(r.values[0] if hasattr(r, "values") else r[0] for r in REFUSED)
    assert names == sorted(corpus("hostile_") + corpus("bad_"))


@pytest.mark.parametrize(("name", "path"), REFUSED)
async def test_each_hostile_or_bad_file_is_refused_naming_the_element_at_fault(
    name: str, path: str
) -> None:
    outcomes = await take(name)
    assert len(outcomes) == 1
    (outcome,) = outcomes
    assert not outcome.accepted
    assert outcome.events == []
    assert outcome.learnt == []
    assert not outcome.internal
    assert outcome.error is not None
    assert outcome.error.reason.strip()
    assert outcome.error.path == path
    assert outcome.path == path


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("bad_declared_utf8_invalid_bytes.xml", "at byte 677 (line 19)"),
        ("bad_malformed.xml", "mismatched tag at line 30"),
    ],
)
async def test_a_document_that_cannot_be_decoded_or_parsed_is_refused_with_its_position(
    name: str, where: str
) -> None:
    (outcome,) = await take(name)
    assert not outcome.accepted
    assert outcome.error is not None
    assert where in outcome.error.reason
    assert not outcome.internal


@pytest.mark.parametrize("name", corpus("hostile_"))
async def test_a_hostile_document_is_refused_at_the_doctype_before_any_expansion(
    name: str,
) -> None:
    (outcome,) = await take(name)
    assert outcome.error is not None
    assert outcome.error.path == "DOCTYPE"
    shown = json.dumps(outcome.to_json())
    assert "root:" not in shown  # /etc/passwd was not read
    assert "lol" not in shown  # nothing was expanded


# --- the large envelope --------------------------------------------------------------------------


async def test_the_large_edxl_envelope_gives_sixty_alerts_grouped_by_incidents_value() -> None:
    outcomes = await take("edxl_de_large.xml")
    assert len(outcomes) == 60
    assert all(o.accepted and len(o.events) == 1 for o in outcomes)
    assert [o.alert for o in outcomes] == [
        f"cap:pref-defense-protection-civile@alpes-maritimes.gouv.fr,"
        f"PREF06-COD-ALEX-20201002-{i:04d}"
        for i in range(1, 61)
    ]
    events = [o.events[0] for o in outcomes]
    first = [e for e in events if isinstance(e, IncidentReported)]
    # One incident per valley (<incidents>), the later alerts update it
    assert len(first) == 7
    assert all(isinstance(e, IncidentReported | IncidentUpdated) for e in events)
    assert {e.incident_id for e in events} == {e.incident_id for e in first}
    assert all(len(e.location.polygons[0].points) == 40 for e in first)
    assert all(len(e.other_languages) == 1 for e in first)


# --- the project's own events ----------------------------------------------------------------


async def test_the_projects_own_event_is_accepted_as_is_from_the_feed_it_names() -> None:
    raw = (DATA / "event_incident_reported.json").read_bytes()
    (outcome,) = await take("event_incident_reported.json", feed="sdis06")
    event = reported(outcome)
    assert event.to_wire() | {"received_at": None, "recorded_at": None} == (
        IncidentReported.model_validate_json(raw).to_wire()
        | {"received_at": None, "recorded_at": None}
    )
    assert str(event.event_id) == orjson.loads(raw)["event_id"]


@pytest.mark.parametrize("feed", ["vigicrues", "meteo-france", "sdis83"])
async def test_the_projects_own_event_is_refused_from_any_other_feed(feed: str) -> None:
    (outcome,) = await take("event_incident_reported.json", feed=feed)
    assert not outcome.accepted
    assert outcome.error is not None
    assert outcome.error.path == "$.source"


@pytest.mark.parametrize(
    "kind", ["plan.activated", "crisis.opened", "decision.taken", "incident.merged"]
)
async def test_an_event_a_feed_may_not_send_is_refused_at_its_type(kind: str) -> None:
    data = orjson.loads((DATA / "event_incident_reported.json").read_bytes())
    data["type"] = kind
    (outcome,) = await new_intake().take(orjson.dumps(data), name="own", feed="sdis06")
    assert not outcome.accepted
    assert outcome.error is not None
    assert outcome.error.path.endswith(".type")
    assert not outcome.internal


async def test_an_event_sent_with_recorded_at_is_refused() -> None:
    data = orjson.loads((DATA / "event_incident_reported.json").read_bytes())
    data["recorded_at"] = "2020-10-02T16:41:00+02:00"
    (outcome,) = await new_intake().take(orjson.dumps(data), name="own", feed="sdis06")
    assert outcome.error is not None
    assert outcome.error.path == "$.recorded_at"


async def test_an_event_for_a_crisis_that_is_not_open_is_refused_unless_the_crisis_is_forced() -> (
    None
):
    data = orjson.loads((DATA / "event_incident_reported.json").read_bytes())
    data["crisis_id"] = "crue-06"
    raw = orjson.dumps(data)
    (refused,) = await new_intake().take(raw, name="own", feed="sdis06")
    assert refused.error is not None
    assert refused.error.path == "$.crisis_id"
    index = CorrelationIndex()
    index.observe({"type": "crisis.opened", "crisis_id": "crue-06", "status": "Actual"})
    (accepted,) = await new_intake(index).take(raw, name="own", feed="sdis06")
    assert accepted.accepted


# --- GeoJSON ---------------------------------------------------------------------------------


async def test_the_sdis_geojson_gives_three_incidents_with_their_geometries() -> None:
    # The second feature is sent closed: reported, then closed.
    outcomes = await take("geojson_sdis_interventions.json")
    point, polygon, multi = (o.events[0] for o in outcomes)
    assert isinstance(point, IncidentReported)
    assert isinstance(polygon, IncidentReported)
    assert isinstance(multi, IncidentReported)
    assert point.location.point is not None
    assert (point.location.point.lat, point.location.point.lon) == (44.0686, 7.2561)
    assert point.kind is IncidentKind.INONDATION
    assert point.severity is Severity.EXTREME
    assert len(polygon.location.polygons) == 1
    assert polygon.kind is IncidentKind.MOUVEMENT_DE_TERRAIN
    assert len(multi.location.polygons) == 2
    assert multi.location.insee_codes == ["06023", "06163"]


async def test_the_cap10_password_is_blanked_in_the_copy_kept_of_the_input() -> None:
    raw = (DATA / "cap10_prefecture.xml").read_bytes()
    [outcome] = await take("cap10_prefecture.xml")
    [kept] = [blob for blob in outcome.blobs.values() if b"<alert" in blob]
    assert b"<password>" in raw
    assert b"exemple-cap10" in raw
    assert b"exemple-cap10" not in kept
    assert kept.replace(b"(removed)", b"") == raw.replace(b"exemple-cap10", b"")


async def test_a_feature_first_seen_closed_is_reported_already_closed() -> None:
    outcomes = await take("geojson_sdis_interventions.json")
    assert [type(e) for e in outcomes[1].events] == [IncidentReported, IncidentClosed]


# --- the outcome as printed ------------------------------------------------------------------


@pytest.mark.parametrize("name", every_input())
async def test_every_outcome_prints_as_json_with_exactly_the_documented_keys(name: str) -> None:
    for outcome in await take(name):
        shown = outcome.to_json()
        assert set(shown) == {
            "input",
            "path",
            "alert",
            "accepted",
            "outcome",
            "events",
            "warnings",
            "error",
        }
        json.loads(json.dumps(shown))
        assert shown["accepted"] is outcome.accepted
        assert shown["outcome"] in ("accepted", "refused", "not fetched")
        assert (shown["error"] is None) is (shown["outcome"] != "refused")
        if shown["error"] is not None:
            assert set(shown["error"]) == {"reason", "path"}
        for wire in shown["events"]:
            assert wire["type"].startswith(("incident.", "maincourante."))


# --- feeds whose entries do not carry their alert -----------------------------------------------


async def test_each_entry_of_a_feed_of_links_and_cap_fields_has_its_outcome() -> None:
    outcomes = await take("atom_links_and_cap_fields.xml")
    assert [o.verdict for o in outcomes] == ["accepted", "accepted", "refused"]
    linked, summarised, useless = outcomes
    assert linked.path == "/feed/entry[0]/link -> cap11_sdis_circle.xml/alert"
    event = reported(summarised)
    assert event.title == "Coupure de la RD 6204 à Tende"
    assert event.kind is IncidentKind.MOUVEMENT_DE_TERRAIN
    assert event.severity is Severity.SEVERE
    assert event.location.insee_codes == ["06163"]
    assert event.external_ids[0] == (
        "cap:alertes.example.gouv.fr,https://alertes.example.gouv.fr/cap/PREF06-2020-1002-B"
    )
    assert any("a summary, not the whole alert" in w for w in event.warnings)
    assert any("empty <urgency>: taken as Unknown" in w for w in event.warnings)
    assert useless.error is not None
    assert useless.error.path == "/feed/entry[2]"
    assert "text/html" in useless.error.reason


async def test_a_dry_run_says_not_fetched_for_each_linked_entry() -> None:
    path = DATA / "atom_links_and_cap_fields.xml"
    outcomes = await Intake(CorrelationIndex()).take(path.read_bytes(), name=str(path), feed="f")
    assert [o.verdict for o in outcomes] == ["not fetched", "accepted", "refused"]
    assert outcomes[0].events == []


async def test_an_empty_feed_gives_one_outcome_that_says_so() -> None:
    empty = b'<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>vide</title></feed>'
    (outcome,) = await Intake(CorrelationIndex()).take(empty, name="empty.xml", feed="f")
    assert outcome.accepted
    assert outcome.events == []
    assert "holds no alert" in outcome.to_json()["warnings"][-1]
