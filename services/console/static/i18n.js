// Every string of the console, in French (the default) and English, and how instants are shown.

const STRINGS = {
  fr: {
    "app.title": "Console de la cellule de crise",
    "skip": "Aller au contenu",
    "lang.label": "Langue",
    "login.title": "Cellule de crise – connexion",
    "login.heading": "Connexion à la console",
    "login.ident": "Identifiant",
    "login.password": "Mot de passe",
    "login.submit": "Se connecter",
    "login.error": "Identifiant ou mot de passe incorrect",
    "header.crisis": "Crise",
    "header.logout": "Se déconnecter",
    "header.user": "Utilisateur",
    "exercise": "EXERCICE",
    "exercise.banner": "EXERCICE – EXERCICE – EXERCICE",
    "test": "TEST",
    "live.on": "En direct",
    "live.off": "Reconnexion…",
    "status.cod": "COD",
    "status.events": "{n} événements",
    "status.next_sitrep": "Prochain point : {at}",
    "panel.map": "Carte",
    "panel.incidents": "Incidents",
    "panel.bilan": "Bilan",
    "panel.plans": "Plans ORSEC",
    "panel.postures": "Vigipirate et vigilance",
    "panel.resources": "Moyens engagés",
    "panel.tasks": "Décisions et tâches",
    "panel.main_courante": "Main courante",
    "panel.rejected": "Entrées rejetées",
    "panel.sitreps": "Points de situation",
    "panel.alerts": "Alertes des populations",
    "map.label": "Carte des incidents",
    "map.no_tiles": "Fond de carte indisponible : incidents dessinés sur une grille.",
    "map.pick": "Cliquez sur la carte pour placer le point de l'incident.",
    "empty": "Rien pour l'instant.",
    "none": "—",
    "incidents.open": "{n} ouvert(s)",
    "incident.warnings": "{n} avertissement(s)",
    "incident.show": "Voir sur la carte",
    "incident.where": "Lieu",
    "bilan.show": "Provenance de {figure}",
    "bilan.provenance": "Provenance du chiffre",
    "bilan.basis": "Base",
    "bilan.events": "Événements",
    "bilan.recorded": "Enregistré le",
    "basis.crisis_wide": "Déclaration pour toute la crise",
    "basis.sum_of_incidents": "Somme des derniers chiffres des incidents",
    "bilan.crisis": "crise",
    "plan.rule": "Règle : {rule}",
    "plan.proposed_by": "Proposé par {who}",
    "plan.decided_by": "Décidé par {who}, {at}",
    "plan.activate": "Activer",
    "plan.deactivate": "Désactiver",
    "plan.confirm_deactivate": "Désactiver le plan {code} ?",
    "vigipirate": "Vigipirate",
    "vigipirate.none": "Posture non renseignée",
    "vigipirate.proposed": "Proposition : {posture}",
    "vigipirate.apply": "Appliquer la posture proposée",
    "vigilance": "Vigilance météo",
    "vigilance.none": "Aucune vigilance reçue",
    "resources.service": "Service",
    "resources.units": "Unités",
    "resources.personnel": "Personnels",
    "resources.total": "Total",
    "tasks.decisions": "Décisions",
    "tasks.tasks": "Tâches",
    "tasks.due": "échéance {at}",
    "tasks.overdue": "EN RETARD",
    "tasks.complete": "Terminer",
    "tasks.complete_label": "Terminer la tâche : {title}",
    "mc.count": "{n} entrées (les 50 dernières affichées)",
    "mc.follow_up": "Suite : {owner}",
    "mc.follow_up_due": "Suite : {owner}, pour {at}",
    "mc.overdue": "SUITE EN RETARD",
    "mc.by": "saisi par {who}",
    "rejected.count": "{n} rejetée(s) dans cette crise ; les dernières de tous les flux :",
    "rejected.field": "champ {field}",
    "rejected.size": "{size} octets",
    "rejected.failed": "Entrées rejetées indisponibles",
    "sitrep.last": "Dernier point émis : n° {n}",
    "sitrep.issued_by": "Validé par {who}, {at}",
    "sitrep.open": "Ouvrir le point n° {n} (nouvel onglet)",
    "sitrep.draft": "Projet n° {n}",
    "sitrep.open_draft": "Ouvrir le projet n° {n} (nouvel onglet)",
    "sitrep.issue": "Valider et émettre",
    "sitrep.none": "Aucun point émis.",
    "sitrep.next": "Prochain point prévu : {at}",
    "alerts.issued": "Émises",
    "alerts.drafts": "Projets",
    "alerts.issue": "Valider et diffuser",
    "alerts.validated": "Validée par {who}, {at}",
    "alerts.expires": "expire {at}",
    "action.report_incident": "Signaler un incident",
    "action.add_entry": "Nouvelle entrée",
    "action.engage_resource": "Engager des moyens",
    "action.draft_sitrep": "Préparer un point",
    "action.draft_alert": "Préparer une alerte",
    "form.cancel": "Annuler",
    "form.close": "Fermer",
    "form.submit": "Enregistrer",
    "form.optional": "(facultatif)",
    "form.incident.title": "Signaler un incident",
    "form.incident.kind": "Nature",
    "form.incident.severity": "Gravité",
    "form.incident.name": "Titre",
    "form.incident.where": "Lieu (description)",
    "form.incident.insee": "Codes INSEE des communes",
    "form.incident.insee_hint": "séparés par des virgules, ex. 06127, 06101",
    "form.incident.lat": "Latitude",
    "form.incident.lon": "Longitude",
    "form.incident.description": "Description",
    "form.incident.pick": "Cliquez sur la carte pour renseigner la latitude et la longitude.",
    "form.incident.need_where": "Indiquez au moins un lieu, un code INSEE ou un point.",
    "form.incident.need_both": "Donnez la latitude et la longitude, ou aucune des deux.",
    "form.entry.title": "Nouvelle entrée de main courante",
    "form.entry.direction": "Sens",
    "form.entry.sender": "De",
    "form.entry.recipient": "À",
    "form.entry.medium": "Moyen",
    "form.entry.priority": "Priorité",
    "form.entry.text": "Message",
    "form.entry.owner": "Suite à donner par",
    "form.entry.due": "Échéance de la suite",
    "form.resource.title": "Engager des moyens",
    "form.resource.service": "Service",
    "form.resource.units": "Unités",
    "form.resource.personnel": "Personnels",
    "form.resource.description": "Description",
    "form.resource.incident": "Incident",
    "form.sitrep.title": "Préparer un point de situation",
    "form.sitrep.summary": "Synthèse (sinon rédigée d'après la situation)",
    "form.sitrep.outlook": "Perspectives",
    "form.sitrep.next": "Prochain point à",
    "form.alert.title": "Préparer une alerte des populations",
    "form.alert.channel": "Vecteur",
    "form.alert.headline": "Titre",
    "form.alert.risk": "Risque",
    "form.alert.instructions": "Consignes",
    "form.alert.authority": "Autorité émettrice",
    "form.alert.severity": "Gravité",
    "form.alert.where": "Zone (description)",
    "form.alert.insee": "Codes INSEE de la zone",
    "form.alert.link": "Lien",
    "form.alert.expires": "Expire à",
    "form.alert.need_area": "Indiquez la zone : une description ou des codes INSEE.",
    "form.bad_insee": "Code INSEE invalide : {code}",
    "toast.done": "Enregistré.",
    "toast.refused": "Refusé : {error}",
    "toast.forbidden": "Votre rôle ne permet pas cet acte.",
    "toast.network": "Le serveur ne répond pas.",
    "error.unknown": "erreur inconnue",
    "review.toggle": "Revue / RETEX",
    "review.toggle_title": "Revoir la crise telle que la cellule la connaissait à un instant choisi (le direct est suspendu)",
    "review.toggle_title_on": "Quitter la revue et revenir au direct",
    "review.bar": "Revue de la crise (RETEX)",
    "review.badge": "REVUE — situation au {at}",
    "review.slider": "Instant revu",
    "review.keys": "Flèches ±{step} · Pg préc./Pg suiv. ±1 h · Début/Fin : premier/dernier événement",
    "review.step_min": "{n} min",
    "review.step_s": "{n} s",
    "review.back": "−10 min",
    "review.back_label": "Reculer de 10 minutes",
    "review.forward": "+10 min",
    "review.forward_label": "Avancer de 10 minutes",
    "review.play": "▶ Lire",
    "review.pause": "❚❚ Pause",
    "review.play_label": "Lire la crise à partir de l'instant revu",
    "review.pause_label": "Mettre la lecture en pause",
    "review.speed": "Vitesse",
    "review.speed_hint": "secondes de crise par seconde",
    "review.speed.1": "×1 (temps réel)",
    "review.speed.10": "×10",
    "review.speed.60": "×60 (1 min/s)",
    "review.speed.600": "×600 (10 min/s)",
    "review.speed.3600": "×3600 (1 h/s)",
    "review.events": "{n} / {total} événements",
    "review.exit": "Revenir au direct",
    "review.empty": "Le journal ne contient rien de cette crise : pas de revue possible.",
    "review.failed": "La situation à cet instant n'a pas pu être chargée.",
    "review.no_acts": "En revue, aucun acte n'est possible : revenez au direct.",
  },
  en: {
    "app.title": "Crisis cell console",
    "skip": "Skip to content",
    "lang.label": "Language",
    "login.title": "Crisis cell – sign in",
    "login.heading": "Sign in to the console",
    "login.ident": "Identity",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.error": "Wrong identity or password",
    "header.crisis": "Crisis",
    "header.logout": "Sign out",
    "header.user": "User",
    "exercise": "EXERCICE",
    "exercise.banner": "EXERCICE – EXERCICE – EXERCICE",
    "test": "TEST",
    "live.on": "Live",
    "live.off": "Reconnecting…",
    "status.cod": "COD",
    "status.events": "{n} events",
    "status.next_sitrep": "Next report: {at}",
    "panel.map": "Map",
    "panel.incidents": "Incidents",
    "panel.bilan": "Impact (bilan)",
    "panel.plans": "ORSEC plans",
    "panel.postures": "Vigipirate and weather warnings",
    "panel.resources": "Resources engaged",
    "panel.tasks": "Decisions and tasks",
    "panel.main_courante": "Log (main courante)",
    "panel.rejected": "Rejected inputs",
    "panel.sitreps": "Situation reports",
    "panel.alerts": "Public alerts",
    "map.label": "Map of the incidents",
    "map.no_tiles": "No base map: incidents drawn on a grid.",
    "map.pick": "Click the map to place the incident's point.",
    "empty": "Nothing yet.",
    "none": "—",
    "incidents.open": "{n} open",
    "incident.warnings": "{n} warning(s)",
    "incident.show": "Show on the map",
    "incident.where": "Where",
    "bilan.show": "Where {figure} comes from",
    "bilan.provenance": "Where the figure comes from",
    "bilan.basis": "Basis",
    "bilan.events": "Events",
    "bilan.recorded": "Recorded",
    "basis.crisis_wide": "Stated for the whole crisis",
    "basis.sum_of_incidents": "Sum of the incidents' latest figures",
    "bilan.crisis": "crisis",
    "plan.rule": "Rule: {rule}",
    "plan.proposed_by": "Proposed by {who}",
    "plan.decided_by": "Decided by {who}, {at}",
    "plan.activate": "Activate",
    "plan.deactivate": "Deactivate",
    "plan.confirm_deactivate": "Deactivate plan {code}?",
    "vigipirate": "Vigipirate",
    "vigipirate.none": "No posture recorded",
    "vigipirate.proposed": "Proposed: {posture}",
    "vigipirate.apply": "Apply the proposed posture",
    "vigilance": "Weather warnings",
    "vigilance.none": "No warning received",
    "resources.service": "Service",
    "resources.units": "Units",
    "resources.personnel": "People",
    "resources.total": "Total",
    "tasks.decisions": "Decisions",
    "tasks.tasks": "Tasks",
    "tasks.due": "due {at}",
    "tasks.overdue": "OVERDUE",
    "tasks.complete": "Done",
    "tasks.complete_label": "Mark the task done: {title}",
    "mc.count": "{n} entries (the latest 50 shown)",
    "mc.follow_up": "Follow-up: {owner}",
    "mc.follow_up_due": "Follow-up: {owner}, by {at}",
    "mc.overdue": "FOLLOW-UP OVERDUE",
    "mc.by": "recorded by {who}",
    "rejected.count": "{n} rejected in this crisis; the latest of all feeds:",
    "rejected.field": "field {field}",
    "rejected.size": "{size} bytes",
    "rejected.failed": "Rejected inputs unavailable",
    "sitrep.last": "Last report issued: no. {n}",
    "sitrep.issued_by": "Validated by {who}, {at}",
    "sitrep.open": "Open report no. {n} (new tab)",
    "sitrep.draft": "Draft no. {n}",
    "sitrep.open_draft": "Open draft no. {n} (new tab)",
    "sitrep.issue": "Validate and issue",
    "sitrep.none": "No report issued.",
    "sitrep.next": "Next report due: {at}",
    "alerts.issued": "Issued",
    "alerts.drafts": "Drafts",
    "alerts.issue": "Validate and send",
    "alerts.validated": "Validated by {who}, {at}",
    "alerts.expires": "expires {at}",
    "action.report_incident": "Report an incident",
    "action.add_entry": "New entry",
    "action.engage_resource": "Engage resources",
    "action.draft_sitrep": "Draft a report",
    "action.draft_alert": "Draft an alert",
    "form.cancel": "Cancel",
    "form.close": "Close",
    "form.submit": "Save",
    "form.optional": "(optional)",
    "form.incident.title": "Report an incident",
    "form.incident.kind": "Kind",
    "form.incident.severity": "Severity",
    "form.incident.name": "Title",
    "form.incident.where": "Where (description)",
    "form.incident.insee": "INSEE codes of the communes",
    "form.incident.insee_hint": "comma separated, e.g. 06127, 06101",
    "form.incident.lat": "Latitude",
    "form.incident.lon": "Longitude",
    "form.incident.description": "Description",
    "form.incident.pick": "Click the map to fill in the latitude and longitude.",
    "form.incident.need_where": "Give at least a place, an INSEE code or a point.",
    "form.incident.need_both": "Give both latitude and longitude, or neither.",
    "form.entry.title": "New log entry",
    "form.entry.direction": "Direction",
    "form.entry.sender": "From",
    "form.entry.recipient": "To",
    "form.entry.medium": "Medium",
    "form.entry.priority": "Priority",
    "form.entry.text": "Message",
    "form.entry.owner": "Follow-up owner",
    "form.entry.due": "Follow-up due",
    "form.resource.title": "Engage resources",
    "form.resource.service": "Service",
    "form.resource.units": "Units",
    "form.resource.personnel": "People",
    "form.resource.description": "Description",
    "form.resource.incident": "Incident",
    "form.sitrep.title": "Draft a situation report",
    "form.sitrep.summary": "Summary (else written from the picture)",
    "form.sitrep.outlook": "Outlook",
    "form.sitrep.next": "Next report at",
    "form.alert.title": "Draft a public alert",
    "form.alert.channel": "Channel",
    "form.alert.headline": "Headline",
    "form.alert.risk": "Risk",
    "form.alert.instructions": "Instructions",
    "form.alert.authority": "Issuing authority",
    "form.alert.severity": "Severity",
    "form.alert.where": "Area (description)",
    "form.alert.insee": "INSEE codes of the area",
    "form.alert.link": "Link",
    "form.alert.expires": "Expires at",
    "form.alert.need_area": "Give the area: a description or INSEE codes.",
    "form.bad_insee": "Invalid INSEE code: {code}",
    "toast.done": "Saved.",
    "toast.refused": "Refused: {error}",
    "toast.forbidden": "Your role does not allow this act.",
    "toast.network": "The server does not answer.",
    "error.unknown": "unknown error",
    "review.toggle": "Review",
    "review.toggle_title": "Review the crisis as the cell knew it at a chosen instant (live is paused)",
    "review.toggle_title_on": "Leave the review and go back to live",
    "review.bar": "Crisis review (after-action)",
    "review.badge": "REVIEW — situation at {at}",
    "review.slider": "Instant reviewed",
    "review.keys": "Arrows ±{step} · Page Up/Down ±1 h · Home/End: first/last event",
    "review.step_min": "{n} min",
    "review.step_s": "{n} s",
    "review.back": "−10 min",
    "review.back_label": "Go back 10 minutes",
    "review.forward": "+10 min",
    "review.forward_label": "Go forward 10 minutes",
    "review.play": "▶ Play",
    "review.pause": "❚❚ Pause",
    "review.play_label": "Play the crisis from the instant reviewed",
    "review.pause_label": "Pause",
    "review.speed": "Speed",
    "review.speed_hint": "crisis seconds per second",
    "review.speed.1": "×1 (real time)",
    "review.speed.10": "×10",
    "review.speed.60": "×60 (1 min/s)",
    "review.speed.600": "×600 (10 min/s)",
    "review.speed.3600": "×3600 (1 h/s)",
    "review.events": "{n} / {total} events",
    "review.exit": "Back to live",
    "review.empty": "The log holds nothing of this crisis: nothing to review.",
    "review.failed": "The situation at that instant could not be loaded.",
    "review.no_acts": "No act in review: go back to live first.",
  },
};

