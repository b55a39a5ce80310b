"""Storm Alex in the Alpes-Maritimes (1-3 October 2020), as the crisis cell would have recorded it.

Built from the public chronology in `shared/timelines/tempete_alex_alpes-maritimes_2020-10-02.md`.
Where that chronology is vague, the operational detail is invented but does not contradict it. Its
inconsistencies are kept on purpose, because a review must be able to see them:

- the red vigilance is recorded twice: "from Friday morning" by an operator, "from midday" by the
  Météo-France bulletin;
- the missing persons come from different actors and are not cumulative: 2 at Roquebillière
  (the préfecture, on the 2nd) then 8, plus 3 "presumed missing", for the département (SDIS 06,
  on the 3rd);
- the flow and rainfall figures of elected officials are recorded as theirs, to be confirmed.

Pure data: no I/O. Event ids are deterministic, so the same call always gives the same events.
All times are local summer time (Europe/Paris, UTC+02:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import UUID, uuid5

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CrisisOpened,
    DecisionTaken,
    IncidentReported,
    IncidentUpdated,
    MainCouranteEntryRecorded,
    PlanActivated,
    PlanActivationProposed,
    PressReleasePublished,
    PublicAlertIssued,
    ResourceEngaged,
    ResourceReleased,
    ResourceRequested,
    SituationReportIssued,
    TaskAssigned,
    TaskCompleted,
    VigilanceChanged,
)
from schemas.values import (
    AlertChannel,
    Bilan,
    CrisisKind,
    Direction,
    GeoPoint,
    IncidentKind,
    Location,
    Medium,
    PlanCategory,
    Priority,
    ResourceTally,
    Service,
    Severity,
    VigilanceColour,
    VigilancePhenomenon,
)

E = TypeVar("E", bound=Envelope)

# Event ids are uuid5(NAMESPACE, "<crisis_id>:<n>"), n counting the events of the scenario from 1.
NAMESPACE = UUID("974be427-6c38-4755-893b-b246c106b340")

# Summer time in Paris; a fixed offset keeps the module free of any time zone database.
PARIS = timezone(timedelta(hours=2), "CEST")

DEPARTEMENT = "06"
PREFET = "Préfet des Alpes-Maritimes"
DIRECTEUR_DE_CABINET = "Directeur de cabinet"
PREFECTURE_SITE = "https://www.alpes-maritimes.gouv.fr"

# Incidents, numbered in the order the cell heard of them.
VESUBIE = "inc-0001"
MAISSA = "inc-0002"
LANTOSQUE = "inc-0003"
TINEE = "inc-0004"
ROQUEBILLIERE = "inc-0005"
CASTEL = "inc-0006"

ORSEC_INONDATION = "orsec-inondation"
ORSEC_SOUTIEN = "orsec-soutien-populations"

# Resources.
SDIS_VALLEES = "res-sdis06-vallees"
SAMU_SMUR = "res-samu06-smur"
HELICOPTERE = "res-gend-helico-01"
RENFORTS = "res-renforts-uiisc7-colonnes"
AASC_HEBERGEMENT = "res-aasc-hebergement"

# Communes (INSEE codes) and representative points, at the village (approximate).
SAINT_MARTIN_VESUBIE = "06127"
ROQUEBILLIERE_INSEE = "06101"
LANTOSQUE_INSEE = "06075"
NICE = "06088"
SAINT_MARTIN_POINT = GeoPoint(lat=44.0689, lon=7.2553)
MAISSA_POINT = GeoPoint(lat=44.0683, lon=7.2566)
ROQUEBILLIERE_POINT = GeoPoint(lat=44.0131, lon=7.3067)
LANTOSQUE_POINT = GeoPoint(lat=43.9739, lon=7.3117)
CASTEL_POINT = GeoPoint(lat=43.6934, lon=7.2823)


@dataclass(frozen=True)
class _By:
    """Who an event comes from: the feed or service (`source`) and the person or feed (`actor`)."""

    source: str
    actor: str


METEO_FRANCE = _By("meteo-france", "feed:meteo-france")
DIRCAB = _By("console", "dircab.martin")
OPERATEUR = _By("console", "op.dupont")
CELLULE_MOYENS = _By("console", "op.giraud")
SIDPC = _By("console", "sidpc.roux")
COMMUNICATION = _By("prefecture06", "com.bernard")
SDIS = _By("sdis06", "cos.sdis06")
SAMU = _By("samu06", "regulation.samu06")
GENDARMERIE = _By("gendarmerie06", "corg.ggd06")
PLANS = _By("plans", "service:plans")
SITREP = _By("sitrep", "dircab.martin")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of October 2020, Paris time."""
    return datetime(2020, 10, day, hour, minute, tzinfo=PARIS)


