"""Properties of the intake over random and damaged input: it refuses or accepts, never breaks.

Every outcome is either an acceptance (events that validate again) or a refusal (a reason and a
path); no exception leaves `Intake.take`, and no refusal is blamed on the intake itself
(`internal`). Hypothesis and asyncio do not mix well, so each example runs its own event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from services.intake.core import Intake, IntakeConfig, Outcome
from services.intake.correlation import CorrelationIndex
from services.intake.errors import Rejection
from services.intake.fetch import LinkFetcher, is_url

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data" / "intake"
MAX_BYTES = 768 * 1024
CORPUS = {
    p.name: p.read_bytes()
    for p in sorted(DATA.iterdir())
    if p.suffix in (".xml", ".json") and p.name != "edxl_de_large.xml"  # kept out for speed
}
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


class OfflineFetcher:
    """Follows relative links beside the corpus; a fuzzed document never reaches the network."""

    def __init__(self) -> None:
        self.files = LinkFetcher(max_bytes=MAX_BYTES, root=DATA)

    async def __call__(self, link: str, base: str) -> bytes:
        if is_url(link) or is_url(base):
            raise Rejection(f"no network in tests ({link[:80]})")
        return await self.files(link, base)


def take_all(*documents: bytes, form: Any = "auto", **config: Any) -> list[list[Outcome]]:
    """The outcomes of each document, taken in turn by one intake that publishes what it learns."""

    async def run() -> list[list[Outcome]]:
        index = CorrelationIndex()
        index.observe({"type": "crisis.opened", "crisis_id": "crue-06", "status": "Actual"})
        index.observe({"type": "crisis.opened", "crisis_id": "exo-06", "status": "Exercise"})
        intake = Intake(index, IntakeConfig(**config), fetch=OfflineFetcher())
        results = []
        for raw in documents:
            outcomes = await intake.take(raw, name=str(DATA / "fuzzed.xml"), feed="fuzz", form=form)
            for outcome in outcomes:
                for keys, ref in outcome.learnt:
                    index.remember(keys, ref)
            results.append(outcomes)
        return results

    with capture_logs() as logs:
        results = asyncio.run(run())
    assert not [log for log in logs if log["log_level"] in ("error", "critical")], logs
    return results


def check(outcomes: list[Outcome]) -> list[Outcome]:
    """The property every outcome has, whatever the input."""
    assert isinstance(outcomes, list)
    for outcome in outcomes:
        assert not outcome.internal, outcome.error
        if outcome.accepted:
            assert outcome.error is None
            for event in outcome.events:
                cls = type(event)
                assert cls.model_validate(event.model_dump()) == event
                assert cls.model_validate_json(orjson.dumps(event.to_wire())) == event
        else:
            assert outcome.events == []
            assert outcome.learnt == []
            assert outcome.error is not None
            assert outcome.error.reason.strip()
            assert outcome.error.path
        json.dumps(outcome.to_json())
    return outcomes


# --- (1) arbitrary bytes -------------------------------------------------------------------------

ANY_BYTES = st.one_of(
    st.binary(max_size=2_000),
    st.text(max_size=500).map(lambda text: text.encode("utf-8")),
    st.tuples(
        st.sampled_from([b"<", b"<?xml", b"{", b"[", b"\xef\xbb\xbf<", b"\xff\xfe"]),
        st.binary(max_size=500),
    ).map(b"".join),
)


@settings(FUZZ, max_examples=300)
@given(raw=ANY_BYTES)
def test_arbitrary_bytes_are_accepted_or_refused_never_an_exception(raw: bytes) -> None:
    (outcomes,) = take_all(raw)
    check(outcomes)


@settings(FUZZ, max_examples=60)
@given(raw=ANY_BYTES, form=st.sampled_from(["xml", "geojson", "events"]))
def test_arbitrary_bytes_forced_into_any_form_are_accepted_or_refused(
    raw: bytes, form: str
) -> None:
    (outcomes,) = take_all(raw, form=form)
    check(outcomes)


# --- (2) damaged corpus documents ---------------------------------------------------------------

INSERTS = [
    b"<",
    b"&",
    b">",
    b"]]>",
    b"&lol;",
    b"&#0;",
    b"&#xD800;",
    b"<![CDATA[",
    b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b'<!ENTITY % p SYSTEM "http://attacker.invalid/x.dtd">',
    b"<?xml version='1.0' encoding='ISO-8859-1'?>",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xef\xbb\xbf",
    b'"',
    b",",
    b" ",
    b"+",
    b"-999",
    b"1e400",
    b"nan",
]
ELEMENT = re.compile(
    rb"<((?:[A-Za-z_][\w.-]*:)?)([A-Za-z_][\w.-]*)\b[^>]*?(?:/>|>.*?</\1\2>)", re.S
)
TAG_START = re.compile(rb"<[A-Za-z_][\w.:-]*")


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` nine times in ten, `bad` otherwise: most examples go deep, some fail early."""
    # sampled_from draws about evenly; integers() would favour their bounds
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda ok: good if ok else bad)


