"""EDXL-DE 2.0 envelopes, XML and Hub Santé JSON: what they carry, what is warned, what is refused.

The documents are in tests/data/intake/edxl2/ (see its README). Refusals are made from them by
removing or changing one element or member, so that each test shows the one thing at fault.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.edxl import (
    EDXL_DE_2,
    MAX_CONTENTS,
    Carried,
    is_edxl2_json,
    is_edxl2_xml,
    read_edxl2_json,
    read_edxl2_xml,
)
from services.intake.errors import Rejection, Warnings
from services.intake.xmlsafe import local, namespace, parse_xml

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data" / "intake" / "edxl2"
MAX_BYTES = 768 * 1024
CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
CISU = "urn:emergency:cisu:2.0"
ROOT = "/edxlDistribution"
OBJECT0 = f"{ROOT}/content[0]/contentObject[0]"
OBJECT1 = f"{ROOT}/content[0]/contentObject[1]"
MESSAGE0 = "/content[0]/jsonContent/embeddedJsonContent/message"
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300)


def tree(name: str) -> Element:
    return parse_xml((DATA / name).read_bytes(), max_bytes=MAX_BYTES).root


def document(name: str) -> dict[str, Any]:
    loaded = orjson.loads((DATA / name).read_bytes())
    assert isinstance(loaded, dict)
    return loaded


def read_xml(root: Element, now: datetime | None = None) -> tuple[list[Carried], Warnings]:
    warnings = Warnings()
    return read_edxl2_xml(root, warnings, max_bytes=MAX_BYTES, now=now), warnings


def read_json(data: Any, max_bytes: int = MAX_BYTES) -> tuple[list[Carried], Warnings]:
    warnings = Warnings()
    return read_edxl2_json(data, warnings, max_bytes=max_bytes), warnings


def qualified(name: str) -> str:
    return f"{{{EDXL_DE_2}}}{name}"


def child(parent: Element, name: str) -> Element:
    found = parent.find(qualified(name))
    assert found is not None, name
    return found


def objects(root: Element) -> list[Element]:
    return root.findall(f"{{{EDXL_DE_2}}}content/{{{EDXL_DE_2}}}contentObject")


def other_content(mime: str, data: str, size: int | None = None) -> Element:
    """An envelope whose only content object is an otherContent."""
    root = tree("one_broken.xml")
    content = child(root, "content")
    for obj in objects(root):
        content.remove(obj)
    other = SubElement(SubElement(content, qualified("contentObject")), qualified("otherContent"))
    SubElement(other, qualified("mimeType")).text = mime
    if size is not None:
        SubElement(other, qualified("size")).text = str(size)
    SubElement(other, qualified("contentData")).text = data
    return root


def refusal_of_xml(root: Element) -> Rejection:
    with pytest.raises(Rejection) as caught:
        read_xml(root)
    return caught.value


def refusal_of_json(data: Any) -> Rejection:
    with pytest.raises(Rejection) as caught:
        read_json(data)
    return caught.value


def identifier(alert: Element | None) -> str | None:
    assert alert is not None
    return alert.findtext(f"{{{CAP12}}}identifier")


# --- What is carried -----------------------------------------------------------------------------


def test_an_embedded_cap_alert_is_the_element_of_the_tree_itself_with_the_exercise_imposed() -> (
    None
):
    root = tree("cap_exercise.xml")
    carried, warnings = read_xml(root)
    first = carried[0]
    embedded = root.find(".//{*}embeddedXMLContent/{*}alert")
    assert first.xml is embedded  # never parsed twice
    assert first.path == f"{OBJECT0}/contentXML/embeddedXMLContent"
    assert identifier(first.xml) == "PREF06-EXERCICE-20201002-0031"
    assert (first.status, first.sender, first.error, first.json) == (
        "Exercise",
        "fr.gouv.pref06.cod",
        None,
        None,
    )
    assert list(warnings) == []


def test_a_base64_cap_alert_is_decoded_parsed_and_given_the_envelopes_status() -> None:
    carried, warnings = read_xml(tree("cap_exercise.xml"))
    second = carried[1]
    assert second.path == f"{OBJECT1}/otherContent/contentData"
    assert second.xml is not None
    assert namespace(second.xml.tag) == CAP12
    assert identifier(second.xml) == "SDIS06-CTA-20201002-0417"
    assert (second.status, second.error) == ("Exercise", None)
    assert len(carried) == 2
    assert list(warnings) == []  # the declared size is right


def test_a_base64_cap_alert_in_json_is_read_as_in_xml() -> None:
    carried, warnings = read_json(document("cap_base64.json"))
    (only,) = carried
    assert only.path == "/content[0]/otherContent/contentData"
    assert identifier(only.xml) == "SDIS06-CTA-20201002-0417"
    assert (only.status, only.sender) == ("Exercise", "fr.fire.sdis06.cta")
    assert list(warnings) == []


def test_the_base64_in_the_documents_is_the_exact_bytes_of_their_sources() -> None:
    alert = (DATA / "alert_tende.xml").read_bytes()
    data = tree("cap_exercise.xml").findtext(".//{*}otherContent/{*}contentData") or ""
    assert base64.b64decode("".join(data.split())) == alert
    other = document("cap_base64.json")["content"][0]["otherContent"]
    assert base64.b64decode(other["contentData"]) == alert
    assert other["size"] == len(alert)
    message = tree("cisu_message.xml").findtext(".//{*}otherContent/{*}contentData") or ""
    assert base64.b64decode(message) == (DATA / "message_create_case.json").read_bytes()


def test_a_cisu_message_in_xml_and_a_base64_json_message_are_both_carried() -> None:
    carried, warnings = read_xml(tree("cisu_message.xml"))
    xml, json = carried
    assert xml.xml is not None
    assert (local(xml.xml.tag), namespace(xml.xml.tag)) == ("message", CISU)
    assert json.path == f"{OBJECT1}/otherContent/contentData"
    assert json.json == orjson.loads((DATA / "message_create_case.json").read_bytes())
    assert json.json["createCase"]["caseId"] == "FR06-SDIS-20201002-0418"
    assert all(c.status is None and c.sender == "fr.fire.sdis06.cta" for c in carried)
    assert list(warnings) == []


def test_the_hub_sante_json_message_object_is_carried_as_it_is() -> None:
    data = document("create_case.json")
    carried, warnings = read_json(data)
    (only,) = carried
    assert only.path == MESSAGE0
    assert only.json is data["content"][0]["jsonContent"]["embeddedJsonContent"]["message"]
    assert set(only.json) >= {"messageId", "sender", "createCase"}
    assert (only.status, only.sender, only.error, only.xml) == (
        None,
        "fr.fire.sdis06.cta",
        None,
        None,
    )
    assert list(warnings) == []


def test_a_broken_xml_content_gives_its_error_and_the_other_content_is_still_read() -> None:
    carried, _ = read_xml(tree("one_broken.xml"))
    good, broken = carried
    assert good.error is None
    assert identifier(good.xml) == "PREF06-COD-20201002-0032"
    assert broken.xml is None
    assert broken.error is not None
    assert broken.error.reason == "contentData is not valid base64"
    assert broken.error.path == broken.path == f"{OBJECT1}/otherContent/contentData"


def test_a_broken_json_content_gives_its_error_and_the_other_content_is_still_read() -> None:
    carried, _ = read_json(document("one_broken.json"))
    good, broken = carried
    assert good.error is None
    assert good.json["createCase"]["caseId"] == "FR06-SAMU-20201002-0102"
    assert broken.error is not None
    assert broken.json is None
    assert "must be an object, not a string" in broken.error.reason
    assert broken.error.path == "/content[1]/jsonContent/embeddedJsonContent/message"
    assert good.status == broken.status == "Exercise"


def test_the_earlier_hub_sante_content_object_form_is_read_with_a_warning() -> None:
    carried, warnings = read_json(document("content_object_form.json"))
    (only,) = carried
    assert only.path == "/content/contentObject/jsonContent/embeddedJsonContent/message"
    assert only.json["createCase"]["caseId"] == "FR06-SAMU-20201002-0104"
    assert any(w.startswith("/content:") and "earlier Hub Santé" in w for w in warnings)


# --- Status --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "imposed", "warned"),
    [
        ("Actual", None, False),
        ("Exercise", "Exercise", False),
        ("System", "System", False),
        ("Test", "Test", False),
        ("Unknown", "Draft", True),
        ("NoAppropriateDefault", "Draft", True),
        ("exercise", "Exercise", True),
    ],
)
def test_the_distribution_status_is_imposed_as_the_cap_word(
    written: str, imposed: str | None, warned: bool
) -> None:
    root = tree("cisu_message.xml")
    child(root, "distributionStatus").text = written
    data = document("create_case.json") | {"distributionStatus": written}
    for carried, warnings in (read_xml(root), read_json(data)):
        assert {c.status for c in carried} == {imposed}
        assert any("distributionStatus" in w for w in warnings) == warned


# --- Refusals ------------------------------------------------------------------------------------

REQUIRED = ["distributionID", "senderID", "dateTimeSent", "distributionStatus", "distributionKind"]


@pytest.mark.parametrize("name", [*REQUIRED, "content"])
def test_an_xml_envelope_without_a_required_element_is_refused_naming_it(name: str) -> None:
    root = tree("cap_exercise.xml")
    root.remove(child(root, name))
    refusal = refusal_of_xml(root)
    assert refusal.path == f"{ROOT}/{name}"
    assert name in refusal.reason
    assert "required" in refusal.reason


@pytest.mark.parametrize("name", [*REQUIRED, "content"])
def test_a_json_envelope_without_a_required_member_is_refused_naming_it(name: str) -> None:
    data = document("create_case.json")
    del data[name]
    refusal = refusal_of_json(data)
    assert refusal.path == f"/{name}"
    assert name in refusal.reason
    assert "required" in refusal.reason


def test_an_empty_required_element_is_refused_like_a_missing_one() -> None:
    root = tree("cap_exercise.xml")
    child(root, "senderID").text = "  "
    assert refusal_of_xml(root).path == f"{ROOT}/senderID"


def test_an_envelope_with_no_content_object_is_refused() -> None:
    root = tree("cap_exercise.xml")
    for obj in objects(root):
        child(root, "content").remove(obj)
    assert refusal_of_xml(root).path == f"{ROOT}/content"
    refusal = refusal_of_json(document("create_case.json") | {"content": []})
    assert (refusal.path, "no content object" in refusal.reason) == ("/content", True)


def test_an_unknown_distribution_status_is_refused_with_the_values_allowed() -> None:
    root = tree("cap_exercise.xml")
    child(root, "distributionStatus").text = "Real"
    refusal = refusal_of_xml(root)
    assert refusal.path == f"{ROOT}/distributionStatus"
    assert "'Real' is not one of Actual, Exercise, System, Test" in refusal.reason
    json_refusal = refusal_of_json(document("create_case.json") | {"distributionStatus": "Drill"})
    assert json_refusal.path == "/distributionStatus"


@pytest.mark.parametrize("sent", ["hier soir", "2020-10-02T22:00:00", "2020-13-02T22:00:00Z"])
def test_a_date_time_sent_that_cannot_be_read_is_refused(sent: str) -> None:
    root = tree("cap_exercise.xml")
    child(root, "dateTimeSent").text = sent
    refusal = refusal_of_xml(root)
    assert refusal.path == f"{ROOT}/dateTimeSent"
    assert "time zone offset" in refusal.reason
    assert refusal_of_json(document("create_case.json") | {"dateTimeSent": sent}).path == (
        "/dateTimeSent"
    )


def test_a_required_element_given_twice_is_refused() -> None:
    root = tree("cap_exercise.xml")
    status = SubElement(root, f"{{{EDXL_DE_2}}}distributionStatus")
    status.text = "Actual"
    refusal = refusal_of_xml(root)
    assert (refusal.path, "appears 2 times" in refusal.reason) == (
        f"{ROOT}/distributionStatus",
        True,
    )


@pytest.mark.parametrize(
    ("member", "value", "path", "words"),
    [
        ("distributionStatus", 1, "/distributionStatus", "must be a string, not a number"),
        ("senderID", {"id": "x"}, "/senderID", "must be a string, not an object"),
        ("dateTimeSent", ["2020-10-02"], "/dateTimeSent", "must be a string, not a list"),
        ("dateTimeExpires", True, "/dateTimeExpires", "must be a string, not a boolean"),
        ("content", "message", "/content", "must be a list of content objects, not a string"),
        ("content", 3, "/content", "not a number"),
        ("descriptor", "fr-FR", "/descriptor", "must be an object, not a string"),
    ],
)
def test_json_of_the_wrong_type_in_the_envelope_is_refused_with_its_path(
    member: str, value: object, path: str, words: str
) -> None:
    refusal = refusal_of_json(document("create_case.json") | {member: value})
    assert refusal.path == path
    assert words in refusal.reason


@pytest.mark.parametrize("value", [[], "envelope", 12, None])
def test_a_json_document_that_is_not_an_object_is_refused(value: object) -> None:
    refusal = refusal_of_json(value)
    assert (refusal.path, "is a JSON object" in refusal.reason) == ("/", True)


@pytest.mark.parametrize(
    ("content", "path", "words"),
    [
        ("texte", "/content[1]", "is an object, not a string"),
        ({"jsonContent": []}, "/content[1]/jsonContent", "must be an object, not a list"),
        ({"jsonContent": {}}, "/content[1]/jsonContent/embeddedJsonContent", "not null"),
        ({"xmlContent": "<alert/>"}, "/content[1]", "neither jsonContent nor otherContent"),
        ({"otherContent": {"contentData": 12}}, "/content[1]/otherContent/contentData", "number"),
    ],
)
def test_a_json_content_of_the_wrong_type_is_one_error_not_a_refusal_of_the_envelope(
    content: object, path: str, words: str
) -> None:
    data = document("create_case.json")
    data["content"].append(content)
    good, bad = read_json(data)[0]
    assert good.error is None
    assert bad.error is not None
    assert (bad.error.path, bad.path) == (path, path)
    assert words in bad.error.reason


def test_more_than_a_thousand_contents_are_refused() -> None:
    data = document("create_case.json")
    data["content"] = data["content"] * (MAX_CONTENTS + 1)
    refusal = refusal_of_json(data)
    assert (refusal.path, "1,001 content objects" in refusal.reason) == ("/content", True)
    root = tree("one_broken.xml")
    content = child(root, "content")
    for _ in range(MAX_CONTENTS):
        SubElement(content, f"{{{EDXL_DE_2}}}contentObject")
    assert "1,002 content objects" in refusal_of_xml(root).reason


def test_exactly_a_thousand_contents_are_read() -> None:
    data = document("create_case.json")
    data["content"] = data["content"] * MAX_CONTENTS
    assert len(read_json(data)[0]) == MAX_CONTENTS


# --- Expiry --------------------------------------------------------------------------------------


def test_an_envelope_that_expires_before_it_is_sent_is_read_with_a_warning() -> None:
    carried, warnings = read_xml(tree("expires_before_sent.xml"))
    assert len(carried) == 1
    assert carried[0].error is None
    assert list(warnings) == [
        f"{ROOT}/dateTimeExpires: expires 2020-10-02T22:00:00+02:00 at or before it was sent: "
        "read anyway"
    ]


def test_an_envelope_expired_when_received_is_still_read_with_a_warning() -> None:
    received = datetime(2020, 10, 5, 8, 0, tzinfo=UTC)
    carried, warnings = read_xml(tree("cisu_message.xml"), now=received)
    assert len(carried) == 2
    assert any("expired 2020-10-03T21:42:00+02:00, before it was received" in w for w in warnings)
    _, fresh = read_xml(tree("cisu_message.xml"), now=datetime(2020, 10, 2, 20, 0, tzinfo=UTC))
    assert list(fresh) == []


@pytest.mark.parametrize("expires", [None, "demain"])
def test_a_missing_or_unreadable_expiry_is_a_warning_as_edxl_de_requires_it(
    expires: str | None,
) -> None:
    data = document("create_case.json")
    if expires is None:
        del data["dateTimeExpires"]
    else:
        data["dateTimeExpires"] = expires
    carried, warnings = read_json(data)
    assert carried[0].error is None
    assert [w.split(":")[0] for w in warnings] == ["/dateTimeExpires"]


# --- Namespace generations and detection ---------------------------------------------------------


def test_a_2_0_envelope_in_the_1_0_namespace_is_read_with_a_warning() -> None:
    root = tree("namespace_de1.xml")
    assert is_edxl2_xml(root)
    carried, warnings = read_xml(root)
    assert carried[0].path == f"{OBJECT0}/contentXML/embeddedXMLContent"
    assert carried[0].status == "Test"
    assert list(warnings) == [
        f"{ROOT}: EDXL-DE 1.0 namespace on an EDXL-DE 2.0 envelope: read as 2.0"
    ]


def test_a_2_0_envelope_in_no_namespace_is_read_with_a_warning() -> None:
    raw = (DATA / "cisu_message.xml").read_bytes()
    root = parse_xml(raw.replace(f' xmlns="{EDXL_DE_2}"'.encode(), b""), max_bytes=MAX_BYTES).root
    assert namespace(root.tag) == ""
    assert is_edxl2_xml(root)
    carried, warnings = read_xml(root)
    assert len(carried) == 2
    assert all(c.error is None for c in carried)
    assert list(warnings) == [f"{ROOT}: no namespace: read as an EDXL-DE 2.0 envelope"]


def test_the_1_0_root_name_and_content_names_in_a_2_0_envelope_are_read_with_warnings() -> None:
    raw = (DATA / "cap_exercise.xml").read_bytes()
    for old, new in ((b"edxlDistribution", b"EDXLDistribution"), (b"contentXML", b"xmlContent")):
        raw = raw.replace(old, new)
    root = parse_xml(raw, max_bytes=MAX_BYTES).root
    assert is_edxl2_xml(root)
    carried, warnings = read_xml(root)
    assert carried[0].path == (
        "/EDXLDistribution/content[0]/contentObject[0]/xmlContent/embeddedXMLContent"
    )
    assert identifier(carried[0].xml) == "PREF06-EXERCICE-20201002-0031"
    assert len(warnings) == 2


def test_an_edxl_de_1_0_envelope_is_left_to_the_1_0_reader() -> None:
    one = Path(__file__).resolve().parents[1] / "data" / "intake" / "edxl_de_exercise.xml"
    root = parse_xml(one.read_bytes(), max_bytes=MAX_BYTES).root
    assert not is_edxl2_xml(root)
    assert refusal_of_xml(root).reason == "<EDXLDistribution> is not an EDXL-DE 2.0 envelope"


@pytest.mark.parametrize(
    "xml",
    [
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
        '<edxlDistribution xmlns="urn:example:other"><content/></edxlDistribution>',
        '<feed xmlns="http://www.w3.org/2005/Atom"/>',
    ],
)
def test_other_xml_documents_are_not_edxl_de_2_0(xml: str) -> None:
    assert not is_edxl2_xml(parse_xml(xml.encode(), max_bytes=MAX_BYTES).root)


def test_json_envelopes_are_recognised_and_other_json_is_not() -> None:
    for name in ("create_case.json", "one_broken.json", "cap_base64.json"):
        assert is_edxl2_json(document(name))
    assert is_edxl2_json({"distributionID": "x", "content": []})  # refused later, with reason
    assert not is_edxl2_json({"type": "FeatureCollection", "features": []})
    assert not is_edxl2_json({"type": "IncidentReported", "event_id": "x"})
    assert not is_edxl2_json([document("create_case.json")])


# --- Content kinds -------------------------------------------------------------------------------


def test_a_content_by_uri_only_is_an_error_never_fetched() -> None:
    root = other_content("application/cap+xml", "")
    other = root.find(".//{*}otherContent")
    assert other is not None
    other.remove(other[-1])
    SubElement(other, qualified("uri")).text = "https://example.invalid/alert.xml"
    (only,) = read_xml(root)[0]
    assert only.error is not None
    assert "only a uri, not fetched: https://example.invalid/alert.xml" in only.error.reason


def test_a_content_that_is_neither_xml_nor_json_is_an_error() -> None:
    pdf = base64.b64encode(b"%PDF-1.4 rapport").decode()
    (only,) = read_xml(other_content("application/pdf", pdf))[0]
    assert only.error is not None
    assert only.error.reason == "content of type 'application/pdf' is neither XML nor JSON"


def test_untyped_content_data_is_read_by_its_first_byte_with_a_warning() -> None:
    data = base64.b64encode(b'{"messageId": "m-1"}').decode()
    carried, warnings = read_xml(other_content("application/octet-stream", data))
    assert carried[0].json == {"messageId": "m-1"}
    assert any("read as JSON" in w for w in warnings)


def test_a_base64_alert_with_a_doctype_is_an_error_from_the_safe_parser() -> None:
    hostile = b'<!DOCTYPE alert [<!ENTITY x "y">]><alert xmlns="' + CAP12.encode() + b'"/>'
    (only,) = read_xml(other_content("application/cap+xml", base64.b64encode(hostile).decode()))[0]
    assert only.error is not None
    assert "DOCTYPE" in only.error.reason
    assert only.xml is None


def test_content_data_over_the_size_limit_is_an_error() -> None:
    data = base64.b64encode(b"<alert/>" + b" " * 2000).decode()
    root = other_content("application/cap+xml", data)
    carried = read_edxl2_xml(root, Warnings(), max_bytes=1000)
    assert carried[0].error is not None
    assert "over the limit of 1,000 bytes" in carried[0].error.reason


def test_a_wrong_declared_size_and_escaped_xml_are_read_with_warnings() -> None:
    json = base64.b64encode(b'{"messageId": "m-2"}').decode()
    carried, warnings = read_xml(other_content("application/json", json, size=99))
    assert carried[0].json == {"messageId": "m-2"}
    assert any("size says 99 bytes; the data has 20" in w for w in warnings)
    root = tree("expires_before_sent.xml")
    embedded = root.find(".//{*}embeddedXMLContent")
    assert embedded is not None
    embedded.remove(embedded[0])
    embedded.text = f'<alert xmlns="{CAP12}"><identifier>ESC-1</identifier></alert>'
    escaped, escaped_warnings = read_xml(root)
    assert identifier(escaped[0].xml) == "ESC-1"
    assert any("escaped text" in w for w in escaped_warnings)


def test_an_empty_embedded_xml_content_is_an_error() -> None:
    root = tree("expires_before_sent.xml")
    embedded = root.find(".//{*}embeddedXMLContent")
    assert embedded is not None
    embedded.remove(embedded[0])
    (only,) = read_xml(root)[0]
    assert only.error is not None
    assert only.error.reason == "embeddedXMLContent holds no XML element"


# --- Random damage: a list of Carried or a Rejection, never another exception --------------------

GARBAGE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "Actual", "Exercise", "2020-10-02T22:00:00+02:00", "PGEvPg==", "<a/>"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
JSON_BASES = ["create_case.json", "one_broken.json", "cap_base64.json", "content_object_form.json"]
XML_BASES = ["cap_exercise.xml", "cisu_message.xml", "one_broken.xml", "namespace_de1.xml"]


def json_spots(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as the keys and indexes that lead to it."""
    spots = [at]
    if isinstance(value, dict):
        spots += [s for key, item in value.items() for s in json_spots(item, (*at, key))]
    elif isinstance(value, list):
        spots += [s for i, item in enumerate(value) for s in json_spots(item, (*at, i))]
    return spots


