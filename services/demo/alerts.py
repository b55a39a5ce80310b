"""CAP alerts for the demo, taken in through the intake as a flood-warning feed would send them.

Written from the public chronology of storm Alex (Vigicrues red flood vigilance on the Vésubie
and the Roya on 2 October 2020); marked Exercise, like the demo crisis they join.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

SENDER = "vigicrues@developpement-durable.gouv.fr"
FEED = "vigicrues"

_ALERT = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{sent}</sent>
  <status>Exercise</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>{references}
  <info>
    <language>fr-FR</language>
    <category>Met</category>
    <event>Vigilance crues</event>
    <urgency>Immediate</urgency>
    <severity>{severity}</severity>
    <certainty>Observed</certainty>
    <senderName>Vigicrues - SPC Méditerranée Est</senderName>
    <headline>{headline}</headline>
    <description>{description}</description>
    <instruction>{instruction}</instruction>
    <area>
      <areaDesc>{area}</areaDesc>
      <polygon>{polygon}</polygon>
      <geocode><valueName>INSEE</valueName><value>{insee}</value></geocode>
    </area>
  </info>
  <info>
    <language>en-GB</language>
    <category>Met</category>
    <event>Flood warning</event>
    <urgency>Immediate</urgency>
    <severity>{severity}</severity>
    <certainty>Observed</certainty>
    <headline>Flood warning: {area}</headline>
    <area><areaDesc>{area}</areaDesc></area>
  </info>
</alert>
"""

INSTRUCTION = "Ne vous engagez pas sur les routes inondées ; éloignez-vous des cours d'eau."
VESUBIE = "44.10,7.20 44.10,7.30 43.95,7.30 43.95,7.20 44.10,7.20"
ROYA = "44.10,7.45 44.10,7.60 43.90,7.60 43.90,7.45 44.10,7.45"


def _alert(
    identifier: str, sent: str, *, msg_type: str = "Alert", refers: str = "", **text: str
) -> bytes:
    references = f"\n  <references>{SENDER},{refers}</references>" if refers else ""
    text.setdefault("instruction", INSTRUCTION)
    fields = {k: escape(v) for k, v in text.items()}
    return _ALERT.format(
        identifier=identifier,
        sender=SENDER,
        sent=sent,
        msg_type=msg_type,
        references=references,
        **fields,
    ).encode("utf-8")


def demo_alerts() -> list[tuple[str, bytes]]:
    """The demo's CAP alerts, in the order the feed sends them: (name, document)."""
    vesubie = "FR-VIGICRUES-DEMO-VESUBIE-1"
    return [
        (
            "vigicrues-vesubie-rouge.xml",
            _alert(
                vesubie,
                "2020-10-02T13:00:00+02:00",
                severity="Extreme",
                headline="Vigilance rouge crues : Vésubie",
                description="Crue majeure en cours sur la Vésubie ; hauteurs jamais observées.",
                area="Vésubie, Saint-Martin-Vésubie",
                polygon=VESUBIE,
                insee="06127",
            ),
        ),
        (
            "vigicrues-roya-rouge.xml",
            _alert(
                "FR-VIGICRUES-DEMO-ROYA-1",
                "2020-10-02T14:00:00+02:00",
                severity="Extreme",
                headline="Vigilance rouge crues : Roya",
                description="Crue majeure en cours sur la Roya, de Tende à Breil-sur-Roya.",
                area="Roya, Tende et Breil-sur-Roya",
                polygon=ROYA,
                insee="06163",
            ),
        ),
        (
            "vigicrues-vesubie-mise-a-jour.xml",
            _alert(
                "FR-VIGICRUES-DEMO-VESUBIE-2",
                "2020-10-02T20:00:00+02:00",
                msg_type="Update",
                refers=f"{vesubie},2020-10-02T13:00:00+02:00",
                severity="Extreme",
                headline="Vigilance rouge crues : Vésubie, décrue amorcée",
                description="Le pic de crue est passé ; les dégâts sont considérables.",
                area="Vésubie, Saint-Martin-Vésubie",
                polygon=VESUBIE,
                insee="06127",
            ),
        ),
    ]