# True nine times in ten.
USUALLY = st.sampled_from([True] * 9 + [False])
MUTATIONS = ["delete", "delete", "delete", "flip", "flip", "insert", "insert", "attribute", "cut"]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(sorted(CORPUS)).map(CORPUS.__getitem__))
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(MUTATIONS))
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        tags = list(TAG_START.finditer(raw))
        if kind == "flip" and raw:
            byte = draw(mostly(st.sampled_from(b"0159aAzZ-,. <>/&;#"), st.integers(0, 255)))
            raw = raw[:at] + bytes([byte]) + raw[at + 1 :]
        elif kind == "cut":
            raw = raw[:at]
        elif kind == "insert":
            raw = raw[:at] + draw(st.sampled_from(INSERTS)) + raw[at:]
        elif kind == "attribute" and tags:
            tag = draw(st.sampled_from(tags))
            size = draw(st.sampled_from([1, 1_000, 100_000, 400_000]))
            value = draw(st.sampled_from([b"A", b"&amp;", b"\xc3\xa9"])) * size
            raw = raw[: tag.end()] + b' huge="' + value + b'"' + raw[tag.end() :]
        elif kind == "delete" and tags:
            element = ELEMENT.match(raw, draw(st.sampled_from(tags)).start())
            if element:
                raw = raw[: element.start()] + raw[element.end() :]
    return raw


@settings(FUZZ, max_examples=250)
@given(raw=damaged())
def test_damaged_corpus_documents_are_accepted_or_refused_never_an_exception(raw: bytes) -> None:
    (outcomes,) = take_all(raw)
    check(outcomes)


@settings(FUZZ, max_examples=40)
@given(raw=damaged())
def test_damaged_documents_over_a_small_limit_are_refused_before_reading(raw: bytes) -> None:
    (outcomes,) = take_all(raw, max_bytes=2_000)
    check(outcomes)
    if len(raw) > 2_000:
        assert [o.error.path if o.error else None for o in outcomes] == ["/"]


def test_the_delete_mutation_finds_inner_elements_in_the_corpus() -> None:
    raw = CORPUS["cap12_vigicrues_rouge_vesubie.xml"]
    found = {m.group(2) for t in TAG_START.finditer(raw) if (m := ELEMENT.match(raw, t.start()))}
    assert {b"alert", b"identifier", b"info", b"area", b"polygon", b"geocode"} <= found


# --- (3) generated CAP alerts ------------------------------------------------------------------

# Characters XML 1.0 allows in text, escaped by the generator; a few tricky strings made likely.
XML_TEXT_CHAR = st.characters(
    exclude_categories=("Cs", "Cc", "Co"), exclude_characters="\ufffe\uffff"
) | st.sampled_from("\t\n\r<>&\"'")
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "<b>gras</b>&nbsp;x",
        "&lt;p&gt;",
        "&amp;lt;script&amp;gt;",
        "]]>",
        "a,b",
        "a b",
        "&amp;",
        "x" * 600,
        "é" * 30_000,
        "0",
        "-",
        "+",
        "nan",
        "inf",
        "1e400",
    ]
)
TEXT = st.one_of(st.text(XML_TEXT_CHAR, max_size=60), TRICKY)
WORDS = st.text(XML_TEXT_CHAR, min_size=1, max_size=60)