def damage_json(data: Any, spot: tuple[Any, ...], garbage: Any, *, remove: bool) -> Any:
    if not spot:
        return garbage
    parent = data
    for key in spot[:-1]:
        parent = parent[key]
    if remove:
        del parent[spot[-1]]
    else:
        parent[spot[-1]] = garbage
    return data


@st.composite
def damaged_json(draw: st.DrawFn) -> Any:
    data: Any = copy.deepcopy(document(draw(st.sampled_from(JSON_BASES))))
    for _ in range(draw(st.integers(1, 3))):
        spot = draw(st.sampled_from(json_spots(data)))
        data = damage_json(data, spot, draw(GARBAGE), remove=draw(st.booleans()))
    return data


@st.composite
def damaged_xml(draw: st.DrawFn) -> Element:
    root = tree(draw(st.sampled_from(XML_BASES)))
    for _ in range(draw(st.integers(1, 3))):
        parents = {c: p for p in root.iter() for c in p}
        element = draw(st.sampled_from([root, *parents]))
        action = draw(st.sampled_from(["remove", "text", "rename", "namespace"]))
        if action == "remove" and element in parents:
            parents[element].remove(element)
        elif action == "text":
            element.text = draw(st.text(max_size=40) | st.sampled_from(["", "Actual", "PGEvPg=="]))
        elif action == "rename":
            element.tag = draw(st.sampled_from(["content", "contentObject", "otherContent", "x"]))
        else:
            ns = draw(st.sampled_from(["", EDXL_DE_2, "urn:x"]))
            element.tag = f"{{{ns}}}{local(element.tag)}" if ns else local(element.tag)
    return root


def check_outcome(read: Callable[[], list[Carried]]) -> None:
    """The read gives a list of Carried, each with a payload or an error, or a Rejection."""
    try:
        carried = read()
    except Rejection as exc:
        refusal = exc
    else:
        check_carried(carried)
        return
    assert refusal.reason
    assert refusal.path


def check_carried(carried: list[Carried]) -> None:
    for item in carried:
        assert isinstance(item, Carried)
        assert (item.error is None) == (item.xml is not None or item.json is not None)
        assert item.error is None or item.error.path


@FUZZ
@given(data=damaged_json())
def test_damaged_json_envelopes_give_carried_contents_or_a_refusal(data: Any) -> None:
    is_edxl2_json(data)
    check_outcome(lambda: read_json(data)[0])


@FUZZ
@given(root=damaged_xml())
def test_damaged_xml_envelopes_give_carried_contents_or_a_refusal(root: Element) -> None:
    is_edxl2_xml(root)
    check_outcome(lambda: read_xml(root, now=datetime(2020, 10, 3, tzinfo=UTC))[0])
