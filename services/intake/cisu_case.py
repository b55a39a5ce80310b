"""The createCase of a CISU message (RC-EDA), of the current generation or of RC-EDA 0.4.

What is tolerated and what is refused is listed in `services.intake.cisu`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.values import GeoPoint, Severity
from services.intake.cisu_fields import (
    FieldReader,
    days_apart,
    point_at,
    short_text,
    type_name,
)
from services.intake.errors import Rejection
from services.intake.traps import STALE_AFTER

VICTIM_COUNTS = ("0", "1", "PLUSIEURS", "BEAUCOUP", "INCONNU", "NON DEFINI")
OLD_VICTIM_COUNTS = {"SEVERAL": "PLUSIEURS", "MANY": "BEAUCOUP", "UNKNOWN": "INCONNU"}
SEVERITIES = {
    "EXTREME": Severity.EXTREME,
    "SEVERE": Severity.SEVERE,
    "MODERATE": Severity.MODERATE,
    "MINOR": Severity.MINOR,
    "UNKNOWN": Severity.UNKNOWN,
}
_INSEE = re.compile(r"^([0-9]{2}|2A|2B)[0-9]{3}$")
# Counts above a hundred million people are refused (the events hold no more).
_COUNT_DIGITS = 10
_COUNT_BITS = 34


@dataclass(frozen=True, slots=True)
class Place:
    """Where a case is, as its `location` says."""

    description: str | None
    point: GeoPoint | None
    insee_code: str | None


@dataclass(frozen=True, slots=True)
class Case:
    """A createCase (RC-EDA)."""

    case_id: str
    created: datetime
    nature_code: str
    nature_label: str
    labels: list[str]
    severity: Severity
    place: Place
    texts: list[str]
    victims: str | None
    victims_text: str | None


def read_case(
    reader: FieldReader, content: Mapping[str, Any], path: str, *, case_id: str, sent_at: datetime
) -> Case:
    """Read the createCase at `path` of a message sent at `sent_at`."""
    created = _newer(reader, content, path, ("creation", "createdAt"))
    moment = reader.moment(content, created, path)
    qualification, qualification_path = _qualification(reader, content, path)
    location_name = _newer(reader, content, path, ("location", "caseLocation"))
    location = reader.obj(content, location_name, path, required=True) or {}
    what = reader.obj(qualification, "whatsHappen", qualification_path, required=True) or {}
    what_path = f"{qualification_path}/whatsHappen"
    victims = reader.obj(qualification, "victims", qualification_path)
    victims_path = f"{qualification_path}/victims"
    found = Case(
        case_id=case_id,
        created=moment,
        nature_code=reader.text(what, "code", what_path, required=True) or "",
        nature_label=reader.text(what, "label", what_path, required=True) or "",
        labels=_labels(reader, qualification, qualification_path),
        severity=_severity(reader, content, path),
        place=_place(reader, location, f"{path}/{location_name}"),
        texts=_case_texts(reader, content, path),
        victims=_victims(reader, victims, victims_path),
        victims_text=_victims_text(reader, victims, victims_path),
    )
    if abs(sent_at - moment) > STALE_AFTER:
        reader.warnings.add(
            f"{path}/{created}",
            f"message sent {days_apart(sent_at - moment)} its case's creation "
            f"(more than {STALE_AFTER.days} days apart): kept as sent",
        )
    return found


def _newer(
    reader: FieldReader, content: Mapping[str, Any], path: str, names: tuple[str, str]
) -> str:
    """The name of the field to read, of the current name or of its older generation's."""
    new, old = names
    if content.get(old) is None:
        if content.get(new) is None:
            raise Rejection(f"{new} is missing and the schema requires it", f"{path}/{new}")
        return new
    if content.get(new) is not None:
        reader.warnings.add(f"{path}/{old}", f"{old} (older generation) beside {new}: {new} read")
        return new
    reader.warnings.add(f"{path}/{old}", f"{old} of an older generation of RC-EDA read as {new}")
    return old


def _qualification(
    reader: FieldReader, content: Mapping[str, Any], path: str
) -> tuple[Mapping[str, Any], str]:
    """The case's qualification; older messages carry it as the initial alert's `alertCode`."""
    found = reader.obj(content, "qualification", path)
    if found is not None:
        reader.tolerated(content, "referenceVersion", path)
        return found, f"{path}/qualification"
    alert = reader.obj(content, "initialAlert", path)
    code = reader.obj(alert, "alertCode", f"{path}/initialAlert") if alert else None
    if code is None:
        raise Rejection(
            "qualification is missing and the schema requires it", f"{path}/qualification"
        )
    at = f"{path}/initialAlert/alertCode"
    reader.warnings.add(at, "alertCode of an older generation of RC-EDA read as qualification")
    return code, at


def _labels(reader: FieldReader, qualification: Mapping[str, Any], path: str) -> list[str]:
    """Labels of the location kind, risks and health motive, for the description."""
    found = []
    singles = [("locationKind", reader.obj(qualification, "locationKind", path))]
    singles.append(("healthMotive", reader.obj(qualification, "healthMotive", path)))
    for name, single in singles:
        if single is not None:
            found.append(reader.text(single, "label", f"{path}/{name}"))
    for name in ("riskThreat", "riskThreats"):
        for i, item in enumerate(reader.items(qualification, name, path)):
            if not isinstance(item, Mapping):
                raise Rejection(
                    f"{name} must hold objects, not {type_name(item)}", f"{path}/{name}/{i}"
                )
            found.append(reader.text(item, "label", f"{path}/{name}/{i}"))
    return [label for label in found if label]