// Words of the domain, by vocabulary; what is not here is shown as it comes.
const WORDS = {
  fr: {
    role: { operator: "opérateur", director: "directeur", observer: "observateur", reviewer: "relecteur", feed: "flux" },
    kind: {
      inondation: "Inondation", feu: "Feu", feu_de_foret: "Feu de forêt",
      accident_industriel: "Accident industriel", seveso: "Site SEVESO",
      tmd: "Transport de matières dangereuses", accident_routier: "Accident routier",
      accident_ferroviaire: "Accident ferroviaire", attentat: "Attentat", tempete: "Tempête",
      canicule: "Canicule", grand_froid: "Grand froid", neige_verglas: "Neige et verglas",
      seisme: "Séisme", mouvement_de_terrain: "Mouvement de terrain", pandemie: "Pandémie",
      nrbc: "NRBC", ordre_public: "Ordre public", panne_de_reseaux: "Panne de réseaux",
      pollution: "Pollution", autre: "Autre",
    },
    severity: { minor: "mineure", moderate: "modérée", severe: "grave", extreme: "extrême", unknown: "inconnue" },
    incident_state: { open: "ouvert", closed: "clos", merged: "fusionné", handed_over: "transféré" },
    crisis_state: { open: "ouverte", closed: "close", unknown: "inconnue" },
    cod: { not_convened: "non réuni", convened: "réuni", stood_down: "levé" },
    plan_state: { proposed: "proposé", active: "activé", deactivated: "désactivé", none: "—" },
    category: { dispositions_generales: "dispositions générales", dispositions_specifiques: "dispositions spécifiques" },
    posture: {
      vigilance: "Vigilance",
      securite_renforcee_risque_attentat: "Sécurité renforcée – risque attentat",
      urgence_attentat: "Urgence attentat",
    },
    phenomenon: {
      vent_violent: "Vent violent", pluie_inondation: "Pluie-inondation", inondation: "Crues",
      orages: "Orages", neige_verglas: "Neige-verglas", canicule: "Canicule",
      grand_froid: "Grand froid", avalanches: "Avalanches", vagues_submersion: "Vagues-submersion",
    },
    colour: { vert: "vert", jaune: "jaune", orange: "orange", rouge: "rouge" },
    service: {
      sdis: "SDIS", samu_smur: "SAMU / SMUR", police: "Police", gendarmerie: "Gendarmerie",
      aasc: "AASC", renforts: "Renforts", collectivite: "Collectivité",
      operateur_reseau: "Opérateur de réseau", autre: "Autre",
    },
    direction: { received: "reçu", sent: "envoyé", internal: "interne" },
    medium: {
      telephone: "téléphone", radio: "radio", email: "courriel", fax: "fax", sms: "SMS",
      portal: "portail", in_person: "de vive voix", other: "autre",
    },
    priority: { routine: "routine", urgent: "urgent", flash: "flash" },
    channel: {
      fr_alert: "FR-Alert", sirens: "Sirènes (SAIP)", media: "Médias",
      social_networks: "Réseaux sociaux", other: "Autre",
    },
    task_state: { open: "à faire", done: "fait" },
    figure: {
      decedes: "Décédés", urgences_absolues: "Urgences absolues", urgences_relatives: "Urgences relatives",
      impliques: "Impliqués", disparus: "Disparus", evacues: "Évacués", mis_a_l_abri: "Mis à l'abri",
      heberges: "Hébergés", foyers_sans_electricite: "Foyers sans électricité",
      foyers_sans_eau: "Foyers sans eau", routes_coupees: "Routes coupées",
    },
  },
  en: {
    role: { operator: "operator", director: "director", observer: "observer", reviewer: "reviewer", feed: "feed" },
    kind: {
      inondation: "Flood", feu: "Fire", feu_de_foret: "Forest fire",
      accident_industriel: "Industrial accident", seveso: "SEVESO site",
      tmd: "Dangerous goods transport", accident_routier: "Road accident",
      accident_ferroviaire: "Rail accident", attentat: "Terrorist attack", tempete: "Storm",
      canicule: "Heatwave", grand_froid: "Extreme cold", neige_verglas: "Snow and ice",
      seisme: "Earthquake", mouvement_de_terrain: "Landslide", pandemie: "Pandemic",
      nrbc: "CBRN", ordre_public: "Public order", panne_de_reseaux: "Network outage",
      pollution: "Pollution", autre: "Other",
    },
    severity: { minor: "minor", moderate: "moderate", severe: "severe", extreme: "extreme", unknown: "unknown" },
    incident_state: { open: "open", closed: "closed", merged: "merged", handed_over: "handed over" },
    crisis_state: { open: "open", closed: "closed", unknown: "unknown" },
    cod: { not_convened: "not convened", convened: "convened", stood_down: "stood down" },
    plan_state: { proposed: "proposed", active: "active", deactivated: "deactivated", none: "—" },
    category: { dispositions_generales: "general provisions", dispositions_specifiques: "specific provisions" },
    posture: {
      vigilance: "Vigilance",
      securite_renforcee_risque_attentat: "Heightened security – attack risk",
      urgence_attentat: "Attack emergency",
    },
    phenomenon: {
      vent_violent: "High wind", pluie_inondation: "Rain-flood", inondation: "River flood",
      orages: "Thunderstorms", neige_verglas: "Snow-ice", canicule: "Heatwave",
      grand_froid: "Extreme cold", avalanches: "Avalanches", vagues_submersion: "Waves-submersion",
    },
    colour: { vert: "green", jaune: "yellow", orange: "orange", rouge: "red" },
    service: {
      sdis: "Fire and rescue (SDIS)", samu_smur: "SAMU / SMUR", police: "Police", gendarmerie: "Gendarmerie",
      aasc: "Volunteer associations (AASC)", renforts: "Reinforcements", collectivite: "Local authority",
      operateur_reseau: "Network operator", autre: "Other",
    },
    direction: { received: "received", sent: "sent", internal: "internal" },
    medium: {
      telephone: "telephone", radio: "radio", email: "e-mail", fax: "fax", sms: "SMS",
      portal: "portal", in_person: "in person", other: "other",
    },
    priority: { routine: "routine", urgent: "urgent", flash: "flash" },
    channel: {
      fr_alert: "FR-Alert", sirens: "Sirens (SAIP)", media: "Media",
      social_networks: "Social networks", other: "Other",
    },
    task_state: { open: "to do", done: "done" },
    figure: {
      decedes: "Dead", urgences_absolues: "Critically injured (UA)", urgences_relatives: "Injured (UR)",
      impliques: "Involved", disparus: "Missing", evacues: "Evacuated", mis_a_l_abri: "Sheltered",
      heberges: "Lodged", foyers_sans_electricite: "Homes without power",
      foyers_sans_eau: "Homes without water", routes_coupees: "Roads closed",
    },
  },
};

