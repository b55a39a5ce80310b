"""Sample crises rebuilt from public after-action chronologies, and their exported logs.

- `aude_2018`: the floods of the Aude, 14-17 October 2018 (Trèbes, Villegailhenc, Conques…);
- `lubrizol_2019`: the fire at the Lubrizol SEVESO seuil haut site in Rouen, 26-27 September 2019.

Both are reconstructions for training, marked Exercise. Times and figures are those reported
publicly (sources in `services/demo/crises/README.md`), rounded; where the sources are silent the
operational detail (who called whom, the counts of units and people) is an order of magnitude that
does not contradict them. The disagreements of the sources are kept, as a review must see them:

- Aude: the death toll goes 1, 11, 13, 12, then back to 11 on the evening of the 15th before
  reaching 14; the cell records each statement as it came, the correction as a new event;
- Lubrizol: the fire is "circonscrit 10h30, maîtrisé 13h, éteint 15h" for the préfet, "maîtrisé"
  at 16h50 and "éteint" at 20h15 in the préfecture's messages; the schools are closed in 11, 12
  or 13 communes depending on who lists them; the sirens are announced for 7h30.

Pure data, as `scenario.py`: deterministic event ids, no I/O except `write_samples`.
`python -m services.demo.samples` rewrites the exported logs in `services/demo/crises/`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.envelope import Envelope, Status
from schemas.events import (
    BilanAssessed,
    CodConvened,
    CodStoodDown,
    CrisisClosed,
    CrisisOpened,
    DecisionTaken,
    IncidentMerged,
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
    Service,
    Severity,
    VigilanceColour,
    VigilancePhenomenon,
)
from services.demo.scenario import METEO_FRANCE, PARIS, _By, _Recorder, tempete_alex
from services.eventlog.archive import export_line
from services.runtime.streams import instant_text

CRISES_DIR = Path(__file__).resolve().parent / "crises"
DIRECTEUR_DE_CABINET = "Directeur de cabinet"


def _entry(
    log: _Recorder,
    at: datetime,
    by: _By,
    *,
    sender: str,
    recipient: str,
    text: str,
    **more: Any,
) -> MainCouranteEntryRecorded:
    """The next entry of the main courante, numbered without gaps (`mc-0001`, `mc-0002`…).

    Received by telephone, urgent, unless `more` says otherwise (`direction`, `medium`, …).
    """
    number = sum(isinstance(e, MainCouranteEntryRecorded) for e in log.events) + 1
    fields: dict[str, Any] = {
        "direction": Direction.RECEIVED,
        "medium": Medium.TELEPHONE,
        "priority": Priority.URGENT,
        **more,
    }
    return log.record(
        MainCouranteEntryRecorded,
        at,
        by,
        entry_id=f"mc-{number:04d}",
        sender=sender,
        recipient=recipient,
        text=text,
        **fields,
    )


# -- Aude, 14-17 October 2018 --------------------------------------------------------------------

AUDE = "11"
PREFET_11 = "Préfet de l'Aude"
COD_11 = "COD 11"
SITE_11 = "https://www.aude.gouv.fr"

# Incidents, in the order the cell heard of them.
CONQUES = "inc-0001"
VILLEGAILHENC = "inc-0002"
TREBES = "inc-0003"
PEZENS = "inc-0004"
VILLARDONNEL = "inc-0005"
BASSE_PLAINE = "inc-0006"
CARCASSONNE = "inc-0007"

ORSEC_INONDATION = "orsec-inondation"

SDIS_11 = "res-sdis11-secteurs"
GGD_11 = "res-ggd11-nautique-secours"
HELICOS = "res-helicos-secu-civile-gend"
COLONNES = "res-colonnes-renfort-sud"
AASC_11 = "res-aasc11-accueil"
MILITAIRES = "res-sections-militaires"
UIISC = "res-uiisc-detachement"

# Communes (INSEE codes, from the official geographic code) and points at the village (approx.).
CARCASSONNE_INSEE = "11069"
CONQUES_INSEE = "11099"
COURSAN_INSEE = "11106"
CUXAC_INSEE = "11116"
MOUSSOULENS_INSEE = "11259"
PEZENS_INSEE = "11288"
TREBES_INSEE = "11397"
VILLALIER_INSEE = "11410"
VILLARDONNEL_INSEE = "11413"
VILLEGAILHENC_INSEE = "11425"
VILLEMOUSTAUSSOU_INSEE = "11429"

METEO_FRANCE_11 = METEO_FRANCE
VIGICRUES = _By("vigicrues", "feed:vigicrues")
DIRCAB_11 = _By("console", "dircab.aude")
OPERATEUR_11 = _By("console", "op.garcia")
MOYENS_11 = _By("console", "op.roques")
SIDPC_11 = _By("console", "sidpc.fabre")
COM_11 = _By("prefecture11", "com.lopez")
SDIS11 = _By("sdis11", "cos.sdis11")
GENDARMERIE_11 = _By("gendarmerie11", "corg.ggd11")
ARS_11 = _By("ars-occitanie", "dd11.ars")
PLANS = _By("plans", "service:plans")
SITREP_11 = _By("sitrep", "dircab.aude")


def _oct(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of October 2018, Paris summer time."""
    return datetime(2018, 10, day, hour, minute, tzinfo=PARIS)


def _aude_place(description: str, insee: str, lat: float, lon: float) -> Location:
    return Location(description=description, point=GeoPoint(lat=lat, lon=lon), insee_codes=[insee])


def aude_2018(
    crisis_id: str = "aude-2018-10", *, status: Status = Status.EXERCISE
) -> list[Envelope]:
    """The Aude floods (14-17 October 2018) as the COD of Carcassonne would have recorded them."""
    log = _Recorder(crisis_id, status)
    _aude_sunday(log)
    _aude_night(log)
    _aude_monday_morning(log)
    _aude_monday_afternoon(log)
    _aude_monday_evening(log)
    _aude_after(log)
    return log.events