def enum(*choices: str) -> st.SearchStrategy[str]:
    """A CAP enumerated value: as written, in lower case (tolerated), or anything."""
    return mostly(st.sampled_from([*choices, *choices, choices[0].lower()]), TEXT)


INSTANT = mostly(
    st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 (the zone is drawn separately)
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-10))]
        ),
    ).map(lambda moment: moment.isoformat(timespec="seconds")),
    TEXT,
)
COORD = st.floats(-200, 200, allow_nan=False)
POINT = st.tuples(COORD, COORD).map(lambda p: f"{p[0]:.4f},{p[1]:.4f}")
NICE_POINT = st.tuples(st.floats(43.5, 44.2), st.floats(6.9, 7.7)).map(
    lambda p: f"{p[0]:.4f},{p[1]:.4f}"
)


@st.composite
def polygon(draw: st.DrawFn) -> str:
    points = draw(st.lists(mostly(NICE_POINT, POINT), min_size=0, max_size=8))
    if points and draw(USUALLY):
        points.append(points[0])  # closed, as CAP wants
    if not draw(USUALLY):
        # lon,lat, as some generators write
        points = [",".join(reversed(p.split(","))) for p in points]
    return draw(mostly(st.just(" ".join(points)), TEXT))


CIRCLE = mostly(
    st.tuples(mostly(NICE_POINT, POINT), st.floats(-10, 30_000, allow_nan=False)).map(
        lambda c: f"{c[0]} {c[1]:g}"
    ),
    TEXT,
)
GEOCODE = st.tuples(
    mostly(st.sampled_from(["INSEE", "NUTS3", "insee"]), TEXT),
    mostly(st.sampled_from(["06088", "06127", "2A004", "06", "FRL03"]), TEXT),
)
# Altitude and ceiling in range and in order: see the regressions at the end of this file.
ALTITUDES = st.tuples(st.integers(-1_000, 30_000), st.integers(0, 30_000)).map(
    lambda pair: (pair[0], pair[0] + pair[1])
)


@st.composite
def area(draw: st.DrawFn) -> str:
    parts = []
    if draw(USUALLY):
        parts.append(f"<areaDesc>{escape(draw(mostly(WORDS, TEXT)))}</areaDesc>")
    parts += [f"<polygon>{escape(p)}</polygon>" for p in draw(st.lists(polygon(), max_size=2))]
    parts += [f"<circle>{escape(c)}</circle>" for c in draw(st.lists(CIRCLE, max_size=2))]
    parts += [
        f"<geocode><valueName>{escape(n)}</valueName><value>{escape(v)}</value></geocode>"
        for n, v in draw(st.lists(GEOCODE, max_size=2))
    ]
    if draw(st.booleans()):
        altitude, ceiling = draw(ALTITUDES)
        parts.append(f"<altitude>{altitude}</altitude>")
        if draw(st.booleans()):
            parts.append(f"<ceiling>{ceiling}</ceiling>")
    return f"<area>{''.join(parts)}</area>"


@st.composite
def resource(draw: st.DrawFn) -> str:
    parts = [f"<resourceDesc>{escape(draw(TEXT))}</resourceDesc>"]
    parts.append(f"<mimeType>{escape(draw(TEXT))}</mimeType>")
    if draw(st.booleans()):
        # ASCII digits, within what an attachment may say: see the regressions below.
        parts.append(f"<size>{draw(st.integers(0, 100_000_000))}</size>")
    if draw(st.booleans()):
        parts.append(f"<uri>{escape(draw(TEXT))}</uri>")
    if draw(st.booleans()):
        content = draw(mostly(st.binary(max_size=200).map(base64.b64encode), st.just(b"!!")))
        parts.append(f"<derefUri>{content.decode()}</derefUri>")
        if draw(st.booleans()):
            parts.append(f"<digest>{escape(draw(TEXT))}</digest>")
    return f"<resource>{''.join(parts)}</resource>"