class _Recorder:
    """Numbers the events of one crisis, in the order the cell recorded them."""

    def __init__(self, crisis_id: str, status: Status) -> None:
        self.crisis_id = crisis_id
        self.status = status
        self.events: list[Envelope] = []

    def record(
        self,
        cls: type[E],
        at: datetime,
        by: _By,
        *,
        lag: int = 2,
        cause: Envelope | None = None,
        **payload: Any,
    ) -> E:
        """Record a `cls` event that occurred `at`, received `lag` minutes later.

        `cause` sets the causation to that event and the correlation to the start of its chain.
        """
        received_at = at + timedelta(minutes=lag)
        if self.events and received_at < self.events[-1].received_at:
            # Static data: a mistake in the order must show when the module is written, not later.
            raise ValueError(
                f"event {len(self.events) + 1} ({cls.__name__}) would be received at "
                f"{received_at:%d %H:%M}, before the event recorded before it"
            )
        envelope: dict[str, Any] = {
            "event_id": uuid5(NAMESPACE, f"{self.crisis_id}:{len(self.events) + 1}"),
            "crisis_id": self.crisis_id,
            "status": self.status,
            "occurred_at": at,
            "received_at": received_at,
            "source": by.source,
            "actor": by.actor,
        }
        if cause is not None:
            envelope["causation_id"] = cause.event_id
            envelope["correlation_id"] = cause.correlation_id or cause.event_id
        event = cls.model_validate({**envelope, **payload})
        self.events.append(event)
        return event

    def last(self, cls: type[E], **match: object) -> E:
        """The latest `cls` event whose fields equal `match`."""
        for event in reversed(self.events):
            if isinstance(event, cls) and all(getattr(event, k) == v for k, v in match.items()):
                return event
        raise LookupError(f"no {cls.__name__} matching {match} recorded yet")

    @property
    def position(self) -> int:
        """Position of the last event recorded, counting the crisis's events from 1."""
        return len(self.events)

    def resources(self) -> list[ResourceTally]:
        """Units and people engaged so far, by service, in the order of `Service`."""
        units = dict.fromkeys(Service, 0)
        personnel = dict.fromkeys(Service, 0)
        for event in self.events:
            if isinstance(event, ResourceEngaged | ResourceReleased):
                sign = 1 if isinstance(event, ResourceEngaged) else -1
                units[event.service] += sign * event.units
                personnel[event.service] += sign * event.personnel
        return [
            ResourceTally(service=service, units=units[service], personnel=personnel[service])
            for service in Service
            if units[service] or personnel[service]
        ]


def tempete_alex(
    crisis_id: str = "demo-alex-06", *, status: Status = Status.EXERCISE
) -> list[Envelope]:
    """Storm Alex (Alpes-Maritimes, 1-3 October 2020) as the cell would have recorded it."""
    log = _Recorder(crisis_id, status)
    _day_1(log)
    _day_2_morning(log)
    _day_2_afternoon(log)
    _day_2_evening(log)
    _day_3(log)
    return log.events