def _aude_sunday(log: _Recorder) -> None:
    """Sunday 14 October: orange vigilance, rescue means pre-positioned."""
    log.record(
        CrisisOpened,
        _oct(14, 15, 30),
        DIRCAB_11,
        lag=1,
        name="Épisode méditerranéen - pluies intenses et crues (Aude)",
        kind=CrisisKind.CRISE,
        departement=AUDE,
        nature=IncidentKind.INONDATION,
        description=(
            "Épisode méditerranéen attendu dans la nuit de dimanche à lundi (remontée des restes "
            "de l'ouragan Leslie). Météo-France annonce une vigilance orange pluie-inondation et "
            "orages. Cellule de crise ouverte en veille renforcée."
        ),
    )
    orange = log.record(
        VigilanceChanged,
        _oct(14, 16),
        METEO_FRANCE_11,
        lag=4,
        departement=AUDE,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ORANGE,
        valid_from=_oct(14, 16),
        bulletin_ref="Bulletin de vigilance Météo-France du dimanche 14/10/2018, après-midi",
    )
    log.record(
        VigilanceChanged,
        _oct(14, 16),
        METEO_FRANCE_11,
        lag=4,
        departement=AUDE,
        phenomenon=VigilancePhenomenon.ORAGES,
        colour=VigilanceColour.ORANGE,
        valid_from=_oct(14, 16),
        bulletin_ref="Bulletin de vigilance Météo-France du dimanche 14/10/2018, après-midi",
    )
    _entry(
        log,
        _oct(14, 16, 10),
        OPERATEUR_11,
        sender="Météo-France",
        recipient="Cellule de crise 11",
        text=(
            "Bulletin de suivi : fortes pluies orageuses à partir de dimanche soir sur l'ouest et "
            "le centre du département, cumuls importants attendus dans la nuit. Évolution à "
            "surveiller."
        ),
        medium=Medium.PORTAL,
        cause=orange,
        follow_up_owner="SIDPC 11",
    )
    prepositionner = log.record(
        DecisionTaken,
        _oct(14, 17),
        DIRCAB_11,
        lag=1,
        cause=orange,
        decision_id="dec-0001",
        text="Pré-positionnement des moyens du SDIS 11 dans les secteurs exposés ; CODIS renforcé.",
        taken_by=DIRECTEUR_DE_CABINET,
        rationale="Vigilance orange pluie-inondation et orages pour la nuit de dimanche à lundi.",
    )
    log.record(
        ResourceEngaged,
        _oct(14, 18),
        SDIS11,
        cause=prepositionner,
        resource_id=SDIS_11,
        service=Service.SDIS,
        units=30,
        personnel=120,
        description="Sapeurs-pompiers du SDIS 11 pré-positionnés (ordre de grandeur)",
        mission="Pré-positionnement dans le Carcassonnais, le Cabardès et le Lézignanais",
    )
    log.record(
        PressReleasePublished,
        _oct(14, 18, 30),
        COM_11,
        lag=3,
        release_id="cp-0001",
        title="Vigilance orange pluie-inondation et orages cette nuit dans l'Aude",
        body=(
            "Météo-France a placé le département en vigilance orange pluie-inondation et orages "
            "à partir de ce dimanche après-midi. Consignes : limitez vos déplacements, ne vous "
            "engagez jamais sur une route inondée, ni à pied ni en voiture, éloignez-vous des "
            "cours d'eau et tenez-vous informés."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _aude_night(log: _Recorder) -> None:
    """Night of 14 to 15 October: the Orbiel and its tributaries, the COD, ORSEC inondation."""
    _entry(
        log,
        _oct(15, 0, 30),
        OPERATEUR_11,
        sender="CODIS 11",
        recipient=COD_11,
        text=(
            "Pluies très intenses sur le Carcassonnais et le Cabardès. Appels en nombre pour "
            "inondations et routes submergées ; montée rapide de l'Orbiel et de ses affluents."
        ),
        follow_up_owner="Cadre de permanence préfecture",
    )
    log.record(
        IncidentReported,
        _oct(15, 1, 30),
        SDIS11,
        lag=4,
        incident_id=CONQUES,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Crue rapide de l'Orbiel à Conques-sur-Orbiel",
        description="Maisons inondées, habitants réfugiés à l'étage ; sauvetages en cours.",
        location=_aude_place("Conques-sur-Orbiel, bords de l'Orbiel", CONQUES_INSEE, 43.267, 2.397),
        sources=["CODIS 11"],
    )
    log.record(
        CodConvened,
        _oct(15, 2),
        DIRCAB_11,
        lag=1,
        location="Préfecture de l'Aude, Carcassonne, salle du COD",
        services_present=[
            "SDIS 11",
            "Groupement de gendarmerie de l'Aude",
            "DDSP 11",
            "SAMU 11",
            "DDTM 11 (référent inondation)",
            "Météo-France",
            "Conseil départemental",
            "ARS (délégation départementale)",
        ],
        convened_by=PREFET_11,
    )
    _entry(
        log,
        _oct(15, 2, 5),
        OPERATEUR_11,
        sender="CODIS 11",
        recipient=COD_11,
        text=(
            "Deux postes de commandement avancés du CODIS installés à Conques-sur-Orbiel et à "
            "Villemoustaussou."
        ),
        medium=Medium.RADIO,
        priority=Priority.ROUTINE,
    )
    pont = log.record(
        IncidentReported,
        _oct(15, 2, 30),
        SDIS11,
        lag=5,
        incident_id=VILLEGAILHENC,
        kind=IncidentKind.INONDATION,
        severity=Severity.EXTREME,
        title="Crue du Trapel à Villegailhenc : pont emporté",
        description=(
            "Le pont du village est emporté ; eau jusqu'au premier étage dans le bas du "
            "village, personnes bloquées sur les toits."
        ),
        location=_aude_place("Villegailhenc, le Trapel", VILLEGAILHENC_INSEE, 43.268, 2.353),
        sources=["CODIS 11"],
    )
    proposition = log.record(
        PlanActivationProposed,
        _oct(15, 2, 35),
        PLANS,
        lag=1,
        cause=pont,
        plan_code=ORSEC_INONDATION,
        plan_name="ORSEC départemental - dispositions spécifiques inondation",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        rule="inondation-severe-2-communes",
        reason="Crues rapides de l'Orbiel et du Trapel sur deux communes ; pont emporté.",
        incident_ids=[CONQUES, VILLEGAILHENC],
    )
    log.record(
        PlanActivated,
        _oct(15, 2, 45),
        DIRCAB_11,
        lag=2,
        cause=proposition,
        plan_code=ORSEC_INONDATION,
        plan_name="ORSEC départemental - dispositions spécifiques inondation",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        decided_by=PREFET_11,
        decided_at=_oct(15, 2, 45),
        proposal_event_id=proposition.event_id,
    )
    log.record(
        ResourceEngaged,
        _oct(15, 3),
        GENDARMERIE_11,
        resource_id=GGD_11,
        service=Service.GENDARMERIE,
        units=40,
        personnel=200,
        description="Groupement de gendarmerie de l'Aude, dont sa brigade nautique",
        mission="Recherche et secours aux côtés des sapeurs-pompiers, sécurisation des zones",
    )
    _entry(
        log,
        _oct(15, 4),
        OPERATEUR_11,
        sender="Vigicrues (service de prévision des crues)",
        recipient=COD_11,
        text=(
            "L'Aude à Trèbes à environ 3 m à 4h00 et en forte hausse ; l'Orbiel et le Fresquel "
            "montent très vite. Onde de crue attendue vers l'aval dans la journée."
        ),
        priority=Priority.FLASH,
        follow_up_owner="DDTM 11, référent inondation",
    )
    log.record(
        IncidentReported,
        _oct(15, 4, 10),
        SDIS11,
        lag=4,
        incident_id=TREBES,
        kind=IncidentKind.INONDATION,
        severity=Severity.EXTREME,
        title="Crue de l'Aude et de l'Orbiel à Trèbes",
        description=(
            "Quartiers bas submergés, habitants sur les toits ; hélitreuillages "
            "nécessaires dès le jour."
        ),
        location=_aude_place(
            "Trèbes, confluence de l'Orbiel et de l'Aude", TREBES_INSEE, 43.21, 2.44
        ),
        sources=["CODIS 11"],
    )
    log.record(
        ResourceRequested,
        _oct(15, 4, 30),
        MOYENS_11,
        resource_id=COLONNES,
        service=Service.RENFORTS,
        units=70,
        personnel=350,
        description="Colonnes de renfort des SDIS des Pyrénées-Orientales, de l'Hérault, du Gard",
        mission="Sauvetages et reconnaissances dans les secteurs sinistrés",
        requested_from="COZ Sud (zone de défense et de sécurité Sud)",
    )
    log.record(
        ResourceRequested,
        _oct(15, 4, 45),
        MOYENS_11,
        resource_id=HELICOS,
        service=Service.RENFORTS,
        units=9,
        personnel=40,
        description="Hélicoptères de la sécurité civile, de la gendarmerie et des armées",
        mission="Hélitreuillages et reconnaissances dès le lever du jour",
        requested_from="COGIC via le COZ Sud",
    )
    log.record(
        IncidentReported,
        _oct(15, 5, 30),
        GENDARMERIE_11,
        lag=5,
        incident_id=PEZENS,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Risque de débordement d'un barrage en amont de Pezens",
        description="Risque de surverse signalé ; le village est dans la zone exposée.",
        location=_aude_place("Pezens, village et retenue en amont", PEZENS_INSEE, 43.255, 2.265),
        sources=["Gendarmerie", "Sécurité civile"],
    )
    evacuer = log.record(
        DecisionTaken,
        _oct(15, 5, 45),
        DIRCAB_11,
        lag=1,
        decision_id="dec-0002",
        text="Évacuation préventive de Pezens ; accueil des habitants hors de la zone exposée.",
        taken_by=PREFET_11,
        rationale="Risque de débordement du barrage en amont du village.",
        incident_ids=[PEZENS],
    )
    log.record(
        TaskAssigned,
        _oct(15, 5, 50),
        SIDPC_11,
        cause=evacuer,
        task_id="task-0001",
        title="Évacuer Pezens et ouvrir un lieu d'accueil pour les habitants",
        assignee="Mairie de Pezens, SDIS 11, gendarmerie",
        due_at=_oct(15, 8),
        decision_id="dec-0002",
    )
    log.record(
        PublicAlertIssued,
        _oct(15, 6),
        COM_11,
        lag=1,
        cause=evacuer,
        alert_id="alert-0001",
        channel=AlertChannel.OTHER,
        headline="Pezens : évacuation préventive, suivez les secours",
        risk="Risque de débordement d'un barrage en amont du village.",
        issuing_authority=PREFET_11,
        area=Location(description="Commune de Pezens", insee_codes=[PEZENS_INSEE]),
        instructions=(
            "Quittez votre domicile avec vos papiers et vos médicaments, suivez les "
            "consignes des sapeurs-pompiers et des gendarmes (porte-à-porte), rejoignez le lieu "
            "d'accueil indiqué par la mairie."
        ),
        severity=Severity.SEVERE,
        incident_ids=[PEZENS],
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _aude_monday_morning(log: _Recorder) -> None:
    """Monday 15 October, morning: red vigilance, schools closed, the first deaths."""
    rouge = log.record(
        VigilanceChanged,
        _oct(15, 6),
        METEO_FRANCE_11,
        lag=4,
        departement=AUDE,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ROUGE,
        valid_from=_oct(15, 6),
        bulletin_ref="Bulletin de vigilance Météo-France du 15/10/2018 06h00",
    )
    ecoles = log.record(
        DecisionTaken,
        _oct(15, 7),
        DIRCAB_11,
        lag=1,
        cause=rouge,
        decision_id="dec-0003",
        text=(
            "Fermeture de tous les établissements scolaires du département ce lundi ; "
            "transports scolaires interdits. Recommandation d'éviter tout déplacement."
        ),
        taken_by=PREFET_11,
        rationale="Vigilance rouge pluie-inondation, routes coupées au nord de Carcassonne.",
    )
    log.record(
        PublicAlertIssued,
        _oct(15, 7, 10),
        COM_11,
        lag=1,
        cause=ecoles,
        alert_id="alert-0002",
        channel=AlertChannel.MEDIA,
        headline="Vigilance rouge : restez chez vous, écoles fermées",
        risk="Pluies diluviennes et crues rapides de l'Aude et de ses affluents.",
        issuing_authority=PREFET_11,
        area=Location(description="Département de l'Aude"),
        instructions=(
            "Ne prenez pas votre véhicule : la plupart des routes sont coupées. "
            "Montez dans les étages, éloignez-vous des cours d'eau, n'allez pas chercher vos "
            "enfants à l'école. Écoutez France Bleu Occitanie et suivez @Prefet11."
        ),
        link=SITE_11,
        severity=Severity.EXTREME,
        expires_at=_oct(16, 6),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        IncidentUpdated,
        _oct(15, 7, 10),
        OPERATEUR_11,
        lag=5,
        incident_id=TREBES,
        sources=["Observateurs (réseaux sociaux)"],
        note=(
            "L'Aude à plus de 7,5 m à Trèbes vers 7h00, deuxième crue connue après celle "
            "d'octobre 1891. Hauteur relevée par des observateurs, à confirmer par Vigicrues."
        ),
    )
    log.record(
        TaskCompleted,
        _oct(15, 7, 30),
        SIDPC_11,
        cause=log.last(TaskAssigned, task_id="task-0001"),
        task_id="task-0001",
        outcome=(
            "Environ un millier d'habitants évacués ; évacuation du reste du village "
            "suspendue, le risque étant réévalué."
        ),
    )
    log.record(
        BilanAssessed,
        _oct(15, 7, 35),
        OPERATEUR_11,
        incident_id=PEZENS,
        figures=Bilan(evacues=1000),
        source_of_figures="Sécurité civile (selon l'AFP)",
        note="Un millier d'habitants sur un peu plus de 1 500.",
    )
    _entry(
        log,
        _oct(15, 8),
        OPERATEUR_11,
        sender="Vigicrues (service de prévision des crues)",
        recipient=COD_11,
        text="La crue dans la vallée moyenne de l'Aude est sans précédent depuis 1891.",
        medium=Medium.EMAIL,
    )
    log.record(
        ResourceEngaged,
        _oct(15, 8, 15),
        MOYENS_11,
        cause=log.last(ResourceRequested, resource_id=HELICOS),
        resource_id=HELICOS,
        service=Service.RENFORTS,
        units=9,
        personnel=40,
        incident_id=TREBES,
        description="Hélicoptères de la sécurité civile, de la gendarmerie et des armées",
        mission="Hélitreuillages à Trèbes, Villegailhenc, Conques-sur-Orbiel",
    )
    log.record(
        BilanAssessed,
        _oct(15, 8, 30),
        COM_11,
        lag=3,
        figures=Bilan(decedes=1, disparus=2),
        source_of_figures="Préfecture de l'Aude (premier bilan)",
        note="Premier bilan communiqué par le préfet : un mort et deux disparus.",
    )
    log.record(
        ResourceEngaged,
        _oct(15, 9),
        MOYENS_11,
        resource_id=AASC_11,
        service=Service.AASC,
        units=10,
        personnel=180,
        description="Croix-Rouge française et Protection civile de l'Aude (plus de 180 bénévoles)",
        mission="Accueil et réconfort des évacués dans les lieux d'accueil des communes",
    )
    _entry(
        log,
        _oct(15, 9, 30),
        OPERATEUR_11,
        sender="CODIS 11",
        recipient=COD_11,
        text=(
            "Plus de 250 interventions depuis minuit. Hélitreuillages en cours à Trèbes, "
            "Villegailhenc et Conques-sur-Orbiel ; plusieurs ponts détruits isolent des quartiers."
        ),
        medium=Medium.RADIO,
    )
    log.record(
        SituationReportIssued,
        _oct(15, 10),
        SITREP_11,
        lag=1,
        number=1,
        as_of_position=log.position,
        summary=(
            "Crues torrentielles au nord et à l'est de Carcassonne sous vigilance rouge "
            "pluie-inondation : Conques-sur-Orbiel, Villegailhenc (pont emporté), Trèbes (l'Aude "
            "au-delà de 7,5 m). Pezens évacué par précaution. Un mort et deux disparus. Plan ORSEC "
            "inondation activé dans la nuit ; écoles fermées ; hélitreuillages en cours."
        ),
        bilan=Bilan(decedes=1, disparus=2, evacues=1000),
        active_plans=[ORSEC_INONDATION],
        resources=log.resources(),
        decision_ids=["dec-0001", "dec-0002", "dec-0003"],
        outlook=(
            "Pluies encore soutenues en matinée ; propagation de la crue vers l'aval, "
            "basses plaines de l'Aude attendues dans la soirée."
        ),
        next_report_at=_oct(15, 16),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    _entry(
        log,
        _oct(15, 10, 15),
        OPERATEUR_11,
        sender="Météo-France",
        recipient=COD_11,
        text=(
            "Bulletin spécial : 150 à 300 mm relevés autour de Carcassonne depuis dimanche soir, "
            "295 mm à Trèbes ; l'équivalent de trois à quatre mois de pluie en quelques heures."
        ),
        medium=Medium.EMAIL,
        priority=Priority.ROUTINE,
    )
    log.record(
        VigilanceChanged,
        _oct(15, 11, 30),
        METEO_FRANCE_11,
        lag=4,
        departement=AUDE,
        phenomenon=VigilancePhenomenon.PLUIE_INONDATION,
        colour=VigilanceColour.ORANGE,
        valid_from=_oct(15, 11, 30),
        bulletin_ref="Bulletin de vigilance Météo-France du 15/10/2018, fin de matinée",
    )
    log.record(
        VigilanceChanged,
        _oct(15, 11, 30),
        VIGICRUES,
        lag=4,
        departement=AUDE,
        phenomenon=VigilancePhenomenon.INONDATION,
        colour=VigilanceColour.ROUGE,
        valid_from=_oct(15, 11, 30),
        bulletin_ref="Vigicrues, bulletin du 15/10/2018, fin de matinée",
    )
    log.record(
        IncidentReported,
        _oct(15, 11, 45),
        GENDARMERIE_11,
        lag=5,
        incident_id=VILLARDONNEL,
        kind=IncidentKind.INONDATION,
        severity=Severity.EXTREME,
        title="Une religieuse emportée par les eaux à Villardonnel",
        location=_aude_place("Villardonnel", VILLARDONNEL_INSEE, 43.33, 2.37),
        sources=["Préfet de l'Aude (déclaration à la presse)"],
    )
    log.record(
        BilanAssessed,
        _oct(15, 12),
        COM_11,
        lag=3,
        figures=Bilan(decedes=11, disparus=2, urgences_absolues=8),
        source_of_figures="Préfecture de l'Aude (bilan provisoire de mi-journée)",
        note="Victimes à Trèbes, Villegailhenc, Villardonnel ; 8 blessés graves.",
    )


def _aude_monday_afternoon(log: _Recorder) -> None:
    """Monday 15 October, afternoon: reinforcements, the flood wave downstream, water."""
    log.record(
        BilanAssessed,
        _oct(15, 13),
        COM_11,
        lag=3,
        figures=Bilan(decedes=13),
        source_of_figures="Préfecture de l'Aude (bilan provisoire)",
        note=(
            "Bilan provisoire repris par la presse. Les décès signalés par plusieurs "
            "services restent à recouper."
        ),
    )
    _entry(
        log,
        _oct(15, 14),
        OPERATEUR_11,
        sender="Cabinet du Premier ministre",
        recipient=COD_11,
        text=(
            "Le Premier ministre se rend à Villegailhenc cet après-midi avec le ministre de la "
            "Transition écologique ; procédure accélérée de reconnaissance de l'état de "
            "catastrophe naturelle annoncée. Point de situation à préparer."
        ),
        follow_up_owner="Directeur de cabinet",
        follow_up_due=_oct(15, 15),
    )
    log.record(
        ResourceEngaged,
        _oct(15, 14, 30),
        SDIS11,
        cause=log.last(ResourceRequested, resource_id=COLONNES),
        resource_id=COLONNES,
        service=Service.RENFORTS,
        units=70,
        personnel=360,
        description="Colonnes de renfort interdépartementales (66, 34, 30 et autres)",
        mission="Sauvetages, reconnaissances et mises en sécurité dans les secteurs sinistrés",
    )
    log.record(
        ResourceEngaged,
        _oct(15, 14, 30),
        SDIS11,
        resource_id=SDIS_11,
        service=Service.SDIS,
        units=80,
        personnel=350,
        description="Sapeurs-pompiers du SDIS 11",
        mission="Sauvetages, hélitreuillages et reconnaissances ; postes avancés du CODIS",
    )
    log.record(
        IncidentReported,
        _oct(15, 15, 30),
        VIGICRUES,
        lag=4,
        incident_id=BASSE_PLAINE,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Onde de crue de l'Aude attendue dans les basses plaines",
        description=(
            "Arrivée de l'onde de crue en soirée à Cuxac-d'Aude et Coursan ; jonction "
            "des affluents vers Moussoulens."
        ),
        location=Location(
            description="Basses plaines de l'Aude, de Moussoulens à Coursan",
            insee_codes=[MOUSSOULENS_INSEE, CUXAC_INSEE, COURSAN_INSEE],
        ),
        sources=["Vigicrues"],
    )
    aval = log.record(
        DecisionTaken,
        _oct(15, 16),
        DIRCAB_11,
        lag=1,
        decision_id="dec-0004",
        text=(
            "Évacuations préventives des quartiers exposés de Cuxac-d'Aude et de Coursan ; "
            "ouverture de lieux d'hébergement par les communes."
        ),
        taken_by=PREFET_11,
        rationale="Onde de crue annoncée par Vigicrues dans les basses plaines en soirée.",
        incident_ids=[BASSE_PLAINE],
    )
    log.record(
        PublicAlertIssued,
        _oct(15, 16, 15),
        COM_11,
        lag=1,
        cause=aval,
        alert_id="alert-0003",
        channel=AlertChannel.SOCIAL_NETWORKS,
        headline="Basses plaines de l'Aude : évacuations préventives ce soir",
        risk="Arrivée de l'onde de crue de l'Aude dans les basses plaines en soirée.",
        issuing_authority=PREFET_11,
        area=Location(
            description="Cuxac-d'Aude et Coursan", insee_codes=[CUXAC_INSEE, COURSAN_INSEE]
        ),
        instructions=(
            "Suivez les consignes d'évacuation de votre mairie et des secours. Ne "
            "revenez pas chercher vos biens. Ne vous approchez pas des digues ni des berges."
        ),
        link=SITE_11,
        severity=Severity.SEVERE,
        incident_ids=[BASSE_PLAINE],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    eau = _entry(
        log,
        _oct(15, 16, 30),
        OPERATEUR_11,
        sender="ARS Occitanie, délégation de l'Aude",
        recipient=COD_11,
        text="Six communes privées d'eau potable : captages ou réseaux touchés par la crue.",
        medium=Medium.EMAIL,
        follow_up_owner="ARS Occitanie, délégation de l'Aude",
    )
    boire = log.record(
        DecisionTaken,
        _oct(15, 16, 45),
        DIRCAB_11,
        lag=1,
        cause=eau,
        decision_id="dec-0005",
        text=(
            "Eau du robinet déclarée impropre à la consommation dans les communes concernées "
            "jusqu'à nouvel ordre ; approvisionnement en eau embouteillée avec les maires."
        ),
        taken_by=PREFET_11,
        rationale="Captages et réseaux d'eau potable touchés, qualité de l'eau non garantie.",
    )
    log.record(
        TaskAssigned,
        _oct(15, 16, 50),
        SIDPC_11,
        cause=boire,
        task_id="task-0002",
        title="Informer les habitants privés d'eau potable et organiser l'eau embouteillée",
        assignee="ARS Occitanie et maires des communes concernées",
        due_at=_oct(15, 20),
        decision_id="dec-0005",
    )
    log.record(
        PressReleasePublished,
        _oct(15, 17),
        COM_11,
        lag=3,
        cause=boire,
        release_id="cp-0002",
        title="Inondations : consignes pour l'eau du robinet et les déplacements",
        body=(
            "Dans les communes dont le réseau d'eau est touché, l'eau du robinet ne doit pas "
            "être bue ni utilisée pour préparer les aliments jusqu'à nouvel ordre. De nombreuses "
            "routes sont coupées : évitez tout déplacement. Une cellule d'information du public "
            "est ouverte à la préfecture. Des évacuations préventives ont lieu ce soir dans les "
            "basses plaines de l'Aude."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _aude_monday_evening(log: _Recorder) -> None:
    """Monday 15 October, evening: the toll revised down to 11, soldiers in the villages."""
    log.record(
        BilanAssessed,
        _oct(15, 19, 30),
        COM_11,
        lag=3,
        figures=Bilan(decedes=12, urgences_absolues=8, disparus=1),
        source_of_figures="Préfecture de l'Aude (bilan de 19h30)",
        note="Une personne disparue à Puichéric, en aval de Trèbes, le long du canal du Midi.",
    )
    log.record(
        IncidentReported,
        _oct(15, 20),
        SDIS11,
        lag=4,
        incident_id=CARCASSONNE,
        kind=IncidentKind.INONDATION,
        severity=Severity.SEVERE,
        title="Corps découvert à Carcassonne",
        description="Une victime retrouvée en soirée.",
        location=_aude_place("Carcassonne", CARCASSONNE_INSEE, 43.213, 2.349),
        sources=["CODIS 11"],
    )
    log.record(
        BilanAssessed,
        _oct(15, 20, 30),
        OPERATEUR_11,
        figures=Bilan(foyers_sans_eau=10000),
        source_of_figures="ARS Occitanie et exploitants des réseaux",
        note="Ordre de grandeur communiqué lundi soir.",
    )
    log.record(
        BilanAssessed,
        _oct(15, 21, 15),
        COM_11,
        lag=3,
        figures=Bilan(decedes=11, urgences_absolues=8, disparus=2),
        source_of_figures="Préfecture de l'Aude (bilan de 21h)",
        note=(
            "Après recoupement, 11 décès : 6 à Trèbes, 2 à Villegailhenc, 1 à Villardonnel, "
            "1 à Villalier, 1 à Carcassonne. Revu à la baisse par rapport aux bilans de 13h00 "
            "(13) et de 19h30 (12). Deux personnes disparues."
        ),
    )
    _entry(
        log,
        _oct(15, 22),
        OPERATEUR_11,
        sender="Météo-France",
        recipient=COD_11,
        text=(
            "Vigilance orange levée à 22h00 pour l'Hérault, les Pyrénées-Orientales et l'Aveyron. "
            "L'Aude reste en vigilance rouge crues."
        ),
        medium=Medium.PORTAL,
        priority=Priority.ROUTINE,
    )
    log.record(
        ResourceEngaged,
        _oct(15, 22),
        GENDARMERIE_11,
        resource_id=MILITAIRES,
        service=Service.AUTRE,
        units=10,
        personnel=300,
        incident_id=TREBES,
        description="Sections militaires en appui de la gendarmerie (près de 300 militaires)",
        mission="Sécurisation des communes les plus touchées, prévention des atteintes aux biens",
    )
    log.record(
        SituationReportIssued,
        _oct(15, 22, 30),
        SITREP_11,
        lag=1,
        number=2,
        as_of_position=log.position,
        summary=(
            "Onze décès après recoupement (les bilans de 13h00 et 19h30 en comptaient 13 "
            "puis 12), deux disparus, huit blessés graves. Crue historique de l'Aude à Trèbes. "
            "Basses plaines sous surveillance, évacuations préventives à Cuxac-d'Aude et Coursan. "
            "Eau du robinet impropre dans plusieurs communes."
        ),
        bilan=Bilan(
            decedes=11, urgences_absolues=8, disparus=2, evacues=1000, foyers_sans_eau=10000
        ),
        active_plans=[ORSEC_INONDATION],
        resources=log.resources(),
        decision_ids=["dec-0004", "dec-0005"],
        outlook=(
            "Décrue lente en amont ; passage de l'onde de crue dans les basses plaines "
            "cette nuit. Recherches des disparus dès le jour."
        ),
        next_report_at=_oct(16, 10),
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _aude_after(log: _Recorder) -> None:
    """Tuesday 16 and Wednesday 17 October: the toll stabilised, then 14; the end of the red."""
    _entry(
        log,
        _oct(16, 7, 30),
        OPERATEUR_11,
        sender="Préfet de l'Aude (entretien à la radio)",
        recipient=COD_11,
        text=(
            "Bilan « stabilisé » à 11 morts et 3 personnes recherchées (Villegailhenc, Villalier, "
            "Puichéric). Près de 800 interventions dont 141 hélitreuillages. À Moussoulens, "
            "jonction des affluents, jusqu'à 3 000 - 3 200 m³/s : digues et évacuation ont tenu."
        ),
        medium=Medium.OTHER,
        priority=Priority.ROUTINE,
    )
    log.record(
        BilanAssessed,
        _oct(16, 7, 45),
        COM_11,
        lag=3,
        figures=Bilan(disparus=3, routes_coupees=50),
        source_of_figures="Préfet de l'Aude",
        note="Plus de 50 routes départementales encore coupées.",
    )
    log.record(
        BilanAssessed,
        _oct(16, 8),
        OPERATEUR_11,
        figures=Bilan(foyers_sans_electricite=1500),
        source_of_figures="Enedis",
        note="Environ 1 500 foyers encore privés d'électricité mardi matin.",
    )
    log.record(
        IncidentUpdated,
        _oct(16, 8, 15),
        VIGICRUES,
        lag=4,
        incident_id=BASSE_PLAINE,
        severity=Severity.MODERATE,
        note="Onde de crue passée dans les basses plaines sans rupture de digue ; décrue lente.",
    )
    log.record(
        ResourceEngaged,
        _oct(16, 9),
        MOYENS_11,
        resource_id=UIISC,
        service=Service.RENFORTS,
        units=15,
        personnel=80,
        incident_id=TREBES,
        description="Détachement des unités militaires de la sécurité civile (UIISC)",
        mission="Pompage, déblaiement et appui aux communes sinistrées",
    )
    log.record(
        TaskCompleted,
        _oct(16, 9, 30),
        SIDPC_11,
        cause=log.last(TaskAssigned, task_id="task-0002"),
        task_id="task-0002",
        outcome="Habitants informés par les mairies ; eau embouteillée mise à disposition.",
    )
    log.record(
        BilanAssessed,
        _oct(16, 13),
        COM_11,
        lag=3,
        figures=Bilan(decedes=13, disparus=1),
        source_of_figures="Préfecture de l'Aude",
        note="Selon le bilan communiqué : deux des personnes recherchées retrouvées décédées.",
    )
    log.record(
        SituationReportIssued,
        _oct(16, 18),
        SITREP_11,
        lag=1,
        number=3,
        as_of_position=log.position,
        summary=(
            "Treize décès, une personne recherchée. Décrue engagée partout ; plus de 50 "
            "routes départementales coupées ; sections militaires dans les communes sinistrées ; "
            "UIISC engagées au pompage et au déblaiement."
        ),
        bilan=Bilan(
            decedes=13,
            urgences_absolues=8,
            disparus=1,
            evacues=1000,
            foyers_sans_eau=10000,
            foyers_sans_electricite=1500,
            routes_coupees=50,
        ),
        active_plans=[ORSEC_INONDATION],
        resources=log.resources(),
        outlook=(
            "Fin de la vigilance rouge crues attendue mercredi ; nettoyage, hébergement, "
            "rétablissement de l'eau potable."
        ),
        next_report_at=_oct(17, 12),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        VigilanceChanged,
        _oct(17, 6),
        VIGICRUES,
        lag=4,
        departement=AUDE,
        phenomenon=VigilancePhenomenon.INONDATION,
        colour=VigilanceColour.ORANGE,
        valid_from=_oct(17, 6),
        bulletin_ref="Vigicrues, bulletin du 17/10/2018, matin",
    )
    log.record(
        BilanAssessed,
        _oct(17, 10),
        COM_11,
        lag=3,
        figures=Bilan(decedes=14, disparus=0),
        source_of_figures="Préfecture de l'Aude (bilan consolidé)",
        note=(
            "Les trois personnes recherchées ont été retrouvées décédées. 14 décès, chiffre retenu "
            "par le retour d'expérience CGEDD-IGA ; des bilans publiés plus tard en comptent 15."
        ),
    )
    log.record(
        CodStoodDown,
        _oct(17, 18),
        DIRCAB_11,
        lag=1,
        reason=(
            "Fin de la phase d'urgence retenue pour l'exercice ; hébergement, eau potable, "
            "nettoyage et catastrophe naturelle suivis en cellule post-crise."
        ),
    )
    log.record(
        CrisisClosed,
        _oct(17, 18, 30),
        DIRCAB_11,
        lag=1,
        summary=(
            "Épisode méditerranéen des 14-15 octobre 2018 : jusqu'à 300 mm en quelques "
            "heures autour de Carcassonne, crue de l'Aude à Trèbes proche de celle de 1891. "
            "14 décès (15 dans des bilans ultérieurs), environ 800 interventions et 141 "
            "hélitreuillages en 24 heures. Points de RETEX : bilans successifs contradictoires le "
            "15 au soir (13, 12 puis 11), vigilance rouge émise à 6h00 alors que les crues avaient "
            "commencé dans la nuit, alerte par les médias et le porte-à-porte faute d'outil de "
            "diffusion directe."
        ),
    )


# -- Lubrizol, Rouen, 26-27 September 2019 -------------------------------------------------------

SEINE_MARITIME = "76"
PREFET_76 = "Préfet de la Seine-Maritime"
COD_76 = "COD 76"
SITE_76 = "https://www.seine-maritime.gouv.fr"

FEU = "inc-0001"
APPELS_17 = "inc-0002"
PANACHE = "inc-0003"
SEINE = "inc-0004"

PPI = "ppi-lubrizol-rouen"
POLMAR = "orsec-polmar-terre"

SDIS_76 = "res-sdis76-feu-lubrizol"
CMIC = "res-sdis76-cmic"
RENFORTS_76 = "res-sdis-limitrophes-mousse"
DDSP_76 = "res-ddsp76-bouclage"
BARRAGES = "res-barrages-seine"

ROUEN = "76540"
PETIT_QUEVILLY = "76498"
GRAND_QUEVILLY = "76322"
CANTELEU = "76157"
BIHOREL = "76095"
# The eleven communes named first for the closing of the schools, in the préfecture's order.
ECOLES_FERMEES = [
    ROUEN,
    "76108",  # Bois-Guillaume
    "76451",  # Mont-Saint-Aignan
    "76377",  # Isneauville
    "76517",  # Quincampoix
    "76580",  # Saint-Georges-sur-Fontaine
    "76555",  # Saint-André-sur-Cailly
    "76547",  # La Rue-Saint-Pierre
    "76583",  # Saint-Germain-sous-Cailly
    "76152",  # Cailly
    "76123",  # Bosc-Guérard-Saint-Adrien
]
LUBRIZOL_POINT = GeoPoint(lat=49.4364, lon=1.0583)

PERMANENCE_76 = _By("console", "permanence.cab76")
DIRCAB_76 = _By("console", "dircab.seine-maritime")
OPERATEUR_76 = _By("console", "op.lefebvre")
MOYENS_76 = _By("console", "op.duval")
SIDPC_76 = _By("console", "siracedpc.moreau")
COM_76 = _By("prefecture76", "com.leroy")
SDIS76 = _By("sdis76", "cos.sdis76")
DDSP76 = _By("ddsp76", "cic.ddsp76")
DREAL = _By("dreal-normandie", "astreinte.dreal")
SITREP_76 = _By("sitrep", "dircab.seine-maritime")


def _sep(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of September 2019, Paris summer time."""
    return datetime(2019, 9, day, hour, minute, tzinfo=PARIS)


def lubrizol_2019(
    crisis_id: str = "lubrizol-2019-09", *, status: Status = Status.EXERCISE
) -> list[Envelope]:
    """The Lubrizol fire (Rouen, 26-27 September 2019) as the COD 76 would have recorded it."""
    log = _Recorder(crisis_id, status)
    _lubrizol_night(log)
    _lubrizol_dawn(log)
    _lubrizol_morning(log)
    _lubrizol_afternoon(log)
    _lubrizol_next_day(log)
    return log.events


def _lubrizol_night(log: _Recorder) -> None:
    """26 September, 02:40-05:30: the fire, the COD, the PPI, the 500 m perimeter."""
    log.record(
        CrisisOpened,
        _sep(26, 3, 45),
        PERMANENCE_76,
        lag=1,
        name="Incendie Lubrizol - site SEVESO seuil haut (Rouen)",
        kind=CrisisKind.CRISE,
        departement=SEINE_MARITIME,
        nature=IncidentKind.SEVESO,
        description=(
            "Incendie de grande ampleur sur le site Lubrizol (additifs pour lubrifiants, SEVESO "
            "seuil haut), entouré de deux sites SEVESO seuil bas et d'installations classées. Le "
            "préfet, alerté vers 3h45, active le COD."
        ),
    )
    # Received by the cell when it opens: the fire was reported to the CODIS an hour earlier.
    feu = log.record(
        IncidentReported,
        _sep(26, 2, 40),
        SDIS76,
        lag=68,
        incident_id=FEU,
        kind=IncidentKind.SEVESO,
        severity=Severity.EXTREME,
        title="Incendie sur le site Lubrizol (SEVESO seuil haut), quai de France",
        description=(
            "Appel de la société voisine Triadis à 02h39 : grandes flammes au-dessus "
            "d'une toiture côté Lubrizol. Feu de stockage de produits conditionnés (fûts de 200 l, "
            "conteneurs), explosions et effets missiles ; propagation aux entrepôts voisins de "
            "Normandie Logistique."
        ),
        location=Location(
            description="Rouen rive gauche, site Lubrizol, quai de France",
            point=LUBRIZOL_POINT,
            insee_codes=[ROUEN],
        ),
        sources=["CODIS 76"],
    )
    log.record(
        IncidentReported,
        _sep(26, 2, 45),
        DDSP76,
        lag=66,
        incident_id=APPELS_17,
        kind=IncidentKind.FEU,
        severity=Severity.SEVERE,
        title="Appels au 17 : flammes et détonations dans la zone portuaire rive gauche",
        location=Location(
            description="Rouen rive gauche, zone portuaire", insee_codes=[ROUEN, PETIT_QUEVILLY]
        ),
        sources=["Centre d'information et de commandement de la DDSP 76"],
    )
    _entry(
        log,
        _sep(26, 3, 50),
        OPERATEUR_76,
        sender="CODIS 76",
        recipient=COD_76,
        text=(
            "Premiers engins partis à 02h42, sur place à 02h52. Renforcés d'emblée par un groupe "
            "d'attaque « zone industrielle pétrolière » et un groupe d'alimentation : une douzaine "
            "d'engins, une cinquantaine de sapeurs-pompiers. Stock de pentasulfure de phosphore "
            "menacé (dégagement d'hydrogène sulfuré possible)."
        ),
        priority=Priority.FLASH,
        cause=feu,
        follow_up_owner="COS SDIS 76",
    )
    log.record(
        ResourceEngaged,
        _sep(26, 2, 55),
        SDIS76,
        lag=57,
        cause=feu,
        resource_id=SDIS_76,
        service=Service.SDIS,
        units=12,
        personnel=50,
        incident_id=FEU,
        description="Groupes d'attaque et d'alimentation du SDIS 76",
        mission="Attaque du feu, protection de la zone de production et du pentasulfure",
    )
    log.record(
        CodConvened,
        _sep(26, 4),
        DIRCAB_76,
        lag=1,
        location="Préfecture de la Seine-Maritime, Rouen, salle du COD",
        services_present=[
            "SDIS 76",
            "DDSP 76",
            "Groupement de gendarmerie 76",
            "SAMU 76",
            "DREAL Normandie",
            "ARS Normandie",
            "Météo-France",
            "Métropole Rouen Normandie",
            "Ville de Rouen",
            "Lubrizol (exploitant)",
        ],
        convened_by=PREFET_76,
    )
    log.record(
        DecisionTaken,
        _sep(26, 4),
        DIRCAB_76,
        lag=2,
        decision_id="dec-0001",
        text=(
            "Le préfet prend la direction des opérations de secours (article L. 742-2 du code "
            "de la sécurité intérieure)."
        ),
        taken_by=PREFET_76,
        rationale="Sinistre dont l'ampleur dépasse les moyens et le territoire d'une commune.",
        incident_ids=[FEU],
    )
    proposition = log.record(
        PlanActivationProposed,
        _sep(26, 4, 5),
        SIDPC_76,
        cause=feu,
        plan_code=PPI,
        plan_name="Plan particulier d'intervention - site Lubrizol, Rouen",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        reason=(
            "Incendie majeur d'un site SEVESO seuil haut aux effets hors du site : panache "
            "de fumées sur l'agglomération, risque toxique si le pentasulfure de phosphore est "
            "atteint, sites classés voisins."
        ),
        incident_ids=[FEU],
    )
    log.record(
        PlanActivated,
        _sep(26, 4, 15),
        DIRCAB_76,
        lag=2,
        cause=proposition,
        plan_code=PPI,
        plan_name="Plan particulier d'intervention - site Lubrizol, Rouen",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        decided_by=PREFET_76,
        decided_at=_sep(26, 4, 15),
        proposal_event_id=proposition.event_id,
    )
    log.record(
        IncidentMerged,
        _sep(26, 4, 20),
        OPERATEUR_76,
        incident_id=FEU,
        merged_ids=[APPELS_17],
        reason="Les appels au 17 décrivent l'incendie du site Lubrizol.",
    )
    perimetre = log.record(
        DecisionTaken,
        _sep(26, 4, 30),
        DIRCAB_76,
        lag=1,
        decision_id="dec-0002",
        text=(
            "Périmètre de sécurité de 500 m autour du site : évacuation des entreprises et des "
            "habitations voisines, confinement des riverains ; fermeture de la voie rapide Sud "
            "III, de la N1338, du pont Flaubert, de l'A150 et du tunnel de la Grand'Mare."
        ),
        taken_by=PREFET_76,
        rationale="Protéger la population et dégager les accès des secours.",
        incident_ids=[FEU],
    )
    log.record(
        TaskAssigned,
        _sep(26, 4, 35),
        SIDPC_76,
        cause=perimetre,
        task_id="task-0001",
        title="Boucler le périmètre de 500 m et fermer les axes",
        assignee="DDSP 76, DIR Nord-Ouest, Métropole Rouen Normandie",
        due_at=_sep(26, 5, 30),
        decision_id="dec-0002",
    )
    log.record(
        ResourceEngaged,
        _sep(26, 4, 40),
        DDSP76,
        cause=perimetre,
        resource_id=DDSP_76,
        service=Service.POLICE,
        units=15,
        personnel=45,
        incident_id=FEU,
        description="Équipages de la DDSP 76 (ordre de grandeur)",
        mission="Bouclage du périmètre et fermeture des axes",
    )
    log.record(
        PublicAlertIssued,
        _sep(26, 4, 50),
        COM_76,
        lag=1,
        alert_id="alert-0001",
        channel=AlertChannel.SOCIAL_NETWORKS,
        headline="Incendie en cours entreprise Lubrizol à Rouen",
        risk="Incendie d'un site industriel, fumées épaisses sur l'agglomération.",
        issuing_authority=PREFET_76,
        area=Location(description="Agglomération de Rouen", insee_codes=[ROUEN, PETIT_QUEVILLY]),
        instructions="Évitez le secteur. Restez informés en écoutant France Bleu Normandie.",
        link=SITE_76,
        severity=Severity.SEVERE,
        incident_ids=[FEU],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        PressReleasePublished,
        _sep(26, 5, 15),
        COM_76,
        lag=2,
        release_id="cp-0001",
        title="Incendie dans l'entreprise Lubrizol à Rouen",
        body=(
            "Un incendie important s'est déclaré cette nuit vers 2h40 sur le site Lubrizol, "
            "classé SEVESO. Aucune victime n'est à déplorer. Un périmètre de sécurité de 500 m "
            "est mis en place : les personnes qui y résident sont invitées à rester chez elles. "
            "La voie rapide Sud III, le pont Flaubert et l'A150 sont fermés. Limitez vos "
            "déplacements au strict nécessaire."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        TaskCompleted,
        _sep(26, 5, 30),
        DDSP76,
        cause=log.last(TaskAssigned, task_id="task-0001"),
        task_id="task-0001",
        outcome="Périmètre bouclé, axes fermés et déviations en place.",
    )
    log.record(
        ResourceRequested,
        _sep(26, 5, 30),
        MOYENS_76,
        resource_id=RENFORTS_76,
        service=Service.RENFORTS,
        units=15,
        personnel=70,
        incident_id=FEU,
        description="Renforts de SDIS limitrophes : fourgons mousse grande puissance, émulseur",
        mission="Attaque massive à la mousse des nappes d'hydrocarbures en feu",
        requested_from="COZ Ouest et COGIC",
    )


def _lubrizol_dawn(log: _Recorder) -> None:
    """26 September, 06:00-08:00: the plume, the schools, the sirens, the first measurements."""
    _entry(
        log,
        _sep(26, 6),
        OPERATEUR_76,
        sender="COD 76",
        recipient="Ineris, cellule d'appui aux situations d'urgence (CASU)",
        text=(
            "Demande d'appui : caractérisation des fumées et des produits de combustion, "
            "recommandations de mesures."
        ),
        direction=Direction.SENT,
        follow_up_owner="DREAL Normandie",
        follow_up_due=_sep(26, 9),
    )
    vent = _entry(
        log,
        _sep(26, 6, 10),
        OPERATEUR_76,
        sender="Météo-France",
        recipient=COD_76,
        text=(
            "Vent faible de secteur sud-ouest : le panache s'étire vers le nord-est de "
            "l'agglomération, plateaux nord puis au-delà."
        ),
    )
    log.record(
        IncidentReported,
        _sep(26, 6, 15),
        OPERATEUR_76,
        cause=vent,
        incident_id=PANACHE,
        kind=IncidentKind.POLLUTION,
        severity=Severity.SEVERE,
        title="Panache de fumées noires vers le nord-est de Rouen",
        description=(
            "Panache épais et bas, odeurs d'hydrocarbures ; retombées de suies "
            "possibles sous le vent."
        ),
        location=Location(
            description="Sous le vent du site, plateaux nord de l'agglomération",
            insee_codes=ECOLES_FERMEES,
        ),
        sources=["Météo-France", "SDIS 76"],
    )
    ecoles = log.record(
        DecisionTaken,
        _sep(26, 6, 30),
        DIRCAB_76,
        lag=1,
        cause=vent,
        decision_id="dec-0003",
        text=(
            "Fermeture des écoles, collèges, lycées et crèches de Rouen et de dix communes sous "
            "le panache ; confinement des maisons de retraite ; déplacements limités au strict "
            "nécessaire."
        ),
        taken_by=PREFET_76,
        rationale="Panache sur le nord-est de l'agglomération, produits de combustion inconnus.",
        incident_ids=[FEU, PANACHE],
    )
    log.record(
        TaskAssigned,
        _sep(26, 6, 35),
        SIDPC_76,
        cause=ecoles,
        task_id="task-0002",
        title="Prévenir les établissements scolaires, les crèches et les EHPAD des communes",
        assignee="DSDEN 76, ARS Normandie, mairies",
        due_at=_sep(26, 7, 30),
        decision_id="dec-0003",
    )
    log.record(
        PublicAlertIssued,
        _sep(26, 6, 45),
        COM_76,
        lag=1,
        cause=ecoles,
        alert_id="alert-0002",
        channel=AlertChannel.MEDIA,
        headline="Incendie Lubrizol : écoles fermées, sirènes à 7h30",
        risk="Fumées de l'incendie du site Lubrizol sur le nord-est de l'agglomération.",
        issuing_authority=PREFET_76,
        area=Location(description="Rouen et communes sous le panache", insee_codes=ECOLES_FERMEES),
        instructions=(
            "Les écoles, collèges, lycées et crèches sont fermés. Les sirènes d'alerte "
            "seront déclenchées à 7h30. Limitez vos déplacements ; écoutez France Bleu Normandie."
        ),
        link=SITE_76,
        severity=Severity.SEVERE,
        incident_ids=[FEU, PANACHE],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        ResourceEngaged,
        _sep(26, 7),
        SDIS76,
        resource_id=CMIC,
        service=Service.SDIS,
        units=2,
        personnel=8,
        incident_id=PANACHE,
        description="Cellule mobile d'intervention chimique (CMIC) du SDIS 76",
        mission="Mesures dans le panache et sous le vent",
    )
    log.record(
        PublicAlertIssued,
        _sep(26, 7, 30),
        COM_76,
        lag=1,
        cause=log.last(DecisionTaken, decision_id="dec-0002"),
        alert_id="alert-0003",
        channel=AlertChannel.SIRENS,
        headline="Signal national d'alerte : mettez-vous à l'abri",
        risk="Incendie du site Lubrizol, fumées.",
        issuing_authority=PREFET_76,
        area=Location(
            description="Zone du PPI autour du site Lubrizol",
            point=LUBRIZOL_POINT,
            insee_codes=[ROUEN, PETIT_QUEVILLY, GRAND_QUEVILLY],
        ),
        instructions=(
            "Rejoignez un bâtiment, fermez portes et fenêtres, arrêtez la ventilation. "
            "N'allez pas chercher vos enfants à l'école. Écoutez France Bleu Normandie."
        ),
        severity=Severity.SEVERE,
        incident_ids=[FEU],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        TaskCompleted,
        _sep(26, 7, 35),
        SIDPC_76,
        cause=log.last(TaskAssigned, task_id="task-0002"),
        task_id="task-0002",
        outcome="Établissements prévenus ; l'université n'ouvre pas ce matin.",
    )
    _entry(
        log,
        _sep(26, 7, 40),
        OPERATEUR_76,
        sender="Cellule communication",
        recipient=COD_76,
        text=(
            "Sirènes annoncées pour 7h30 ; des témoignages les situent plus tard. Heure effective "
            "de déclenchement à établir pour le RETEX."
        ),
        direction=Direction.INTERNAL,
        priority=Priority.ROUTINE,
        follow_up_owner="SIRACEDPC",
    )
    _entry(
        log,
        _sep(26, 7, 45),
        OPERATEUR_76,
        sender="CMIC SDIS 76",
        recipient=COD_76,
        text=(
            "Premières mesures sous le panache : pas de toxicité aiguë décelée, hydrogène sulfuré "
            "non détecté."
        ),
        medium=Medium.RADIO,
    )
    log.record(
        BilanAssessed,
        _sep(26, 7, 50),
        SDIS76,
        figures=Bilan(decedes=0, urgences_absolues=0),
        source_of_figures="SDIS 76",
        note="Aucune victime ; personnel du site et des entreprises voisines mis en sécurité.",
    )


def _lubrizol_morning(log: _Recorder) -> None:
    """26 September, 08:00-13:00: the foam attack, the Seine, the fire circumscribed."""
    _entry(
        log,
        _sep(26, 8),
        OPERATEUR_76,
        sender="COS SDIS 76",
        recipient=COD_76,
        text=(
            "Déclenchement simultané des fourgons mousse vers 8h00 : attaque massive des nappes "
            "d'hydrocarbures en feu. Plusieurs replis dus aux écoulements enflammés et aux fûts."
        ),
        medium=Medium.RADIO,
    )
    log.record(
        ResourceEngaged,
        _sep(26, 8),
        SDIS76,
        resource_id=SDIS_76,
        service=Service.SDIS,
        units=50,
        personnel=150,
        incident_id=FEU,
        description="Sapeurs-pompiers du SDIS 76",
        mission="Attaque du feu à la mousse, protection de la zone de production",
    )
    log.record(
        ResourceEngaged,
        _sep(26, 8, 15),
        SDIS76,
        cause=log.last(ResourceRequested, resource_id=RENFORTS_76),
        resource_id=RENFORTS_76,
        service=Service.RENFORTS,
        units=15,
        personnel=70,
        incident_id=FEU,
        description="Renforts des SDIS de cinq départements limitrophes (ordre de grandeur)",
        mission="Attaque massive à la mousse des nappes d'hydrocarbures en feu",
    )
    _entry(
        log,
        _sep(26, 8, 30),
        OPERATEUR_76,
        sender="DSDEN 76",
        recipient=COD_76,
        text=(
            "Listes divergentes : la préfecture parle désormais de 12 communes, la presse en cite "
            "13 (avec Canteleu et Bihorel). Liste à arrêter et à republier."
        ),
        medium=Medium.EMAIL,
        follow_up_owner="Cellule communication",
        follow_up_due=_sep(26, 10),
    )
    log.record(
        SituationReportIssued,
        _sep(26, 9),
        SITREP_76,
        lag=1,
        number=1,
        as_of_position=log.position,
        summary=(
            "Incendie en cours depuis 2h40 sur le site Lubrizol (SEVESO seuil haut) et les "
            "entrepôts de Normandie Logistique. PPI activé ; périmètre de 500 m, axes fermés. "
            "Panache vers le nord-est ; écoles fermées dans 12 communes, maisons de retraite "
            "confinées, sirènes à 7h30. Premières mesures sans toxicité aiguë. Aucune victime."
        ),
        bilan=Bilan(decedes=0, urgences_absolues=0),
        active_plans=[PPI],
        resources=log.resources(),
        decision_ids=["dec-0001", "dec-0002", "dec-0003"],
        outlook=(
            "Attaque à la mousse en cours ; appui Ineris et modélisation du panache par "
            "Météo-France attendus."
        ),
        next_report_at=_sep(26, 13),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        TaskAssigned,
        _sep(26, 9, 15),
        SIDPC_76,
        task_id="task-0003",
        title="Obtenir de l'exploitant la nature et les quantités des produits sinistrés",
        assignee="DREAL Normandie, inspection des installations classées",
        due_at=_sep(26, 18),
    )
    log.record(
        IncidentReported,
        _sep(26, 9, 30),
        DREAL,
        lag=3,
        incident_id=SEINE,
        kind=IncidentKind.POLLUTION,
        severity=Severity.MODERATE,
        title="Risque de pollution de la Seine par les eaux d'extinction",
        location=Location(
            description="La Seine au droit du site, quai de France", insee_codes=[ROUEN]
        ),
        sources=["DREAL Normandie"],
    )
    polmar = log.record(
        PlanActivationProposed,
        _sep(26, 9, 45),
        SIDPC_76,
        plan_code=POLMAR,
        plan_name="ORSEC - dispositions spécifiques POLMAR-Terre",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        reason="Eaux d'extinction chargées d'hydrocarbures susceptibles d'atteindre la Seine.",
        incident_ids=[SEINE],
    )
    log.record(
        PlanActivated,
        _sep(26, 10),
        DIRCAB_76,
        lag=2,
        cause=polmar,
        plan_code=POLMAR,
        plan_name="ORSEC - dispositions spécifiques POLMAR-Terre",
        category=PlanCategory.DISPOSITIONS_SPECIFIQUES,
        decided_by=PREFET_76,
        decided_at=_sep(26, 10),
        proposal_event_id=polmar.event_id,
    )
    log.record(
        IncidentUpdated,
        _sep(26, 10, 30),
        SDIS76,
        incident_id=FEU,
        note="Feu circonscrit.",
    )
    log.record(
        ResourceEngaged,
        _sep(26, 10, 45),
        DREAL,
        resource_id=BARRAGES,
        service=Service.AUTRE,
        units=1,
        personnel=10,
        incident_id=SEINE,
        description="Barrages flottants anti-pollution sur la Seine",
        mission="Contenir une éventuelle pollution de la Seine au droit du site",
    )
    _entry(
        log,
        _sep(26, 11, 30),
        OPERATEUR_76,
        sender="Cabinet du ministre de l'Intérieur",
        recipient=COD_76,
        text="Le ministre de l'Intérieur se rend sur le site en milieu de journée puis au COD.",
        follow_up_owner="Directeur de cabinet",
        follow_up_due=_sep(26, 12),
    )
    log.record(
        PressReleasePublished,
        _sep(26, 12, 30),
        COM_76,
        lag=2,
        release_id="cp-0002",
        title="Incendie Lubrizol : point de situation de la mi-journée",
        body=(
            "L'incendie est circonscrit. Les premières analyses de l'air n'ont pas fait "
            "apparaître de toxicité aiguë. Les établissements scolaires et les crèches des "
            "communes concernées restent fermés, les maisons de retraite confinées. Le "
            "périmètre de 500 m est maintenu. Des barrages flottants protègent la Seine."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        IncidentUpdated,
        _sep(26, 13),
        SDIS76,
        incident_id=FEU,
        severity=Severity.SEVERE,
        note="Feu maîtrisé.",
    )


def _lubrizol_afternoon(log: _Recorder) -> None:
    """26 September, afternoon and evening: the fire out, the perimeter lifted, the analyses."""
    _entry(
        log,
        _sep(26, 14),
        OPERATEUR_76,
        sender="Directeur de cabinet",
        recipient=COD_76,
        text=(
            "Retours de Météo-France (modélisation du panache) et de l'Ineris toujours attendus ; "
            "reconnaissance du panache par hélicoptère faite en matinée."
        ),
        direction=Direction.INTERNAL,
        priority=Priority.ROUTINE,
    )
    log.record(
        IncidentUpdated,
        _sep(26, 15),
        SDIS76,
        incident_id=FEU,
        severity=Severity.MODERATE,
        title="Incendie éteint sur le site Lubrizol, surveillance en cours",
        note="Feu éteint ; noyage des foyers résiduels, risque de reprise et d'odeurs.",
    )
    demain = log.record(
        DecisionTaken,
        _sep(26, 16, 30),
        DIRCAB_76,
        lag=1,
        decision_id="dec-0004",
        text=(
            "Établissements scolaires des 12 communes fermés vendredi 27 septembre ; personnes "
            "fragiles invitées à rester chez elles jusqu'à vendredi soir ; levée du périmètre de "
            "500 m, les riverains peuvent rentrer ce soir."
        ),
        taken_by=PREFET_76,
        rationale="Feu maîtrisé, mais nettoyage des suies et résultats d'analyses attendus.",
        incident_ids=[FEU, PANACHE],
    )
    _entry(
        log,
        _sep(26, 16, 40),
        OPERATEUR_76,
        sender="Métropole Rouen Normandie",
        recipient=COD_76,
        text=(
            "Arrêt progressif des transports en commun de l'agglomération cet après-midi ; reprise "
            "normale prévue vendredi matin. Mesure prise par l'exploitant, non demandée par le COD."
        ),
        medium=Medium.EMAIL,
    )
    log.record(
        PublicAlertIssued,
        _sep(26, 16, 50),
        COM_76,
        lag=1,
        cause=demain,
        alert_id="alert-0004",
        channel=AlertChannel.SOCIAL_NETWORKS,
        headline="Feu maîtrisé - écoles des 12 communes fermées vendredi 27 septembre",
        risk="Fin de l'incendie du site Lubrizol ; odeurs et suies possibles.",
        issuing_authority=PREFET_76,
        area=Location(description="Rouen et communes concernées", insee_codes=ECOLES_FERMEES),
        instructions=(
            "Par précaution, les établissements scolaires restent fermés vendredi. "
            "Les personnes fragiles restent chez elles jusqu'à vendredi soir."
        ),
        link=SITE_76,
        severity=Severity.MODERATE,
        incident_ids=[FEU, PANACHE],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        ResourceReleased,
        _sep(26, 17),
        SDIS76,
        resource_id=RENFORTS_76,
        service=Service.RENFORTS,
        units=15,
        personnel=70,
        incident_id=FEU,
        reason="Feu éteint",
    )
    log.record(
        ResourceEngaged,
        _sep(26, 17),
        SDIS76,
        resource_id=SDIS_76,
        service=Service.SDIS,
        units=30,
        personnel=120,
        incident_id=FEU,
        mission="Surveillance, noyage des foyers résiduels, protection contre les reprises",
    )
    log.record(
        IncidentUpdated,
        _sep(26, 18),
        OPERATEUR_76,
        lag=5,
        incident_id=PANACHE,
        severity=Severity.MODERATE,
        sources=["ARS Hauts-de-France"],
        note=(
            "Panache dispersé ; dépôts de suies signalés sous le vent jusque dans les "
            "Hauts-de-France."
        ),
    )
    log.record(
        BilanAssessed,
        _sep(26, 19),
        OPERATEUR_76,
        figures=Bilan(urgences_relatives=10),
        source_of_figures="SAMU 76 (selon un médecin cité par la presse)",
        note=(
            "Une dizaine de personnes vues au CHU de Rouen pour des irritations de la gorge, "
            "du nez ou des yeux, toutes rentrées chez elles."
        ),
    )
    _entry(
        log,
        _sep(26, 19, 30),
        OPERATEUR_76,
        sender="SDIS 76 et DREAL Normandie",
        recipient=COD_76,
        text=(
            "Synthèse des mesures de l'air : 78 mesures sur 28 points. Fumée non inflammable, sans "
            "hydrogène sulfuré, traces minimes d'oxydes de soufre et d'azote (0 à 1 ppm)."
        ),
        medium=Medium.EMAIL,
    )
    log.record(
        PublicAlertIssued,
        _sep(26, 20, 15),
        COM_76,
        lag=1,
        alert_id="alert-0005",
        channel=AlertChannel.SOCIAL_NETWORKS,
        headline="Lubrizol : le feu est éteint",
        risk="Odeurs possibles après l'extinction de l'incendie.",
        issuing_authority=PREFET_76,
        area=Location(description="Agglomération de Rouen", insee_codes=[ROUEN]),
        instructions=(
            "Des odeurs peuvent persister. La situation est prise en compte : "
            "n'engorgez pas les lignes d'urgence pour la signaler."
        ),
        link=SITE_76,
        severity=Severity.MINOR,
        incident_ids=[FEU],
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        SituationReportIssued,
        _sep(26, 21),
        SITREP_76,
        lag=1,
        number=2,
        as_of_position=log.position,
        summary=(
            "Incendie circonscrit à 10h30, maîtrisé à 13h00, éteint à 15h00 (messages "
            "publics : « maîtrisé » à 16h50, « éteint » à 20h15). Aucune victime ; une dizaine de "
            "consultations pour irritations. 78 mesures de l'air sans toxicité aiguë. Périmètre "
            "levé ; écoles des 12 communes fermées vendredi. POLMAR-Terre activé, pas de pollution "
            "de la Seine observée."
        ),
        bilan=Bilan(decedes=0, urgences_absolues=0, urgences_relatives=10),
        active_plans=[PPI, POLMAR],
        resources=log.resources(),
        decision_ids=["dec-0004"],
        outlook=(
            "Odeurs et suies : nombreuses sollicitations attendues. Nature et quantités des "
            "produits brûlés à établir avec l'exploitant."
        ),
        next_report_at=_sep(27, 12),
        validated_by=DIRECTEUR_DE_CABINET,
    )


def _lubrizol_next_day(log: _Recorder) -> None:
    """27 September: odours and soot, the products burnt, the follow-up."""
    _entry(
        log,
        _sep(27, 7),
        OPERATEUR_76,
        sender="Cellule d'information du public",
        recipient=COD_76,
        text=(
            "Nombreux appels pour des odeurs d'hydrocarbures et des dépôts de suies (jardins, "
            "véhicules, mobilier extérieur)."
        ),
        priority=Priority.ROUTINE,
    )
    _entry(
        log,
        _sep(27, 9),
        OPERATEUR_76,
        sender="DREAL Normandie",
        recipient=COD_76,
        text=(
            "Liste des produits transmise par l'exploitant : formulations commerciales "
            "difficilement exploitables. Nouvelle demande d'un état des stocks par substance."
        ),
        medium=Medium.EMAIL,
        follow_up_owner="DREAL Normandie",
        follow_up_due=_sep(27, 18),
    )
    suies = log.record(
        DecisionTaken,
        _sep(27, 10),
        DIRCAB_76,
        lag=1,
        decision_id="dec-0005",
        text=(
            "Recommandations sanitaires pour les dépôts de suies : ne pas les toucher à mains "
            "nues, se laver les mains, nettoyer les surfaces à l'eau ; par précaution, ne pas "
            "consommer les productions du jardin souillées dans l'attente des analyses."
        ),
        taken_by=PREFET_76,
        rationale="Avis de l'ARS Normandie ; composition des suies inconnue à ce stade.",
        incident_ids=[PANACHE],
    )
    log.record(
        PressReleasePublished,
        _sep(27, 11),
        COM_76,
        lag=2,
        cause=suies,
        release_id="cp-0003",
        title="Incendie Lubrizol : point de situation du vendredi 27 septembre",
        body=(
            "Le feu est éteint. Les mesures de l'air effectuées jeudi n'ont pas montré de "
            "toxicité aiguë ; des analyses complémentaires sont en cours. En cas de dépôts de "
            "suies, ne les touchez pas à mains nues et ne consommez pas les productions de votre "
            "jardin qui en sont souillées. Les établissements scolaires des 12 communes rouvrent "
            "lundi ; les transports en commun circulent normalement."
        ),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        TaskAssigned,
        _sep(27, 11, 30),
        SIDPC_76,
        cause=suies,
        task_id="task-0004",
        title="Préparer les mesures de précaution sur les productions agricoles sous le panache",
        assignee="DRAAF Normandie, DDPP 76",
        due_at=_sep(28, 12),
    )
    log.record(
        SituationReportIssued,
        _sep(27, 12),
        SITREP_76,
        lag=1,
        number=3,
        as_of_position=log.position,
        summary=(
            "Feu éteint, site sous surveillance. Odeurs et suies signalées sous le vent. "
            "Recommandations sanitaires publiées. La liste des produits fournie par l'exploitant "
            "n'est pas exploitable en l'état."
        ),
        bilan=Bilan(decedes=0, urgences_absolues=0, urgences_relatives=10),
        active_plans=[PPI, POLMAR],
        resources=log.resources(),
        decision_ids=["dec-0005"],
        outlook=(
            "Mesures de précaution agricoles en préparation ; résultats d'analyses des "
            "suies attendus."
        ),
        next_report_at=_sep(27, 18),
        validated_by=DIRECTEUR_DE_CABINET,
    )
    log.record(
        CodStoodDown,
        _sep(27, 20),
        DIRCAB_76,
        lag=1,
        reason=(
            "Fin de la séquence reconstituée pour l'exercice ; le suivi post-accidentel "
            "(analyses, mesures agricoles, information du public) se poursuit."
        ),
    )
    log.record(
        CrisisClosed,
        _sep(27, 20, 30),
        DIRCAB_76,
        lag=1,
        summary=(
            "Incendie du 26 septembre 2019 : alerte à 2h39, PPI activé dans la nuit, feu "
            "éteint en une douzaine d'heures, aucune victime. Ensuite, hors de cette séquence : "
            "arrêté du 28 septembre consignant les productions agricoles de 112 communes de "
            "Seine-Maritime, puis des départements voisins ; listes des produits brûlés publiées "
            "début octobre (5 253 t chez Lubrizol, 4 252 t chez Normandie Logistique). Points de "
            "RETEX : heure des sirènes, listes de communes divergentes, information sur les "
            "produits brûlés, absence de diffusion cellulaire."
        ),
    )


# -- exported logs -------------------------------------------------------------------------------

# The exported logs kept in `services/demo/crises/`, by crisis id.
SAMPLES: dict[str, Callable[[], list[Envelope]]] = {
    "aude-2018-10": aude_2018,
    "lubrizol-2019-09": lubrizol_2019,
    "demo-alex-06": tempete_alex,
}


def export_sample(events: Sequence[Envelope]) -> bytes:
    """The JSON Lines of the events as an exported log: positions 1..N in the given order.

    Stream time (`recorded_at`) is when the event was received, never before it occurred nor
    before the event recorded just before it, as JetStream would have stored them.
    """
    lines = []
    previous: datetime | None = None
    for position, event in enumerate(events, start=1):
        recorded_at = max(event.received_at, event.occurred_at)
        if previous is not None and recorded_at < previous:
            recorded_at = previous
        previous = recorded_at
        wire = {**event.to_wire(), "recorded_at": instant_text(recorded_at)}
        lines.append(export_line(position, orjson.dumps(wire).decode()))
    return b"".join(lines)


def write_samples(directory: Path = CRISES_DIR) -> list[Path]:
    """Write the exported log of each sample crisis as `<crisis_id>.jsonl`; return the paths."""
    written = []
    for crisis_id, generate in SAMPLES.items():
        path = directory / f"{crisis_id}.jsonl"
        path.write_bytes(export_sample(generate()))
        written.append(path)
    return written


if __name__ == "__main__":
    write_samples()
