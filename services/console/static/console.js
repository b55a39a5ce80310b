// The operator console: who is signed in, which crisis is shown, its live picture, and the acts.
// In review (RETEX) the live stream is closed and the picture is the one of a chosen instant.

import * as api from "./api.js";
import { $, el, fill } from "./dom.js";
import { setupForms } from "./forms.js";
import { LANGS, setLang, storedLang, t, translatePage, when, word } from "./i18n.js";
import { setupJournal } from "./journal.js";
import { IncidentMap } from "./map.js";
import * as panels from "./panels.js";
import { setupReview } from "./review.js";

const STANDING_WATCH = "veille";
const state = {
  me: null,
  crises: [],
  crisisId: null,
  picture: null,
  stop: null,
  rejectedCount: null,
  rejectedRows: [],
  live: false,
  review: false, // in review mode: no stream, no act, the picture of `reviewAt`
  reviewAt: null, // the instant (ms) of the picture shown in review
};
let map = null;
let forms = null;
let review = null;
let journal = null;
// Bumped whenever the crisis or the mode changes: what comes back for an earlier turn is dropped.
let turn = 0;
let toastTimer = null;

function toast(message, isError) {
  const box = $("#toast");
  box.textContent = message;
  box.classList.toggle("error", Boolean(isError));
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, isError ? 10000 : 5000);
}

// Acts apply to the live crisis only: none in review.
const can = (act) =>
  !state.review && Boolean(state.me && state.me.can.includes(act)) && state.picture?.state !== "closed";