def _severity(reader: FieldReader, content: Mapping[str, Any], path: str) -> Severity:
    """RC-EDA 0.4's `severity` (EXTREME…UNKNOWN); later generations have no gravity field."""
    if content.get("severity") is None:
        return Severity.UNKNOWN
    value = reader.choice(content, "severity", path, SEVERITIES)
    reader.warnings.add(f"{path}/severity", "severity of an older generation of RC-EDA read")
    return SEVERITIES[value]


def _place(reader: FieldReader, location: Mapping[str, Any], path: str) -> Place:
    for name in ("locID", "country"):
        reader.tolerated(location, name, path)
    address_name = "address" if location.get("detailedAddress") is None else "detailedAddress"
    if address_name == "address" and location.get("address") is not None:
        reader.warnings.add(f"{path}/address", "address of an older generation read")
    address = reader.obj(location, address_name, path)
    city = reader.obj(location, "city", path)
    geometry = reader.obj(location, "geometry", path)
    if geometry is not None:
        reader.tolerated(geometry, "obsDatime", f"{path}/geometry")
    point_object = reader.obj(geometry, "point", f"{path}/geometry") if geometry else None
    point = point_at(reader, point_object, f"{path}/geometry/point")
    if point_object is not None:
        reader.tolerated(
            point_object.get("coord") or {}, "precision", f"{path}/geometry/point/coord"
        )
    words = [
        reader.text(location, "locLabel", path),
        reader.text(location, "name", path),
        reader.text(address, "complete", f"{path}/{address_name}") if address else None,
        _city_words(reader, city, f"{path}/city"),
        reader.text(location, "freetext", path),
    ]
    insee = _insee(reader, city, f"{path}/city")
    description = "; ".join(dict.fromkeys(w for w in words if w)) or None
    if not (description or point or insee):
        raise Rejection("the case's location says nowhere: no label, address, city or point", path)
    return Place(description=short_text(description), point=point, insee_code=insee)


def _city_words(reader: FieldReader, city: Mapping[str, Any] | None, path: str) -> str | None:
    if city is None:
        return None
    name = reader.text(city, "name", path)
    detail = reader.text(city, "detail", path)
    return " ".join(w for w in (name, f"({detail})" if detail else None) if w) or None


def _insee(reader: FieldReader, city: Mapping[str, Any] | None, path: str) -> str | None:
    code = reader.text(city, "inseeCode", path) if city else None
    if code is None:
        return None
    if not _INSEE.match(code):
        reader.warnings.add(f"{path}/inseeCode", f"{code[:20]!r} is not an INSEE code: left out")
        return None
    return code


def _case_texts(reader: FieldReader, content: Mapping[str, Any], path: str) -> list[str]:
    """The case's free text: an array now, one string in RC-EDA 0.4."""
    if isinstance(content.get("freetext"), str):
        reader.warnings.add(f"{path}/freetext", "freetext as one string (older generation) read")
        return [t for t in [reader.text(content, "freetext", path)] if t]
    texts = reader.texts(content, "freetext", path)
    alert = reader.obj(content, "initialAlert", path)
    if alert is not None:
        at = f"{path}/initialAlert"
        for i, note in enumerate(reader.items(alert, "notes", at)):
            if not isinstance(note, Mapping):
                raise Rejection(
                    f"notes must hold objects, not {type_name(note)}", f"{at}/notes/{i}"
                )
            texts += [t for t in [reader.text(note, "freetext", f"{at}/notes/{i}")] if t]
        reporting = reader.text(alert, "reporting", at)
        if reporting and reporting.upper() == "ATTENTION":
            texts.append("Signalement : ATTENTION")
    return texts


def _victims(reader: FieldReader, victims: Mapping[str, Any] | None, path: str) -> str | None:
    """The victims count, in the CISU nomenclature; a plain number is read with a warning."""
    if victims is None or victims.get("count") is None:
        return None
    value = victims["count"]
    at = f"{path}/count"
    if isinstance(value, int) and not isinstance(value, bool):
        reader.warnings.add(at, "count given as a number, not a string of the nomenclature")
        value = str(value) if value.bit_length() < _COUNT_BITS else "9" * _COUNT_DIGITS
    if not isinstance(value, str):
        raise Rejection(f"count must be a string, not {type_name(value)}", at)
    value = value.strip()
    if value.upper() in OLD_VICTIM_COUNTS:
        reader.warnings.add(at, f"{value!r} of an older generation read")
        return OLD_VICTIM_COUNTS[value.upper()]
    if re.fullmatch(r"-[0-9]+", value):
        raise Rejection(f"a count cannot be negative ({value[:20]})", at)
    if value.isascii() and value.isdigit() and value not in VICTIM_COUNTS:
        if len(value) >= _COUNT_DIGITS:
            raise Rejection(f"a count of {value[:20]}… people is not believable", at)
        reader.warnings.add(at, f"{value!r} is not in the CISU nomenclature: read as a number")
        return str(int(value))
    return reader.enumerated(value, at, VICTIM_COUNTS)


def _victims_text(reader: FieldReader, victims: Mapping[str, Any] | None, path: str) -> str | None:
    if victims is None:
        return None
    main = reader.text(victims, "mainVictim", path)
    said = reader.text(victims, "freetext", path) or reader.text(victims, "comment", path)
    return (
        "; ".join(w for w in (main and f"victime principale : {main.lower()}", said) if w) or None
    )
