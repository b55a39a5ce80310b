// The full main courante, read from the log: filters, a page at a time, "load more".
// The picture holds only the latest 50 entries; this view asks the console's server for the rest.
// Everything from the log goes into the page as text (el() and textContent), never as HTML.

import * as api from "./api.js";
import { $, el, fill } from "./dom.js";
import { localInstant } from "./forms.js";
import { t, when, word } from "./i18n.js";

// The "what" filter: the types each choice asks for.
const KINDS = {
  entries: ["maincourante.entry_recorded"],
  all: [
    "maincourante.entry_recorded",
    "maincourante.follow_up_done",
    "decision.taken",
    "task.assigned",
    "task.completed",
  ],
  decisions: ["decision.taken"],
  tasks: ["task.assigned", "task.completed"],
  follow_ups: ["maincourante.follow_up_done"],
};
const PAGE = 50;

function item(entry) {
  const isEntry = entry.type === "maincourante.entry_recorded";
  const follow = entry.follow_up;
  return el(
    "li",
    {
      class: `entry${entry.priority ? ` priority-${entry.priority}` : ""}`,
      data: { position: String(entry.position), type: entry.type },
    },
    el(
      "div",
      { class: "entry-head" },
      isEntry ? el("span", { class: "entry-number", text: `n° ${entry.number}` }) : el("span", { class: "chip", text: t(`journal.type.${entry.type}`) }),
      el("time", { dateTime: entry.recorded_at, title: t("journal.recorded"), text: when(entry.recorded_at) }),
      entry.occurred_at !== entry.recorded_at ? el("span", { class: "muted", text: t("journal.occurred", { at: when(entry.occurred_at) }) }) : null,
      entry.direction ? el("span", { class: `chip dir-${entry.direction}`, text: word("direction", entry.direction) }) : null,
      entry.sender || entry.recipient ? el("span", { class: "route", text: `${entry.sender || t("none")} → ${entry.recipient || t("none")}` }) : null,
      entry.medium ? el("span", { class: "muted", text: word("medium", entry.medium) }) : null,
      entry.priority && entry.priority !== "routine" ? el("span", { class: `chip prio-${entry.priority}`, text: word("priority", entry.priority) }) : null,
      el("span", { class: "muted", text: t("mc.by", { who: entry.actor }) }),
    ),
    entry.text ? el("p", { class: "entry-text", text: entry.text }) : null,
    follow
      ? el("div", {
          class: "follow-up",
          text: follow.due ? t("mc.follow_up_due", { owner: follow.owner, at: when(follow.due) }) : t("mc.follow_up", { owner: follow.owner }),
        })
      : null,
  );
}

/**
 * Wire the dialog: `crisisId()` is the crisis shown, `reviewAt()` the instant reviewed (ms) or null
 * (in review the log is read up to that instant only, as the cell knew it).
 */
export function setupJournal({ crisisId, reviewAt }) {
  const dialog = $("#dialog-journal");
  const form = $("#journal-filters");
  const list = $("#journal-list");
  const more = $("#journal-more");
  const status = $("#journal-status");
  let next = null;
  let shown = 0;
  let asked = 0; // the latest request: an answer to an earlier one is dropped

  function filters() {
    const value = (name) => form.elements[name].value.trim();
    const params = new URLSearchParams();
    for (const type of KINDS[value("kind")] || KINDS.entries) params.append("type", type);
    for (const name of ["actor", "q", "clock", "order"]) if (value(name)) params.set(name, value(name));
    const since = localInstant(value("since"));
    let until = localInstant(value("until"));
    const at = reviewAt();
    if (at !== null) {
      // In review, what the cell knew then: the cell's clock, up to the instant reviewed.
      params.set("clock", "cell");
      if (!until || Date.parse(until) > at) until = new Date(at).toISOString();
    }
    if (since) params.set("since", since);
    if (until) params.set("until", until);
    params.set("limit", String(PAGE));
    return params;
  }

  async function load(reset) {
    const mine = ++asked;
    let params = null;
    try {
      params = filters();
    } catch {
      status.textContent = t("journal.bad_filters");
      return;
    }
    if (!reset && next !== null) params.set("after", String(next));
    more.disabled = true;
    status.textContent = t("journal.loading");
    let page = null;
    try {
      page = await api.mainCourante(crisisId(), params);
    } catch (problem) {
      if (mine !== asked) return;
      status.textContent = problem.status === 400 ? t("journal.bad_filters") : t("toast.network");
      more.disabled = false;
      return;
    }
    if (mine !== asked) return;
    if (reset) {
      fill(list);
      shown = 0;
    }
    list.append(...page.entries.map(item));
    shown += page.entries.length;
    next = page.next;
    more.hidden = next === null;
    more.disabled = false;
    const said = shown === 0 ? t("journal.none") : t(next === null ? "journal.all_shown" : "journal.shown", { n: shown });
    status.textContent = reviewAt() === null ? said : `${said} ${t("journal.review")}`;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true);
  });
  form.addEventListener("reset", () => setTimeout(() => load(true), 0));
  more.addEventListener("click", () => load(false));
  $("#open-journal").addEventListener("click", () => {
    dialog.showModal();
    load(true);
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => $("#open-journal").focus());

  return {
    /** The crisis changed: the dialog, if open, shows the new one's main courante. */
    refresh() {
      if (dialog.open) load(true);
    },
  };
}