/** Send an act on the shown crisis; panel buttons are disabled while it is on its way. */
async function send(command, button = null) {
  if (state.review) return { ok: false, error: t("review.no_acts") };
  if (button) button.disabled = true;
  try {
    return await api.act(state.crisisId, command);
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
}

/** An act from a panel button: its outcome told in the toast. */
async function actFromPanel(command, button) {
  try {
    const answer = await send(command, button);
    if (answer.ok) toast(t("toast.done"), false);
    else toast(t("toast.refused", { error: answer.error || (answer.forbidden ? t("toast.forbidden") : t("error.unknown")) }), true);
  } catch {
    toast(t("toast.network"), true);
  }
  restoreFocus();
}

const ctx = {
  can,
  now: () => (state.review && state.reviewAt !== null ? state.reviewAt : Date.now()),
  act: actFromPanel,
  focus: (incidentId) => {
    if (map.focus(incidentId)) $("#map").focus({ preventScroll: false });
  },
  provenance: (name) => {
    const dialog = $("#dialog-provenance");
    dialog.dataset.figure = name;
    panels.renderProvenance($("#provenance-body"), state.picture, name);
    dialog.showModal();
  },
  sitrepUrl: (number, draft) => api.sitrepUrl(state.crisisId, number, draft),
};

// -- rendering ------------------------------------------------------------------------------------

function renderHeader() {
  const p = state.picture;
  const summary = state.crises.find((c) => c.crisis_id === state.crisisId);
  const exercise = Boolean(p?.exercise || (p && summary?.exercise));
  $("[data-testid=exercise-banner]").hidden = !exercise;
  document.body.classList.toggle("exercise", exercise);
  document.body.classList.toggle("reviewing", state.review);
  const toggle = $("#review-toggle");
  toggle.setAttribute("aria-pressed", String(state.review));
  toggle.title = t(state.review ? "review.toggle_title_on" : "review.toggle_title");
  const live = $("#live");
  live.hidden = state.review; // the review bar's badge says what is shown instead
  const said = state.live ? `● ${t("live.on")}` : `○ ${t("live.off")}`;
  if (live.textContent !== said) live.textContent = said; // announced only when it changes
  live.classList.toggle("off", !state.live);
  fill(
    $("#crisis-status"),
    p ? el("span", { class: `chip crisis-${p.state}`, text: word("crisis_state", p.state) }) : null,
    p?.departement ? el("span", { text: p.departement }) : null,
    p ? el("span", { text: `${t("status.cod")} ${word("cod", p.cod?.state)}` }) : null,
    p?.sitrep?.next_report_at ? el("span", { text: t("status.next_sitrep", { at: when(p.sitrep.next_report_at) }) }) : null,
  );
}

// The button last focused in a panel, by its data-key ("verb:subject"): a re-render replaces it,
// and an act disables it, so the focus would fall back to the page without this.
let lastKey = null;

function restoreFocus() {
  const here = document.activeElement;
  if (!lastKey || (here && here !== document.body)) return;
  const subject = lastKey.key.slice(lastKey.key.indexOf(":") + 1);
  const found =
    document.querySelector(`[data-key="${CSS.escape(lastKey.key)}"]:not(:disabled)`) ||
    document.querySelector(`[data-key$=":${CSS.escape(subject)}"]:not(:disabled)`) ||
    document.querySelector(`#${lastKey.panel} h2`);
  if (found) found.focus({ preventScroll: true });
}

function render({ fit = false } = {}) {
  const p = state.picture;
  if (!p) return;
  renderHeader();
  for (const button of document.querySelectorAll("[data-can]")) button.hidden = !can(button.dataset.can);
  const incidents = Object.values(p.incidents || {});
  $("#incident-count").textContent = `(${t("incidents.open", { n: incidents.filter((i) => i.state === "open").length })})`;
  panels.renderIncidents($("#incident-list"), p, ctx);
  panels.renderBilan($("#bilan"), p, ctx);
  panels.renderPlans($("#plans"), p, ctx);
  panels.renderPostures($("#postures"), p, ctx);
  panels.renderResources($("#resources"), p);
  panels.renderTasks($("#tasks-panel"), p, ctx);
  panels.renderMainCourante($("#main-courante"), $("#mc-count"), p, ctx);
  panels.renderSitreps($("#sitreps"), p, ctx);
  panels.renderAlerts($("#alerts"), p, ctx);
  panels.renderRejected($("#rejected"), $("#rejected-count"), p, rejectedRows());
  forms.setIncidents(incidents);
  map.render(p, { fit });
  restoreFocus();
  const dialog = $("#dialog-provenance");
  if (dialog.open && dialog.dataset.figure) panels.renderProvenance($("#provenance-body"), p, dialog.dataset.figure);
}

/** The rejected inputs shown: in review, only those rejected by the instant reviewed. */
function rejectedRows() {
  const rows = state.rejectedRows;
  if (!state.review || !rows) return rows;
  return rows.filter((r) => !r.rejected_at || Date.parse(r.rejected_at) <= state.reviewAt);
}

async function refreshRejected() {
  try {
    state.rejectedRows = await api.rejected(50);
  } catch {
    state.rejectedRows = null;
  }
  if (state.picture) panels.renderRejected($("#rejected"), $("#rejected-count"), state.picture, rejectedRows());
}

function showPicture(view, options) {
  if (view.crisis_id && view.crisis_id !== state.crisisId) return; // a late event of the crisis left
  state.picture = view;
  render(options);
  if (!state.review && view.rejected_inputs !== state.rejectedCount) {
    state.rejectedCount = view.rejected_inputs;
    refreshRejected();
  }
}

// -- crises ---------------------------------------------------------------------------------------

function crisisLabel(c) {
  const parts = [c.name || c.crisis_id];
  if (c.crisis_id === STANDING_WATCH && !c.name) parts[0] = "veille";
  if (c.departement) parts.push(`(${c.departement})`);
  if (c.exercise) parts.push(`– ${t("exercise")}`);
  if (c.state && c.state !== "open") parts.push(`– ${word("crisis_state", c.state)}`);
  return parts.join(" ");
}

function fillCrises() {
  const select = $("#crisis-select");
  const list = [...state.crises];
  if (state.crisisId && !list.some((c) => c.crisis_id === state.crisisId)) list.push({ crisis_id: state.crisisId });
  fill(select, list.map((c) => el("option", { value: c.crisis_id, text: crisisLabel(c) })));
  if (state.crisisId) select.value = state.crisisId;
}

/** The crisis in the address, else the open crisis opened last, else the standing watch. */
function defaultCrisis() {
  const asked = decodeURIComponent(window.location.hash.slice(1));
  if (asked && state.crises.some((c) => c.crisis_id === asked)) return asked;
  const open = state.crises
    .filter((c) => c.state === "open" && c.crisis_id !== STANDING_WATCH)
    .sort((a, b) => String(b.opened_at || "").localeCompare(String(a.opened_at || "")) || (b.position || 0) - (a.position || 0));
  if (open.length) return open[0].crisis_id;
  return state.crises.some((c) => c.crisis_id === STANDING_WATCH) || state.crises.length === 0 ? STANDING_WATCH : state.crises[0].crisis_id;
}

function stopLive() {
  if (state.stop) state.stop();
  state.stop = null;
  state.live = false;
}

/** Show the live picture of a crisis, then follow it over the stream. */
async function goLive(crisisId, mine, { fit = false } = {}) {
  try {
    const view = await api.picture(crisisId);
    if (mine !== turn) return;
    showPicture(view, { fit });
  } catch {
    if (mine === turn) toast(t("toast.network"), true);
  }
  if (mine !== turn) return; // another crisis or the review was chosen meanwhile
  let first = fit && !state.picture;
  renderHeader();
  state.stop = api.follow(
    crisisId,
    (view) => {
      showPicture(view, { fit: first });
      first = false;
    },
    (live) => {
      state.live = live;
      renderHeader();
    },
  );
}

/** Review a crisis: its picture at the last instant of its log. False when it cannot be. */
async function openReview(crisisId, mine, { fit = false } = {}) {
  let opened = null;
  try {
    opened = await review.open(crisisId);
  } catch (problem) {
    if (mine === turn) toast(problem.status === 404 ? t("review.empty") : t("toast.network"), true);
    return false;
  }
  if (!opened || mine !== turn) return false;
  stopLive();
  forms.closeAll();
  state.review = true;
  state.reviewAt = opened.at;
  showPicture(opened.view, { fit });
  renderHeader();
  return true;
}

/** Out of review: back to the live picture and its stream. */
function closeReview() {
  review.close();
  state.review = false;
  state.reviewAt = null;
  state.rejectedCount = null; // the live count is asked again
  renderHeader();
}

async function enterReview() {
  if (state.review || !state.crisisId) return;
  const mine = ++turn;
  const toggle = $("#review-toggle");
  toggle.setAttribute("aria-busy", "true");
  const opened = await openReview(state.crisisId, mine);
  toggle.removeAttribute("aria-busy");
  if (!opened) {
    if (mine === turn) review.close();
    return;
  }
  review.focus();
}

async function leaveReview() {
  if (!state.review) return;
  const mine = ++turn;
  closeReview();
  await goLive(state.crisisId, mine);
}

async function selectCrisis(crisisId) {
  const mine = ++turn;
  stopLive();
  forms.closeAll();
  state.crisisId = crisisId;
  state.picture = null;
  map.forget();
  history.replaceState(null, "", `#${encodeURIComponent(crisisId)}`);
  journal.refresh();
  $("#crisis-select").value = crisisId;
  if (state.review) {
    // Still in review: the other crisis is reviewed, unless its log holds nothing.
    if (await openReview(crisisId, mine, { fit: true })) return;
    if (mine !== turn) return;
    closeReview();
  }
  await goLive(crisisId, mine, { fit: true });
}

async function refreshCrises() {
  try {
    state.crises = await api.crises();
    fillCrises();
  } catch {
    // keep the list we have; the stream says whether the server is there
  }
}

// -- language -------------------------------------------------------------------------------------

function applyLang(lang) {
  setLang(lang);
  translatePage();
  $("#lang-switch").value = lang;
  if (state.me) $("#role").textContent = word("role", state.me.role);
  forms.translate();
  review.translate();
  fillCrises();
  render();
  renderHeader();
}

// -- start ----------------------------------------------------------------------------------------

async function start() {
  const chosen = storedLang();
  setLang(chosen || "fr", false);
  translatePage();
  $("#lang-switch").value = document.documentElement.lang;
  state.me = await api.me();
  api.useCsrf(state.me.csrf);
  if (!chosen && LANGS.includes(state.me.lang) && state.me.lang !== "fr") {
    setLang(state.me.lang, false);
    translatePage();
    $("#lang-switch").value = state.me.lang;
  }
  $("#user-name").textContent = state.me.name || state.me.ident;
  const role = $("#role");
  role.textContent = word("role", state.me.role);
  role.dataset.role = state.me.role;

  // The grid's rows share the height left under the sticky top (taller with the EXERCICE banner).
  new ResizeObserver(([entry]) => {
    document.documentElement.style.setProperty("--top", `${Math.ceil(entry.target.offsetHeight)}px`);
  }).observe($(".top"));
  map = new IncidentMap($("#map"), state.me.tiles);
  forms = setupForms({ send: (command) => send(command), map, toast });
  review = setupReview({
    onPicture: (view, at) => {
      if (!state.review) return;
      state.reviewAt = at;
      showPicture(view);
    },
    onFail: () => toast(t("review.failed"), true),
  });
  journal = setupJournal({ crisisId: () => state.crisisId, reviewAt: () => (state.review ? state.reviewAt : null) });
  $("#review-toggle").addEventListener("click", () => (state.review ? leaveReview() : enterReview()));
  $("#review-exit").addEventListener("click", () => {
    leaveReview();
    $("#review-toggle").focus();
  });

  $("#lang-switch").addEventListener("change", (event) => applyLang(event.target.value));
  $("#crisis-select").addEventListener("change", (event) => selectCrisis(event.target.value));
  window.addEventListener("hashchange", () => {
    const asked = decodeURIComponent(window.location.hash.slice(1));
    if (asked && asked !== state.crisisId && state.crises.some((c) => c.crisis_id === asked)) selectCrisis(asked);
  });
  $("#logout").addEventListener("click", () => api.logout());
  document.addEventListener("focusin", (event) => {
    const key = event.target.dataset?.key;
    const panel = event.target.closest?.("section.panel");
    lastKey = key && panel ? { key, panel: panel.id } : null;
  });
  document.addEventListener("focusout", (event) => {
    // Left by the user (not removed by a re-render, nor disabled by its act): forget it.
    if (!event.relatedTarget && event.target.isConnected && !event.target.disabled) lastKey = null;
  });
  $("#toast").addEventListener("click", () => {
    $("#toast").hidden = true;
  });
  const provenance = $("#dialog-provenance");
  provenance.querySelector("[data-close]").addEventListener("click", () => provenance.close());
  provenance.addEventListener("close", () => {
    const back = document.querySelector(`[data-key="figure:${CSS.escape(provenance.dataset.figure || "")}"]`);
    if (back) back.focus();
  });

  if (state.me.expires_at) {
    // When the session ends, /api/me answers 401 and api.js goes to the login page.
    const left = new Date(state.me.expires_at).getTime() - Date.now();
    if (left > 0 && left < 2 ** 31 - 1000) setTimeout(() => api.me().catch(() => {}), left + 1000);
  }
  await refreshCrises();
  await selectCrisis(defaultCrisis());
  setInterval(refreshCrises, 60000);
  setInterval(() => render(), 60000); // deadlines pass without any event: flag them anyway
}

start().catch((problem) => {
  // /api/me answered 401: api.js is already taking the browser to the login page.
  if (String(problem.message) !== "not signed in") toast(t("toast.network"), true);
});
