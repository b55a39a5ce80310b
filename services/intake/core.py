"""One input in, one outcome per alert or feature out: accepted with its events, or refused.

The intake never raises on bad input: every refusal is an outcome with its reason and the path
of the element at fault, so that the caller keeps the raw input with that reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from xml.etree.ElementTree import Element

import orjson
import structlog

from schemas.envelope import Envelope, utc_now
from schemas.values import Attachment
from services.intake.cap import is_cap, read_alert
from services.intake.containers import Found, find_alerts
from services.intake.correlation import CorrelationIndex, IncidentRef, Overlay
from services.intake.edxl import (
    Carried,
    is_edxl2_json,
    is_edxl2_xml,
    read_edxl2_json,
    read_edxl2_xml,
)
from services.intake.errors import Rejection, Warnings
from services.intake.fetch import Fetcher
from services.intake.formats import Found as FoundMessage
from services.intake.formats import in_json, in_xml
from services.intake.geojson import Feature as _Feature
from services.intake.geojson import map_feature, read_features
from services.intake.links import Fetched, LinkLimits, fetch_links
from services.intake.mapping import OBJECT_BUCKET, Context, Mapped, map_alert
from services.intake.own_events import check_event, read_events
from services.intake.xmlsafe import XmlDocument, local, parse_xml, without_secrets

log = structlog.get_logger(__name__)

Form = Literal["auto", "xml", "geojson", "events"]


@dataclass(frozen=True, slots=True)
class IntakeConfig:
    """How the intake reads: the language to pick, the largest input, how much it may fetch."""

    language: str = "fr"
    max_bytes: int = 768 * 1024
    links: LinkLimits = field(default_factory=LinkLimits)


@dataclass(slots=True)
class Outcome:
    """What became of one alert, feature or event of an input."""

    input: str
    path: str
    accepted: bool
    events: list[Envelope] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: Rejection | None = None
    alert: str | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)
    learnt: list[tuple[list[str], IncidentRef]] = field(default_factory=list)
    # The events as wire dicts, made once: the index learns from them once they are published.
    wires: list[dict[str, Any]] = field(default_factory=list)
    # A refusal caused by a fault of ours rather than of the input (never expected).
    internal: bool = False
    # Neither accepted nor refused: why it was not read (a link not fetched in a dry run).
    skipped: str | None = None

    @property
    def refused(self) -> bool:
        """Refused: bad input, kept with its reason (a link not fetched is not refused)."""
        return not self.accepted and self.skipped is None

    @property
    def verdict(self) -> str:
        """accepted, refused, or what was not done (`not fetched`)."""
        if self.skipped is not None:
            return self.skipped
        return "accepted" if self.accepted else "refused"

    def to_json(self) -> dict[str, Any]:
        """The outcome as `crisis feed --json` prints it and the HTTP intake answers it."""
        return {
            "input": self.input,
            "path": self.path,
            "alert": self.alert,
            "accepted": self.accepted,
            "outcome": self.verdict,
            "events": (
                self.wires
                if len(self.wires) == len(self.events)
                else [event.to_wire() for event in self.events]
            ),
            "warnings": [*self.warnings, *self.notes],
            "error": (
                {"reason": self.error.reason, "path": self.error.path} if self.error else None
            ),
        }


class Intake:
    """Reads inputs into outcomes, with the correlation index to say which incident is which."""

    def __init__(
        self,
        index: CorrelationIndex,
        config: IntakeConfig | None = None,
        *,
        fetch: Fetcher | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.index = index
        self.config = config or IntakeConfig()
        self.fetch = fetch
        self.clock = clock

    async def take(
        self,
        raw: bytes,
        *,
        name: str,
        feed: str,
        form: Form = "auto",
        crisis: str | None = None,
        content_type: str | None = None,
        fetch: Fetcher | None = None,
    ) -> list[Outcome]:
        """Every outcome of one input, in the order found. Nothing is published here.

        `fetch` gets what feed entries link to (default: the intake's own fetcher, if any).
        """
        fetched = await self.fetch_links(raw, name=name, form=form, fetch=fetch)
        return await self.read(
            raw,
            name=name,
            feed=feed,
            form=form,
            crisis=crisis,
            content_type=content_type,
            fetched=fetched,
        )

    async def fetch_links(
        self, raw: bytes, *, name: str, form: Form = "auto", fetch: Fetcher | None = None
    ) -> Fetched | None:
        """What the entries of an Atom or RSS input link to; None when links are not followed.

        The index is not used: the live intake calls this before the input's turn to be read.
        """
        fetch = fetch or self.fetch
        if fetch is None:
            return None
        if (form if form != "auto" else sniff(raw)) != "xml":
            return Fetched()
        max_bytes = self.config.max_bytes
        try:
            document = parse_xml(raw, max_bytes=max_bytes)
        except Rejection:  # reading the input again in its turn gives the refusal
            return Fetched()
        try:
            found = find_alerts(document, max_bytes=max_bytes)
        except Exception:  # noqa: BLE001 (not a feed: read in its turn, refused there if bad)
            return Fetched(document=document)
        links = [f.link for f in found if f.link is not None]
        fetched = await fetch_links(links, fetch, base=name, limits=self.config.links)
        fetched.document = document
        return fetched

    async def read(
        self,
        raw: bytes,
        *,
        name: str,
        feed: str,
        form: Form = "auto",
        crisis: str | None = None,
        content_type: str | None = None,
        fetched: Fetched | None = None,
    ) -> list[Outcome]:
        """Every outcome of one input whose links were fetched already (`fetch_links`)."""
        job = _Job(self, raw, name=name, feed=feed, crisis=crisis, content_type=content_type)
        job.fetch = fetched
        job.parsed = fetched.document if fetched is not None else None
        try:
            return await job.run(form if form != "auto" else sniff(raw))
        except Rejection as exc:
            return [job.refused(exc, exc.path or "/")]


def sniff(raw: bytes) -> Form:
    """XML or JSON, from the first significant byte; XML when unsure (it refuses best)."""
    if _type_of(raw) == "application/json":
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return "events"
        is_geo = isinstance(document, dict) and document.get("type") in (
            "Feature",
            "FeatureCollection",
        )
        return "geojson" if is_geo else "events"
    return "xml"


def _type_of(raw: bytes) -> str:
    """The media type of an input that came without one: JSON or XML, by its first byte."""
    head = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "application/json" if head[:1] in (b"{", b"[") else "application/xml"


class _Job:
    """One input being read."""

    def __init__(
        self,
        intake: Intake,
        raw: bytes,
        *,
        name: str,
        feed: str,
        crisis: str | None,
        content_type: str | None,
    ) -> None:
        self.intake = intake
        self.raw = raw
        self.name = name
        self.feed = feed
        self.crisis = crisis
        self.content_type = content_type
        self.overlay: Overlay = intake.index.overlay()
        self.received_at = intake.clock()
        # What is kept of the input: as received, less any CAP 1.0 password.
        self.kept = without_secrets(raw)
        self.digest = hashlib.sha256(self.kept).hexdigest()
        self.fetch: Fetcher | None = intake.fetch
        self.parsed: XmlDocument | None = None

    async def run(self, form: Form) -> list[Outcome]:
        max_bytes = self.intake.config.max_bytes
        if form == "geojson":
            return [
                self.feature(f.path, f.data) for f in read_features(self.raw, max_bytes=max_bytes)
            ]
        if form == "events":
            return self.json_input(max_bytes)
        document = self.parsed or parse_xml(self.raw, max_bytes=max_bytes)
        if (messages := self.xml_message(document, max_bytes)) is not None:
            return messages
        outcomes = []
        for found in find_alerts(document, max_bytes=max_bytes):
            outcomes += await self.found(found, document, follow_links=True)
        if not outcomes:  # an empty feed: said, so that no input goes by without a word
            outcomes.append(
                Outcome(
                    input=self.name,
                    path="/",
                    accepted=True,
                    warnings=list(document.warnings),
                    notes=["the input holds no alert: nothing to record"],
                )
            )
        return outcomes

    def json_input(self, max_bytes: int) -> list[Outcome]:
        """A JSON input: an EDXL-DE 2.0 envelope, an EMSI or CISU message, or our own events."""
        events = read_events(self.raw, max_bytes=max_bytes)
        if len(events) == 1 and events[0][0] == "$":
            document = events[0][1]
            if is_edxl2_json(document):
                contents = read_edxl2_json(
                    document, Warnings(), max_bytes=max_bytes, now=self.received_at
                )
                return [self.content(c, []) for c in contents]
            if (found := in_json(document, "")) is not None:
                return [self.message(found, None, [])]
        return [self.event(path, data) for path, data in events]

    def xml_message(self, document: XmlDocument, max_bytes: int) -> list[Outcome] | None:
        """The outcomes of an EDXL-DE 2.0 envelope or an EMSI or CISU message; None for CAP
        and what holds CAP (feeds, EDXL-DE 1.0)."""
        root = document.root
        if is_edxl2_xml(root):
            contents = read_edxl2_xml(
                root, document.warnings, max_bytes=max_bytes, now=self.received_at
            )
            return [self.content(c, document.warnings) for c in contents]
        if (found := in_xml(root, f"/{local(root.tag)}")) is not None:
            return [self.message(found, None, document.warnings)]
        return None

    def refused(
        self,
        error: Rejection,
        path: str,
        warnings: list[str] | None = None,
        alert: str | None = None,
    ) -> Outcome:
        return Outcome(
            input=self.name,
            path=path,
            accepted=False,
            error=error,
            warnings=list(warnings or []),
            alert=alert,
        )

    def accepted(
        self, path: str, mapped: Mapped, warnings: list[str], alert: str | None
    ) -> Outcome:
        for keys, ref in mapped.learnt:
            self.overlay.remember(keys, ref)
        wires = [event.to_wire() for event in mapped.events]
        for wire in wires:  # where incidents are, Cancels, engagements: for what follows
            self.overlay.observe(wire)
        return Outcome(
            input=self.name,
            path=path,
            accepted=True,
            events=mapped.events,
            warnings=warnings,
            notes=mapped.notes,
            alert=alert,
            blobs={**mapped.blobs, **({self.digest: self.kept} if mapped.events else {})},
            learnt=mapped.learnt,
            wires=wires,
        )

    def not_fetched(self, found: Found, warnings: list[str]) -> Outcome:
        return Outcome(
            input=self.name,
            path=found.path,
            accepted=False,
            warnings=list(warnings),
            notes=[f"links to {found.link[:200] if found.link else '?'}: not fetched"],
            skipped="not fetched",
        )

    def internal(self, exc: Exception, path: str) -> Outcome:
        """A refusal caused by a fault of ours: logged, and one item refused, never the intake."""
        log.error("intake.internal_error", input=self.name, path=path, exc_info=exc)
        outcome = self.refused(
            Rejection(f"internal error: {type(exc).__name__}: {exc}", path), path
        )
        outcome.internal = True
        return outcome

    async def found(
        self, found: Found, document: XmlDocument, *, follow_links: bool
    ) -> list[Outcome]:
        try:
            return await self._found(found, document, follow_links=follow_links)
        except Exception as exc:  # noqa: BLE001 (a bug must refuse one alert, not stop the intake)
            return [self.internal(exc, found.path)]

    async def _found(
        self, found: Found, document: XmlDocument, *, follow_links: bool
    ) -> list[Outcome]:
        if found.error is not None:
            return [self.refused(found.error, found.path, document.warnings)]
        if found.link is not None:
            if not follow_links:
                error = Rejection(f"links are not followed here ({found.link[:200]})", found.path)
                return [self.refused(error, found.path, document.warnings)]
            if self.fetch is None:  # a dry run: what the entry links to is not fetched
                return [self.not_fetched(found, document.warnings)]
            return await self.linked(found)
        return [self.alert(found, document.warnings)]

    def content(self, carried: Carried, warnings: list[str]) -> Outcome:
        """One content of an EDXL-DE 2.0 envelope: a CAP alert, an EMSI or a CISU message."""
        try:
            return self._content(carried, warnings)
        except Exception as exc:  # noqa: BLE001 (a bug must refuse one content, not the intake)
            return self.internal(exc, carried.path)

    def _content(self, carried: Carried, warnings: list[str]) -> Outcome:
        if carried.error is not None:
            return self.refused(carried.error, carried.path, warnings)
        payload = carried.xml if carried.xml is not None else carried.json
        if isinstance(payload, Element) and is_cap(payload):
            found = Found(path=carried.path, element=payload, status=carried.status)
            return self.alert(found, warnings)
        if isinstance(payload, Element):
            message = in_xml(payload, carried.path)
        else:
            message = in_json(payload, carried.path)
        if message is None:
            what = f"<{local(payload.tag)}>" if isinstance(payload, Element) else "JSON content"
            error = Rejection(f"{what} is not a CAP alert, an EMSI or a CISU message", carried.path)
            return self.refused(error, carried.path, warnings)
        return self.message(message, carried.status, warnings)

    def message(self, found: FoundMessage, imposed: str | None, warnings: list[str]) -> Outcome:
        """One EMSI or CISU message: read, mapped against the index, accepted or refused."""
        try:
            return self._message(found, imposed, Warnings(warnings))
        except Exception as exc:  # noqa: BLE001 (a bug must refuse one message, not the intake)
            return self.internal(exc, found.path)

    def _message(self, found: FoundMessage, imposed: str | None, warnings: Warnings) -> Outcome:
        kind, path = found.kind, found.path or "$"
        try:
            message = kind.read(found.payload, found.path, warnings)
        except Rejection as exc:
            return self.refused(exc, exc.path or path, warnings)
        try:
            mapped = kind.map(message, self.overlay, self.context(imposed))
        except Rejection as exc:
            return self.refused(exc, exc.path or path, message.warnings, message.key)
        return self.accepted(path, mapped, list(message.warnings), message.key)

    def alert(self, found: Found, base: list[str]) -> Outcome:
        assert found.element is not None  # noqa: S101 (a Found holds one of the three)
        warnings = Warnings(base)
        if found.fields:
            warnings.add(
                found.path,
                "read from the feed entry's CAP fields: a summary, not the whole alert",
            )
        try:
            alert = read_alert(found.element, found.path, warnings)
        except Rejection as exc:
            return self.refused(exc, exc.path or found.path, warnings)
        try:
            mapped = map_alert(alert, self.overlay, self.context(found.status))
        except Rejection as exc:
            return self.refused(exc, exc.path or found.path, alert.warnings, alert.key)
        return self.accepted(found.path, mapped, list(alert.warnings), alert.key)

    async def linked(self, found: Found) -> list[Outcome]:
        assert found.link is not None  # noqa: S101 (checked by the caller)
        assert self.fetch is not None  # noqa: S101 (checked by the caller)
        try:
            raw = await self.fetch(found.link, self.name)
            document = parse_xml(raw, max_bytes=self.intake.config.max_bytes)
            inner = find_alerts(document, max_bytes=self.intake.config.max_bytes)
        except Rejection as exc:
            where = f"{found.path} -> {found.link[:200]}"
            return [self.refused(Rejection(exc.reason, where), where)]
        outcomes = []
        for item in inner:
            located = Found(
                path=f"{found.path} -> {found.link[:200]}{item.path}",
                element=item.element,
                error=item.error,
                status=item.status,
            )
            outcomes += await self.found(located, document, follow_links=False)
        return outcomes

    def context(self, imposed: str | None) -> Context:
        return Context(
            feed=self.feed,
            language=self.intake.config.language,
            received_at=self.received_at,
            imposed_status=imposed,
            original=Attachment(
                description="Input as received",
                mime_type=self.content_type or _type_of(self.raw),
                size=len(self.kept),
                sha256=self.digest,
                uri=f"nats-object://{OBJECT_BUCKET}/{self.digest}",
            ),
            forced_crisis=self.crisis,
        )

    def feature(self, path: str, data: Any) -> Outcome:
        try:
            return self._feature(path, data)
        except Exception as exc:  # noqa: BLE001 (a bug must refuse one feature, not the intake)
            return self.internal(exc, path)

    def _feature(self, path: str, data: Any) -> Outcome:
        try:
            mapped = map_feature(
                _Feature(path, data),
                self.overlay,
                feed=self.feed,
                received_at=self.received_at,
                crisis=self.crisis,
            )
        except Rejection as exc:
            return self.refused(exc, exc.path or path)
        warnings = [w for e in mapped.events for w in getattr(e, "warnings", [])]
        return self.accepted(path, mapped, warnings, None)

    def event(self, path: str, data: Any) -> Outcome:
        try:
            return self._event(path, data)
        except Exception as exc:  # noqa: BLE001 (a bug must refuse one event, not the intake)
            return self.internal(exc, path)

    def _event(self, path: str, data: Any) -> Outcome:
        try:
            event = check_event(
                data, path, self.overlay, feed=self.feed, check_crisis=self.crisis is None
            )
        except Rejection as exc:
            return self.refused(exc, exc.path or path)
        mapped = Mapped(events=[event])
        return self.accepted(path, mapped, Warnings(), None)