@st.composite
def info(draw: st.DrawFn) -> str:
    optional = [
        f"<{name}>{escape(draw(value))}</{name}>"
        for name, value in (
            ("language", mostly(st.sampled_from(["fr-FR", "en-GB", "fr", "de-DE"]), TEXT)),
            ("headline", TEXT),
            ("description", TEXT),
            ("instruction", TEXT),
            ("senderName", TEXT),
            ("web", TEXT),
            ("onset", INSTANT),
            ("expires", INSTANT),
        )
        if draw(st.booleans())
    ]
    categories = draw(st.lists(enum("Met", "Geo", "Safety", "Rescue", "Fire"), max_size=2))
    areas = draw(mostly(st.lists(area(), min_size=1, max_size=2), st.lists(area(), max_size=1)))
    return (
        "<info>"
        + "".join(f"<category>{escape(c)}</category>" for c in categories)
        + f"<event>{escape(draw(mostly(WORDS, TEXT)))}</event>"
        + f"<urgency>{escape(draw(enum('Immediate', 'Expected', 'Unknown')))}</urgency>"
        + f"<severity>{escape(draw(enum('Extreme', 'Severe', 'Moderate', 'Minor')))}</severity>"
        + f"<certainty>{escape(draw(enum('Observed', 'Likely', 'Unknown')))}</certainty>"
        + "".join(optional)
        + "".join(draw(st.lists(resource(), max_size=2)))
        + "".join(areas)
        + "</info>"
    )


IDENTIFIER = mostly(st.from_regex(r"[A-Z0-9-]{1,20}", fullmatch=True), TEXT)
SENDER = mostly(st.sampled_from(["a@sdis06.fr", "b@meteo.fr"]), TEXT)


@st.composite
def cap_alert(draw: st.DrawFn, earlier: tuple[tuple[str, str], ...] = ()) -> tuple[str, str, str]:
    """A structurally valid CAP 1.2 alert, and its sender and identifier for later references."""
    identifier, sender = draw(IDENTIFIER), draw(SENDER)
    triple = (
        st.sampled_from(earlier).map(lambda p: f"{p[0]},{p[1]},2020-10-02T18:00:00+02:00")
        if earlier
        else st.just("a@sdis06.fr,NEVER-SEEN,2020-10-02T18:00:00+02:00")
    )
    references = draw(st.lists(mostly(triple, TEXT), max_size=2))
    optional = []
    if references or not draw(USUALLY):
        optional.append(f"<references>{escape(' '.join(references))}</references>")
    if draw(st.booleans()):
        incidents = draw(mostly(st.sampled_from(["INC-1", "INC-2", "INC-1 INC-2"]), TEXT))
        optional.append(f"<incidents>{escape(incidents)}</incidents>")
    if draw(st.booleans()):
        optional.append(f"<note>{escape(draw(TEXT))}</note>")
    msg_type = "Alert" if not references else draw(enum("Update", "Cancel", "Alert", "Ack"))
    infos = draw(mostly(st.lists(info(), min_size=1, max_size=2), st.lists(info(), max_size=1)))
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{escape(identifier)}</identifier>"
        f"<sender>{escape(sender)}</sender>"
        f"<sent>{escape(draw(INSTANT))}</sent>"
        f"<status>{escape(draw(enum('Actual', 'Exercise', 'System', 'Test', 'Draft')))}</status>"
        f"<msgType>{escape(msg_type)}</msgType>"
        f"<scope>{escape(draw(enum('Public', 'Restricted', 'Private')))}</scope>"
        + "".join(optional)
        + "".join(infos)
        + "</alert>"
    )
    return document, sender, identifier