export const LANGS = ["fr", "en"];
const STORE_KEY = "crisis_lang";
const COOKIE = "crisis_lang";
let lang = "fr";

/** The language chosen before (localStorage, then the cookie), or null. */
export function storedLang() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORE_KEY);
  } catch {
    stored = null;
  }
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${COOKIE}=`));
  const chosen = stored || (cookie && cookie.slice(COOKIE.length + 1));
  return LANGS.includes(chosen) ? chosen : null;
}

/** The language chosen before, else French. */
export function initialLang() {
  return storedLang() || "fr";
}

/** Use `next` from now on, remember it, and tell the server through the `crisis_lang` cookie. */
export function setLang(next, remember = true) {
  lang = LANGS.includes(next) ? next : "fr";
  document.documentElement.lang = lang;
  if (!remember) return;
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch {
    // Private browsing may refuse storage: the cookie still carries the choice.
  }
  document.cookie = `${COOKIE}=${lang}; path=/; max-age=31536000; SameSite=Lax`;
}

export function currentLang() {
  return lang;
}

/** The string `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.fr[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** A word of a vocabulary (kind, severity, service…), or the value itself when unknown. */
export function word(vocabulary, value) {
  if (value === null || value === undefined || value === "") return t("none");
  return WORDS[lang][vocabulary]?.[value] ?? String(value).replaceAll("_", " ");
}

/** The values of a vocabulary, in their order: for selects. */
export function values(vocabulary) {
  return Object.keys(WORDS.fr[vocabulary]);
}

/** Translate the static page: data-i18n (text), data-i18n-label (aria-label), data-i18n-title. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
  }
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = title.textContent;
}

/** An instant (ISO text) in the browser's local time, with its date, in the current language. */
export function when(iso) {
  if (!iso) return t("none");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(lang === "fr" ? "fr-FR" : "en-GB", {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(date);
}

/** An instant (ISO text or milliseconds) in local time with its weekday, to the second: the review's clock. */
export function moment(instant) {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return t("none");
  return new Intl.DateTimeFormat(lang === "fr" ? "fr-FR" : "en-GB", {
    weekday: "short",
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(date);
}

/** A number with the thousands separator of the current language. */
export function number(value) {
  return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB").format(value);
}