def _day_1(log: _Recorder) -> None:
    """Thursday 1 October: orange vigilance for Friday, schools closed."""
    log.record(
        CrisisOpened,
        _at(1, 14, 45),
        DIRCAB,
        lag=1,
        name="Tempête Alex - pluies intenses et crues (Alpes-Maritimes)",
        kind=CrisisKind.CRISE,
        departement=DEPARTEMENT,
        nature=IncidentKind.INONDATION,
        description=(
            "Épisode méditerranéen intense lié à la tempête Alex attendu vendredi 2 octobre. "
            "Météo-France annonce une vigilance orange pluie-inondation et orages ; un passage "
            "en rouge dans la journée de vendredi n'est pas exclu. Cellule de crise activée."
        ),
    )
    orange = log.record(
        VigilanceChanged,
        _at(1, 16),
        METEO_FRANCE,
        lag=4,
        departement=DEPARTEMENT,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ORANGE,
        valid_from=_at(2, 10),
        valid_until=_at(2, 16),
        bulletin_ref="Bulletin de vigilance Météo-France du 01/10/2020 16h00",
    )
    log.record(
        VigilanceChanged,
        _at(1, 16),
        METEO_FRANCE,
        lag=4,
        departement=DEPARTEMENT,
        phenomenon=VigilancePhenomenon.ORAGES,
        colour=VigilanceColour.ORANGE,
        valid_from=_at(2, 8),
        valid_until=_at(2, 16),
        bulletin_ref="Bulletin de vigilance Météo-France du 01/10/2020 16h00",
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(1, 16, 5),
        OPERATEUR,
        lag=5,
        cause=orange,
        entry_id="mc-0001",
        direction=Direction.RECEIVED,
        sender="Météo-France",
        recipient="Cellule de crise 06",
        medium=Medium.PORTAL,
        priority=Priority.URGENT,
        text=(
            "Bulletin de suivi : 100 à 150 mm de façon généralisée, localement 200 à 250 mm d'ici "
            "samedi. Orange orages vendredi de 08h00 à 16h00, orange pluie-inondation de 10h00 à "
            "16h00. Risque de vagues-submersion à partir de vendredi après-midi. Un passage en "
            "vigilance rouge au cours de la journée de vendredi n'est pas exclu. Également en "
            "orange : Alpes-de-Haute-Provence, Hautes-Alpes, Var."
        ),
        follow_up_owner="SIDPC",
        follow_up_due=_at(1, 17),
    )
    ecoles = log.record(
        DecisionTaken,
        _at(1, 17, 15),
        DIRCAB,
        lag=1,
        cause=orange,
        decision_id="dec-0001",
        text=(
            "Fermeture de l'ensemble des établissements scolaires, des crèches et des universités "
            "du département le vendredi 2 octobre ; sorties et transports scolaires annulés."
        ),
        taken_by=PREFET,
        rationale=(
            "Vigilance orange pluie-inondation et orages, passage en rouge non exclu : éviter les "
            "déplacements des élèves, des familles et des personnels pendant l'épisode."
        ),
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(1, 17, 20),
        OPERATEUR,
        cause=ecoles,
        entry_id="mc-0002",
        direction=Direction.SENT,
        sender="Cabinet du préfet",
        recipient="DASEN 06, rectorat de Nice, Université Côte d'Azur, maires du département",
        medium=Medium.EMAIL,
        priority=Priority.URGENT,
        text=(
            "Décision du préfet : tous les établissements scolaires, crèches et universités du "
            "département seront fermés vendredi 2 octobre. Sorties et transports scolaires "
            "annulés. Merci d'en informer les familles et les personnels."
        ),
    )
    informer = log.record(
        TaskAssigned,
        _at(1, 17, 25),
        SIDPC,
        cause=ecoles,
        task_id="task-0001",
        title="Informer les 163 maires de la fermeture des écoles et des consignes de sécurité",
        assignee="SIDPC 06",
        due_at=_at(1, 20),
        decision_id="dec-0001",
    )
    log.record(
        PressReleasePublished,
        _at(1, 18),
        COMMUNICATION,
        lag=3,
        cause=ecoles,
        release_id="cp-0001",
        title="Tempête Alex : fermeture de tous les établissements scolaires vendredi 2 octobre",
        body=(
            "Météo-France a placé les Alpes-Maritimes en vigilance orange pluie-inondation et "
            "orages pour la journée du vendredi 2 octobre ; un passage en vigilance rouge n'est "
            "pas exclu. Le préfet des Alpes-Maritimes a décidé la fermeture de l'ensemble des "
            "établissements scolaires, des crèches et des universités du département vendredi. "
            "Les sorties scolaires et les transports scolaires sont annulés.\n"
            "Consignes : restez chez vous et limitez vos déplacements ; en cas de montée des "
            "eaux, réfugiez-vous dans les étages ; éloignez-vous des cours d'eau ; ne vous "
            "engagez jamais à pied ou en voiture sur une route inondée."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        TaskCompleted,
        _at(1, 19, 40),
        SIDPC,
        cause=informer,
        task_id="task-0001",
        outcome=(
            "Message envoyé aux 163 mairies par automate d'appel et par courriel ; 151 accusés "
            "de réception, relances téléphoniques pour les autres."
        ),
    )


def _day_2_morning(log: _Recorder) -> None:
    """Friday 2 October, morning: the COD sits, red vigilance, the coast and the trains closed."""
    log.record(
        CodConvened,
        _at(2, 7, 30),
        DIRCAB,
        lag=1,
        location="Préfecture des Alpes-Maritimes, salle du COD",
        services_present=[
            "SDIS 06",
            "SAMU 06",
            "DDSP",
            "Groupement de gendarmerie 06",
            "DDTM",
            "Conseil départemental",
            "Météo-France",
            "SNCF",
            "Enedis",
        ],
        convened_by=DIRECTEUR_DE_CABINET,
    )
    # "Friday morning", as the forecaster said it in the COD and as some outlets reported it.
    rouge_annonce = log.record(
        VigilanceChanged,
        _at(2, 7, 45),
        OPERATEUR,
        lag=3,
        departement=DEPARTEMENT,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ROUGE,
        valid_from=_at(2, 8),
        bulletin_ref="Annonce du prévisionniste Météo-France en COD, vendredi matin",
    )
    appel = log.record(
        MainCouranteEntryRecorded,
        _at(2, 8, 40),
        OPERATEUR,
        entry_id="mc-0003",
        direction=Direction.RECEIVED,
        sender="Mairie de Saint-Martin-Vésubie",
        recipient="COD 06",
        medium=Medium.TELEPHONE,
        priority=Priority.ROUTINE,
        text=(
            "Fortes pluies depuis le début de matinée. La Vésubie est à environ 50 cm au pont du "
            "village ; surveillance par les services techniques de la commune."
        ),
        follow_up_owner="CODIS 06",
    )
    log.record(
        IncidentReported,
        _at(2, 8, 45),
        OPERATEUR,
        lag=1,
        cause=appel,
        incident_id=VESUBIE,
        kind=IncidentKind.INONDATION,
        severity=Severity.MODERATE,
        title="Montée de la Vésubie à Saint-Martin-Vésubie",
        description="Vésubie à environ 50 cm au pont du village ; pluies soutenues en amont.",
        location=Location(
            description="Saint-Martin-Vésubie, la Vésubie au droit du village",
            point=SAINT_MARTIN_POINT,
            insee_codes=[SAINT_MARTIN_VESUBIE],
        ),
        sources=["Mairie de Saint-Martin-Vésubie"],
    )
    acces = log.record(
        DecisionTaken,
        _at(2, 9, 30),
        DIRCAB,
        lag=1,
        cause=rouge_annonce,
        decision_id="dec-0002",
        text=(
            "Interdiction d'accès au littoral, aux plages, aux parcs et jardins et aux massifs "
            "forestiers du département ; interdiction de toute sortie des ports de plaisance."
        ),
        taken_by=PREFET,
        rationale=(
            "Vigilance rouge pluie-inondation annoncée, mer forte et vagues-submersion attendues "
            "sur le littoral à partir de l'après-midi, risque de chutes d'arbres."
        ),
    )
    ports = log.record(
        TaskAssigned,
        _at(2, 9, 35),
        SIDPC,
        cause=acces,
        task_id="task-0002",
        title="Notifier l'interdiction de sortie aux capitaineries des ports de plaisance",
        assignee="DDTM 06, délégation à la mer et au littoral",
        due_at=_at(2, 10, 30),
        decision_id="dec-0002",
    )
    # "Midday", as the bulletin says: kept beside the announcement of the morning.
    rouge = log.record(
        VigilanceChanged,
        _at(2, 10),
        METEO_FRANCE,
        lag=4,
        departement=DEPARTEMENT,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ROUGE,
        valid_from=_at(2, 12),
        valid_until=_at(3, 6),
        bulletin_ref="Bulletin de vigilance Météo-France du 02/10/2020 10h00",
    )
    log.record(
        TaskCompleted,
        _at(2, 10, 5),
        SIDPC,
        cause=ports,
        task_id="task-0002",
        outcome="Capitaineries informées : sorties interdites, amarrages renforcés.",
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(2, 10, 10),
        OPERATEUR,
        entry_id="mc-0004",
        direction=Direction.RECEIVED,
        sender="SNCF, direction régionale",
        recipient="COD 06",
        medium=Medium.EMAIL,
        priority=Priority.URGENT,
        text="Aucune circulation ferroviaire dans le département à partir de 11h00.",
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(2, 10, 30),
        OPERATEUR,
        entry_id="mc-0005",
        direction=Direction.RECEIVED,
        sender="Ville de Nice",
        recipient="COD 06",
        medium=Medium.TELEPHONE,
        priority=Priority.URGENT,
        text=(
            "La Ville de Nice ouvre un centre d'hébergement d'urgence (100 places) pour les "
            "personnes sans abri et les usagers bloqués ; adresse transmise par le CCAS."
        ),
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(2, 11, 35),
        OPERATEUR,
        entry_id="mc-0006",
        direction=Direction.RECEIVED,
        sender="SNCF, direction régionale",
        recipient="COD 06",
        medium=Medium.EMAIL,
        priority=Priority.URGENT,
        text="Les TGV à destination de Nice auront Toulon pour terminus à partir de 12h00.",
    )
    log.record(
        PublicAlertIssued,
        _at(2, 11, 45),
        COMMUNICATION,
        lag=1,
        cause=rouge,
        alert_id="alert-0001",
        channel=AlertChannel.SOCIAL_NETWORKS,
        headline="Vigilance rouge pluie-inondation : restez chez vous",
        risk=(
            "Pluies intenses, crues rapides des cours d'eau, ruissellement ; vagues-submersion "
            "sur le littoral à partir de l'après-midi."
        ),
        issuing_authority=PREFET,
        area=Location(description="Département des Alpes-Maritimes"),
        instructions=(
            "Restez chez vous et limitez au maximum vos déplacements. En cas de montée des "
            "eaux, montez dans les étages. Éloignez-vous des cours d'eau, ne stationnez ni sur "
            "les berges ni sur les ponts. Ne prenez pas votre véhicule et ne vous engagez jamais "
            "sur une route inondée. Le littoral, les parcs et les massifs forestiers sont "
            "interdits d'accès."
        ),
        link=PREFECTURE_SITE,
        severity=Severity.SEVERE,
        expires_at=_at(3, 6),
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _day_2_afternoon(log: _Recorder) -> None:
    """Friday 2 October, afternoon: the Vésubie rises from 50 cm to over 8 m, ORSEC inondation."""
    log.record(
        MainCouranteEntryRecorded,
        _at(2, 14, 30),
        OPERATEUR,
        entry_id="mc-0007",
        direction=Direction.RECEIVED,
        sender="Météo-France",
        recipient="COD 06",
        medium=Medium.TELEPHONE,
        priority=Priority.FLASH,
        text=(
            "Cumuls sur 6 heures inédits pour le département. Les cumuls pourraient atteindre "
            "450 mm localement. Pic de pluie attendu sur Nice entre 18h00 et 20h00."
        ),
    )
    crue = log.record(
        IncidentUpdated,
        _at(2, 15, 45),
        SDIS,
        lag=4,
        incident_id=VESUBIE,
        severity=Severity.SEVERE,
        title="Crue rapide de la Vésubie à Saint-Martin-Vésubie",
        sources=["CODIS 06"],
        note="Montée très rapide : environ 4 m au droit du village (50 cm ce matin).",
    )
    proposition = log.record(
        PlanActivationProposed,
        _at(2, 15, 50),
        PLANS,
        lag=1,
        cause=crue,
        plan_code=ORSEC_INONDATION,
        plan_name="ORSEC départemental - dispositions spécifiques inondation",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        rule="crue-rapide-sous-vigilance-rouge",
        reason=(
            "Crue rapide de la Vésubie (environ 4 m à Saint-Martin-Vésubie) sous vigilance "
            "rouge pluie-inondation ; cumuls sur 6 heures inédits annoncés par Météo-France."
        ),
        incident_ids=[VESUBIE],
    )
    log.record(
        IncidentUpdated,
        _at(2, 16, 30),
        SDIS,
        lag=4,
        incident_id=VESUBIE,
        severity=Severity.EXTREME,
        title="Crue torrentielle de la Vésubie à Saint-Martin-Vésubie",
        sources=["CODIS 06"],
        note="La Vésubie dépasse 8 m, après une montée de 4 m en 45 minutes.",
    )
    activation = log.record(
        PlanActivated,
        _at(2, 16, 30),
        DIRCAB,
        lag=6,
        cause=proposition,
        plan_code=ORSEC_INONDATION,
        plan_name="ORSEC départemental - dispositions spécifiques inondation",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        decided_by=PREFET,
        decided_at=_at(2, 16, 30),
        proposal_event_id=proposition.event_id,
    )
    log.record(
        ResourceEngaged,
        _at(2, 16, 40),
        SDIS,
        cause=activation,
        resource_id=SDIS_VALLEES,
        service=Service.SDIS,
        units=30,
        personnel=130,
        incident_id=VESUBIE,
        description="Groupes d'intervention du SDIS 06 (sauvetage, secours en eaux vives)",
        mission="Sauvetages et reconnaissances dans les vallées de la Vésubie et de la Tinée",
    )
    log.record(
        IncidentReported,
        _at(2, 16, 50),
        OPERATEUR,
        lag=6,
        incident_id=MAISSA,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Pont de la Maïssa touché par la crue à Saint-Martin-Vésubie",
        description=(
            "Dégâts en cours dans les vallées de l'arrière-pays ; le pont de la Maïssa est "
            "touché. Signalement par les réseaux sociaux, à confirmer par le CODIS."
        ),
        location=Location(
            description="Saint-Martin-Vésubie, pont de la Maïssa",
            point=MAISSA_POINT,
            insee_codes=[SAINT_MARTIN_VESUBIE],
        ),
        sources=["@MeteoCotedAzur (réseaux sociaux)"],
    )
    log.record(
        IncidentReported,
        _at(2, 17),
        OPERATEUR,
        lag=5,
        incident_id=LANTOSQUE,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Crue de la Vésubie au Martinet (Lantosque)",
        description="Vidéo prise au Martinet : la Vésubie monte toujours à 17h00.",
        location=Location(
            description="Lantosque, hameau du Martinet, bord de la Vésubie",
            point=LANTOSQUE_POINT,
            insee_codes=[LANTOSQUE_INSEE],
        ),
        sources=["@MeteoCotedAzur (vidéo)"],
    )
    debits = log.record(
        MainCouranteEntryRecorded,
        _at(2, 17, 5),
        OPERATEUR,
        lag=3,
        entry_id="mc-0008",
        direction=Direction.RECEIVED,
        sender="Éric Ciotti, député, présent au COD",
        recipient="COD 06",
        medium=Medium.IN_PERSON,
        priority=Priority.URGENT,
        text=(
            "Débits annoncés : Var inférieur 2 300 m³/s à 17h00, Vésubie environ 450 m³/s, "
            "Tinée environ 900 m³/s, « niveau de crue centennale ». Chiffres d'élu, non issus du "
            "service de prévision des crues : à confirmer."
        ),
        follow_up_owner="DDTM 06, référent inondation",
        follow_up_due=_at(2, 18),
    )
    log.record(
        IncidentReported,
        _at(2, 17, 10),
        OPERATEUR,
        lag=1,
        cause=debits,
        incident_id=TINEE,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Crue de la Tinée",
        description=(
            "Débit de la Tinée annoncé à environ 900 m³/s (« crue centennale ») par un élu "
            "présent au COD ; Var inférieur à 2 300 m³/s. À confirmer par le SPC."
        ),
        location=Location(description="Vallée de la Tinée, jusqu'à sa confluence avec le Var"),
        sources=["Éric Ciotti, député (au COD)"],
    )
    abri = log.record(
        DecisionTaken,
        _at(2, 17, 15),
        DIRCAB,
        lag=1,
        decision_id="dec-0003",
        text=(
            "Demande aux maires des vallées de mettre la population à l'abri (confinement dans "
            "les étages) ; ouverture de lieux d'hébergement pour que les habitants des vallées "
            "ne reprennent pas la route."
        ),
        taken_by=PREFET,
        rationale="Crues torrentielles en cours, ponts et routes touchés, pic de pluie à venir.",
        incident_ids=[VESUBIE, LANTOSQUE, TINEE],
    )
    log.record(
        TaskAssigned,
        _at(2, 17, 20),
        SIDPC,
        cause=abri,
        task_id="task-0003",
        title="Ouvrir des lieux d'hébergement aux habitants des vallées et aux usagers bloqués",
        assignee="Ville de Nice et communes d'accueil, avec les AASC",
        due_at=_at(2, 20),
        decision_id="dec-0003",
    )
    # FR-Alert came in 2022; the demo shows what the cell would send with it today.
    log.record(
        PublicAlertIssued,
        _at(2, 17, 30),
        COMMUNICATION,
        lag=1,
        cause=abri,
        alert_id="alert-0002",
        channel=AlertChannel.FR_ALERT,
        headline="Crue torrentielle : ne sortez pas, montez à l'étage",
        risk=(
            "Crues torrentielles en cours de la Vésubie, de la Tinée et du Var : montée très "
            "rapide des eaux, ponts et routes emportés."
        ),
        issuing_authority=PREFET,
        area=Location(
            description="Vallées de la Vésubie, de la Tinée et du Var",
            insee_codes=[SAINT_MARTIN_VESUBIE, ROQUEBILLIERE_INSEE, LANTOSQUE_INSEE],
        ),
        instructions=(
            "Ne sortez pas. Montez dans les étages et restez-y. Éloignez-vous des cours d'eau. "
            "Ne prenez pas votre véhicule : des lieux d'hébergement sont ouverts, ne cherchez "
            "pas à rentrer chez vous dans les vallées. Suivez les consignes de votre mairie."
        ),
        link=PREFECTURE_SITE,
        severity=Severity.EXTREME,
        expires_at=_at(3, 8),
        incident_ids=[VESUBIE, LANTOSQUE, TINEE],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        ResourceEngaged,
        _at(2, 17, 40),
        SAMU,
        resource_id=SAMU_SMUR,
        service=Service.SAMU_SMUR,
        units=2,
        personnel=8,
        incident_id=VESUBIE,
        description="Deux équipes SMUR du SAMU 06",
        mission="Pré-positionnement à Plan-du-Var pour les victimes de la vallée de la Vésubie",
    )


def _day_2_evening(log: _Recorder) -> None:
    """Friday 2 October, evening: two missing at Roquebillière, reinforcements, first report."""
    log.record(
        ResourceRequested,
        _at(2, 18),
        CELLULE_MOYENS,
        resource_id=HELICOPTERE,
        service=Service.GENDARMERIE,
        units=1,
        personnel=3,
        incident_id=VESUBIE,
        description="Hélicoptère de la gendarmerie",
        mission="Reconnaissance et hélitreuillages dans la Vésubie dès que la météo le permettra",
        requested_from="Groupement de gendarmerie 06",
    )
    log.record(
        ResourceRequested,
        _at(2, 18, 15),
        CELLULE_MOYENS,
        resource_id=RENFORTS,
        service=Service.RENFORTS,
        units=24,
        personnel=140,
        description="Détachement de l'UIISC 7 et colonnes de renfort extra-départementales",
        mission="Sauvetage-déblaiement et recherche de personnes dans les vallées",
        requested_from="COZ Sud (zone de défense et de sécurité Sud)",
    )
    log.record(
        IncidentReported,
        _at(2, 19, 30),
        SDIS,
        lag=4,
        incident_id=ROQUEBILLIERE,
        kind=IncidentKind.INONDATION,
        severity=Severity.EXTREME,
        title="Maison effondrée à Roquebillière, deux personnes emportées",
        description=(
            "Une maison sur laquelle deux personnes s'étaient réfugiées s'est effondrée ; les "
            "sapeurs-pompiers les ont vues emportées par la Vésubie. Recherches impossibles à "
            "ce stade."
        ),
        location=Location(
            description="Roquebillière, bord de la Vésubie",
            point=ROQUEBILLIERE_POINT,
            insee_codes=[ROQUEBILLIERE_INSEE],
        ),
        sources=["CODIS 06"],
    )
    soutien = log.record(
        PlanActivationProposed,
        _at(2, 19, 40),
        SIDPC,
        cause=log.last(DecisionTaken, decision_id="dec-0003"),
        plan_code=ORSEC_SOUTIEN,
        plan_name="ORSEC départemental - dispositions générales soutien des populations",
        category=PlanCategory.DISPOSITIONS_GENERALES,
        reason=(
            "Habitants des vallées sinistrés ou isolés, usagers bloqués ; lieux d'hébergement "
            "ouverts à Nice et dans les communes d'accueil : organiser l'accueil, l'hébergement "
            "et le ravitaillement."
        ),
        incident_ids=[VESUBIE, ROQUEBILLIERE],
    )
    aasc = log.record(
        ResourceRequested,
        _at(2, 19, 50),
        CELLULE_MOYENS,
        resource_id=AASC_HEBERGEMENT,
        service=Service.AASC,
        units=4,
        personnel=30,
        description="Protection civile 06 et Croix-Rouge française",
        mission="Armement des lieux d'hébergement d'urgence : accueil, couchage, ravitaillement",
        requested_from="ADPC 06 et délégation territoriale de la Croix-Rouge",
    )
    log.record(
        PlanActivated,
        _at(2, 20),
        DIRCAB,
        lag=3,
        cause=soutien,
        plan_code=ORSEC_SOUTIEN,
        plan_name="ORSEC départemental - dispositions générales soutien des populations",
        category=PlanCategory.DISPOSITIONS_GENERALES,
        decided_by=PREFET,
        decided_at=_at(2, 20),
        proposal_event_id=soutien.event_id,
    )
    log.record(
        IncidentUpdated,
        _at(2, 20, 10),
        OPERATEUR,
        lag=5,
        incident_id=VESUBIE,
        title="Crue torrentielle de la Vésubie : Saint-Martin-Vésubie dévastée",
        description=(
            "Saint-Martin-Vésubie, épicentre : un pont emporté, la station-service du village "
            "emportée, des maisons très endommagées, stade et cimetière inondés. Environ 235 mm "
            "en quelques heures."
        ),
        sources=["Éric Ciotti, député"],
        note="Cumul de pluie donné par un élu, non validé par Météo-France.",
    )
    log.record(
        IncidentReported,
        _at(2, 20, 20),
        OPERATEUR,
        lag=4,
        incident_id=CASTEL,
        kind=IncidentKind.TEMPETE,
        severity=Severity.SEVERE,
        title="Restaurant « Castel » détruit par les vagues à Nice",
        description="Restaurant de plage détruit par les vagues ; pas de victime signalée.",
        location=Location(
            description="Nice, plage du Castel, au pied de la colline du Château",
            point=CASTEL_POINT,
            insee_codes=[NICE],
        ),
        sources=["Police municipale de Nice"],
    )
    log.record(
        TaskCompleted,
        _at(2, 20, 45),
        SIDPC,
        cause=log.last(TaskAssigned, task_id="task-0003"),
        task_id="task-0003",
        outcome=(
            "Centre d'hébergement d'urgence de Nice ouvert, lieux d'accueil ouverts par les "
            "communes ; 85 personnes hébergées à 20h30."
        ),
    )
    log.record(
        ResourceEngaged,
        _at(2, 21),
        CELLULE_MOYENS,
        cause=aasc,
        resource_id=AASC_HEBERGEMENT,
        service=Service.AASC,
        units=4,
        personnel=30,
        description="Protection civile 06 et Croix-Rouge française",
        mission="Armement des lieux d'hébergement d'urgence : accueil, couchage, ravitaillement",
    )
    log.record(
        BilanAssessed,
        _at(2, 21, 5),
        COMMUNICATION,
        lag=3,
        incident_id=ROQUEBILLIERE,
        figures=Bilan(disparus=2),
        source_of_figures="Préfecture des Alpes-Maritimes",
        note=(
            "Deux personnes disparues à Roquebillière. Recherches dans le secteur de "
            "Saint-Martin-Vésubie ; recoupement des informations du terrain en cours."
        ),
    )
    log.record(
        BilanAssessed,
        _at(2, 21, 15),
        OPERATEUR,
        figures=Bilan(evacues=150, mis_a_l_abri=2000, heberges=85, routes_coupees=14),
        source_of_figures="COD 06 : cellule hébergement, Conseil départemental pour les routes",
        note="Mises à l'abri : estimation à partir des remontées des mairies jointes.",
    )
    log.record(
        BilanAssessed,
        _at(2, 22),
        OPERATEUR,
        figures=Bilan(foyers_sans_electricite=11000),
        source_of_figures="Enedis",
        note="Estimation : plusieurs secteurs des vallées sont inaccessibles aux équipes.",
    )
    log.record(
        SituationReportIssued,
        _at(2, 22, 30),
        SITREP,
        lag=1,
        number=1,
        as_of_position=log.position,
        summary=(
            "Crues torrentielles de la Vésubie, de la Tinée et du Var sous vigilance rouge "
            "pluie-inondation. Saint-Martin-Vésubie très durement touchée (pont et station-"
            "service emportés). Deux personnes disparues à Roquebillière. Restaurant « Castel » "
            "détruit par les vagues à Nice. Plans ORSEC inondation (16h30) et soutien des "
            "populations (20h00) activés. Écoles fermées, littoral et parcs interdits, trains "
            "arrêtés."
        ),
        bilan=Bilan(
            disparus=2,
            evacues=150,
            mis_a_l_abri=2000,
            heberges=85,
            foyers_sans_electricite=11000,
            routes_coupees=14,
        ),
        active_plans=[ORSEC_INONDATION, ORSEC_SOUTIEN],
        resources=log.resources(),
        decision_ids=["dec-0001", "dec-0002", "dec-0003"],
        outlook=(
            "Pluies faiblissant en seconde partie de nuit, crues encore actives. Reconnaissance "
            "aérienne et arrivée des renforts (UIISC 7, colonnes) aux premières heures du jour."
        ),
        next_report_at=_at(3, 12),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        PressReleasePublished,
        _at(2, 22, 45),
        COMMUNICATION,
        lag=2,
        release_id="cp-0002",
        title="Tempête Alex : point de situation du vendredi 2 octobre au soir",
        body=(
            "Les Alpes-Maritimes sont touchées par des crues torrentielles d'une ampleur "
            "exceptionnelle, en particulier dans la vallée de la Vésubie. Le préfet a déclenché "
            "le plan ORSEC inondation à 16h30 et le plan de soutien des populations à 20h00. "
            "Deux personnes sont portées disparues à Roquebillière ; les recherches reprendront "
            "dès que possible. Des lieux d'hébergement sont ouverts.\n"
            "Consignes : ne sortez pas, restez dans les étages, ne prenez pas la route, suivez "
            "les consignes de votre mairie."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _day_3(log: _Recorder) -> None:
    """Saturday 3 October: the extent of the damage, 8 missing and 3 presumed missing."""
    log.record(
        VigilanceChanged,
        _at(3, 6),
        METEO_FRANCE,
        lag=4,
        departement=DEPARTEMENT,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ORANGE,
        valid_from=_at(3, 6),
        valid_until=_at(3, 16),
        bulletin_ref="Bulletin de vigilance Météo-France du 03/10/2020 06h00",
    )
    log.record(
        ResourceEngaged,
        _at(3, 6, 45),
        SDIS,
        cause=log.last(ResourceRequested, resource_id=RENFORTS),
        resource_id=RENFORTS,
        service=Service.RENFORTS,
        units=24,
        personnel=140,
        incident_id=VESUBIE,
        description="Détachement de l'UIISC 7 et colonnes de renfort extra-départementales",
        mission="Sauvetage-déblaiement et recherche de personnes, Vésubie puis Roquebillière",
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(3, 7),
        OPERATEUR,
        lag=8,
        entry_id="mc-0009",
        direction=Direction.RECEIVED,
        sender="Météo-France",
        recipient="COD 06",
        medium=Medium.EMAIL,
        priority=Priority.ROUTINE,
        text=(
            "Cumuls depuis vendredi matin : 40 à 80 mm sur le littoral (localement 120 mm), 200 "
            "à 350 mm dans l'intérieur, jusqu'à 500 mm localement. 577 mm à Mons (Var), 582 mm "
            "à Limone (Italie)."
        ),
    )
    log.record(
        ResourceEngaged,
        _at(3, 7, 30),
        GENDARMERIE,
        cause=log.last(ResourceRequested, resource_id=HELICOPTERE),
        resource_id=HELICOPTERE,
        service=Service.GENDARMERIE,
        units=1,
        personnel=3,
        incident_id=VESUBIE,
        description="Hélicoptère de la gendarmerie",
        mission="Reconnaissance aérienne de la Vésubie, hélitreuillages",
    )
    log.record(
        BilanAssessed,
        _at(3, 10),
        SDIS,
        lag=5,
        figures=Bilan(disparus=8),
        source_of_figures="SDIS 06",
        note=(
            "8 personnes disparues et 3 « présumées disparues », ces dernières non comptées. "
            "Chiffre non cumulatif avec celui de la préfecture d'hier soir (2 disparus à "
            "Roquebillière) : à recouper."
        ),
    )
    log.record(
        BilanAssessed,
        _at(3, 10, 15),
        OPERATEUR,
        figures=Bilan(evacues=320, heberges=190, routes_coupees=23),
        source_of_figures="COD 06 : cellule hébergement, Conseil départemental pour les routes",
        note="Évacuations par hélicoptère depuis Saint-Martin-Vésubie et Roquebillière.",
    )
    log.record(
        IncidentUpdated,
        _at(3, 11, 15),
        OPERATEUR,
        lag=5,
        incident_id=VESUBIE,
        sources=["Éric Ciotti, député", "Charles-Ange Ginésy, président du Conseil départemental"],
        note=(
            "Survol en hélicoptère de Saint-Martin-Vésubie et de Roquebillière : « plusieurs "
            "dizaines de maisons » emportées."
        ),
    )
    log.record(
        DecisionTaken,
        _at(3, 11, 25),
        DIRCAB,
        lag=1,
        decision_id="dec-0004",
        text=(
            "Évacuation par hélicoptère des habitants de Saint-Martin-Vésubie et de "
            "Roquebillière qui le souhaitent ; ravitaillement des villages par voie aérienne."
        ),
        taken_by=PREFET,
        rationale="Routes et ponts de la vallée coupés, villages inaccessibles par la route.",
        incident_ids=[VESUBIE, ROQUEBILLIERE],
    )
    log.record(
        MainCouranteEntryRecorded,
        _at(3, 11, 35),
        OPERATEUR,
        entry_id="mc-0010",
        direction=Direction.RECEIVED,
        sender="Maire de Nice",
        recipient="COD 06",
        medium=Medium.OTHER,
        priority=Priority.ROUTINE,
        text=(
            "Déclaration à la presse : « une centaine de maisons » touchées dans le département. "
            "Propos rapportés de façon incomplète, à recouper."
        ),
    )
    log.record(
        SituationReportIssued,
        _at(3, 12),
        SITREP,
        lag=1,
        number=2,
        as_of_position=log.position,
        summary=(
            "Décrue amorcée ; vigilance pluie-inondation abaissée à l'orange. Dégâts très lourds "
            "dans la Vésubie : plusieurs dizaines de maisons emportées à Saint-Martin-Vésubie et "
            "à Roquebillière. SDIS 06 : 8 disparus et 3 présumés disparus. Renforts UIISC 7 et "
            "colonnes engagés, reconnaissance et évacuations par hélicoptère en cours."
        ),
        bilan=Bilan(
            disparus=8,
            evacues=320,
            mis_a_l_abri=2000,
            heberges=190,
            foyers_sans_electricite=11000,
            routes_coupees=23,
        ),
        active_plans=[ORSEC_INONDATION, ORSEC_SOUTIEN],
        resources=log.resources(),
        decision_ids=["dec-0004"],
        outlook=(
            "Recherches des disparus, accès aux villages isolés par voie aérienne, "
            "rétablissement de l'électricité et des télécommunications."
        ),
        next_report_at=_at(3, 18),
        validated_by=DIRECTEUR_DE_CABINET,
    )