@st.composite
def conversation(draw: st.DrawFn) -> list[str]:
    """One to three alerts, the later ones free to reference the earlier ones."""
    documents: list[str] = []
    earlier: tuple[tuple[str, str], ...] = ()
    for _ in range(draw(st.integers(1, 3))):
        document, sender, identifier = draw(cap_alert(earlier))
        documents.append(document)
        earlier = (*earlier, (sender, identifier))
    return documents


@settings(FUZZ, max_examples=80)
@given(documents=conversation(), language=st.sampled_from(["fr", "en", "de-DE"]))
def test_generated_cap_alerts_never_break_the_intake_and_accepted_events_validate_again(
    documents: list[str], language: str
) -> None:
    results = take_all(*(d.encode("utf-8") for d in documents), language=language)
    for outcomes in results:
        assert len(check(outcomes)) == 1


@settings(FUZZ, max_examples=25)
@given(documents=conversation())
def test_generated_cap_alerts_read_the_same_inside_an_edxl_envelope(documents: list[str]) -> None:
    inner = "".join(
        "<contentObject><xmlContent><embeddedXMLContent>"
        + d.split("\n", 1)[1]
        + "</embeddedXMLContent></xmlContent></contentObject>"
        for d in documents
    )
    envelope = (
        '<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0">'
        f"<distributionStatus>Exercise</distributionStatus>{inner}</EDXLDistribution>"
    )
    (outcomes,) = take_all(envelope.encode("utf-8"))
    assert len(check(outcomes)) == len(documents)
    # The envelope's Exercise wins over Actual; Test, System and Draft stay what they are
    assert all(e.status != "Actual" for o in outcomes for e in o.events)


# --- (4) generated GeoJSON and own events -------------------------------------------------------

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
POSITION = mostly(
    st.tuples(st.floats(6.9, 7.7), st.floats(43.5, 44.2)).map(list),
    st.one_of(st.lists(st.floats(-200, 200, allow_nan=False), max_size=3), JSON_VALUE),
)


@st.composite
def ring(draw: st.DrawFn) -> list[Any]:
    points = draw(st.lists(POSITION, min_size=3, max_size=6))
    return points + points[:1] if draw(USUALLY) else points


GEOMETRY = mostly(
    st.one_of(
        st.builds(lambda p: {"type": "Point", "coordinates": p}, POSITION),
        st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, ring()),
        st.builds(
            lambda rs: {"type": "MultiPolygon", "coordinates": [[r] for r in rs]},
            st.lists(ring(), min_size=1, max_size=2),
        ),
    ),
    st.one_of(
        st.none(),
        JSON_VALUE,
        st.builds(lambda v: {"type": "Polygon", "coordinates": v}, JSON_VALUE),
    ),
)
GOOD_PROPERTIES = st.fixed_dictionaries(
    {"id": st.sampled_from(["f-1", "f-2", "f-3"]), "title": WORDS},
    optional={
        "kind": st.sampled_from(["inondation", "feu", "autre", "volcan"]),
        "severity": st.sampled_from(["severe", "extreme", "unknown", "apocalyptic"]),
        "description": TEXT,
        "occurred_at": INSTANT,
        "status": st.sampled_from(["Actual", "exercise", "Test", "Rumour"]),
        "insee": st.lists(st.sampled_from(["06088", "06127", "6088"]), max_size=2),
        "state": st.sampled_from(["open", "closed"]),
        "place": TEXT,
    },
)
BAD_PROPERTIES = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "title",
            "kind",
            "severity",
            "description",
            "occurred_at",
            "status",
            "insee",
            "state",
            "place",
        ]
    ),
    JSON_VALUE,
    min_size=1,
    max_size=2,
)
FEATURE = st.builds(
    lambda geometry, good, bad, feature_id: {
        "type": "Feature",
        "geometry": geometry,
        "properties": good | bad,
        **feature_id,
    },
    GEOMETRY,
    GOOD_PROPERTIES,
    mostly(st.just({}), BAD_PROPERTIES),
    mostly(st.just({}), st.dictionaries(st.just("id"), JSON_VALUE)),
)


@settings(FUZZ, max_examples=80)
@given(collections=st.lists(st.lists(FEATURE, max_size=3), min_size=1, max_size=3))
def test_generated_geojson_never_breaks_the_intake(collections: list[list[dict[str, Any]]]) -> None:
    documents = [
        orjson.dumps({"type": "FeatureCollection", "features": features})
        for features in collections
    ]
    for outcomes, features in zip(take_all(*documents), collections, strict=True):
        assert len(check(outcomes)) == len(features)


OWN_EVENT = orjson.loads(CORPUS["event_incident_reported.json"])


@settings(FUZZ, max_examples=100)
@given(
    changes=st.dictionaries(
        st.sampled_from([*OWN_EVENT, "recorded_at", "extra"]), JSON_VALUE, max_size=2
    ),
    # A list or an object as `type` breaks the intake: see the regressions below.
    kind=mostly(
        st.sampled_from(["incident.reported", "incident.updated", "plan.activated"]), JSON_LEAF
    ),
    removed=st.sets(st.sampled_from(sorted(OWN_EVENT)), max_size=1),
)
def test_the_projects_own_event_damaged_is_accepted_or_refused(
    changes: dict[str, Any], kind: Any, removed: set[str]
) -> None:
    data = {k: v for k, v in (OWN_EVENT | changes | {"type": kind}).items() if k not in removed}
    data |= {"source": "fuzz", "actor": "feed:fuzz"}
    (outcomes,) = take_all(orjson.dumps(data))
    (outcome,) = check(outcomes)
    if outcome.accepted:
        assert outcome.events[0].source == "fuzz"


# --- regressions: inputs the properties above found, pending a fix in services/intake ---------


def one_alert(area: str = "<area><areaDesc>Nice</areaDesc></area>", resource: str = "") -> bytes:
    return (
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>R-1</identifier>'
        "<sender>a@sdis06.fr</sender><sent>2020-10-02T18:00:00+02:00</sent>"
        "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope><info>"
        "<language>fr-FR</language><category>Met</category><event>Crue</event>"
        "<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>"
        f"{resource}{area}</info></alert>"
    ).encode()


def test_the_regression_template_itself_is_accepted() -> None:
    (outcomes,) = take_all(one_alert())
    assert [o.accepted for o in check(outcomes)] == [True]


@pytest.mark.parametrize("size", ["²", "١٢³"])
def test_a_resource_size_in_non_ascii_digits_does_not_break_the_intake(size: str) -> None:
    resource = f"<resource><resourceDesc>Carte</resourceDesc><size>{size}</size></resource>"
    (outcomes,) = take_all(one_alert(resource=resource))
    check(outcomes)


def test_a_resource_size_too_large_for_an_attachment_is_not_an_internal_error() -> None:
    resource = "<resource><resourceDesc>Carte</resourceDesc><size>999999999999</size></resource>"
    (outcomes,) = take_all(one_alert(resource=resource))
    check(outcomes)


@pytest.mark.parametrize(
    "heights",
    [
        "<altitude>1e400</altitude>",
        "<altitude>nan</altitude>",
        "<altitude>1000000</altitude>",
        "<altitude>-100000</altitude>",
        "<altitude>0</altitude><ceiling>inf</ceiling>",
        "<altitude>1200</altitude><ceiling>300</ceiling>",
    ],
)
def test_an_altitude_or_ceiling_out_of_range_or_order_is_not_an_internal_error(
    heights: str,
) -> None:
    (outcomes,) = take_all(one_alert(area=f"<area><areaDesc>Nice</areaDesc>{heights}</area>"))
    check(outcomes)


@pytest.mark.parametrize("kind", [[], {}, ["incident.reported"]])
def test_an_own_event_whose_type_is_not_a_string_is_refused_at_its_type(kind: Any) -> None:
    (outcomes,) = take_all(orjson.dumps(OWN_EVENT | {"type": kind}))
    (outcome,) = check(outcomes)
    assert outcome.error is not None
    assert outcome.error.path == "$.type"
