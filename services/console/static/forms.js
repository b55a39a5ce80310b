// The forms of the acts, each in a <dialog>: read the fields, build the command, send it.
// A refused act keeps its dialog open with the reason; a done one closes it.

import { $, el, fill } from "./dom.js";
import { t, values, word } from "./i18n.js";

const INSEE = /^([0-9]{2}|2A|2B)[0-9]{3}$/;
const FOCUSABLE = "button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";

class Invalid extends Error {}

const text = (form, name) => {
  const value = form.elements[name]?.value.trim();
  return value ? value : null;
};

/** A `datetime-local` value (local time) as an ISO instant with the browser's offset. */
export function localInstant(value) {
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Invalid(value);
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${value.length === 16 ? `${value}:00` : value}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

function inseeCodes(raw) {
  const codes = (raw || "").split(/[\s,;]+/).map((c) => c.trim().toUpperCase()).filter(Boolean);
  for (const code of codes) if (!INSEE.test(code)) throw new Invalid(t("form.bad_insee", { code }));
  return codes;
}

function coordinate(form, name) {
  const raw = text(form, name);
  if (raw === null) return null;
  const value = Number(raw.replace(",", "."));
  return Number.isFinite(value) ? value : NaN;
}

/** What each form sends: its fields read into the command the cell expects. */
const BUILD = {
  report_incident(form) {
    const lat = coordinate(form, "lat");
    const lon = coordinate(form, "lon");
    if ((lat === null) !== (lon === null) || Number.isNaN(lat) || Number.isNaN(lon)) throw new Invalid(t("form.incident.need_both"));
    const location = { description: text(form, "where"), insee_codes: inseeCodes(text(form, "insee")) };
    if (lat !== null) location.point = { lat, lon };
    if (!location.description && !location.point && location.insee_codes.length === 0) throw new Invalid(t("form.incident.need_where"));
    return {
      act: "report_incident",
      kind: form.elements.kind.value,
      severity: form.elements.severity.value,
      title: text(form, "title"),
      description: text(form, "description"),
      location,
    };
  },
  record_entry(form) {
    return {
      act: "record_entry",
      direction: form.elements.direction.value,
      sender: text(form, "sender"),
      recipient: text(form, "recipient"),
      medium: form.elements.medium.value,
      priority: form.elements.priority.value,
      text: text(form, "text"),
      follow_up_owner: text(form, "follow_up_owner"),
      follow_up_due: localInstant(form.elements.follow_up_due.value),
    };
  },
  engage_resource(form) {
    return {
      act: "engage_resource",
      service: form.elements.service.value,
      units: Number(form.elements.units.value),
      personnel: Number(form.elements.personnel.value),
      description: text(form, "description"),
      incident_id: form.elements.incident_id.value || null,
    };
  },
  draft_sitrep(form) {
    return {
      act: "draft_sitrep",
      summary: text(form, "summary"),
      outlook: text(form, "outlook"),
      next_report_at: localInstant(form.elements.next_report_at.value),
    };
  },
  draft_alert(form) {
    const area = { description: text(form, "where"), insee_codes: inseeCodes(text(form, "insee")) };
    if (!area.description && area.insee_codes.length === 0) throw new Invalid(t("form.alert.need_area"));
    return {
      act: "draft_alert",
      channel: form.elements.channel.value,
      headline: text(form, "headline"),
      risk: text(form, "risk"),
      instructions: text(form, "instructions"),
      issuing_authority: text(form, "issuing_authority"),
      severity: form.elements.severity.value,
      area,
      link: text(form, "link"),
      expires_at: localInstant(form.elements.expires_at.value),
    };
  },
};

/** Options of a select from a vocabulary, keeping the value chosen across languages. */
function fillSelect(select, vocabulary, only = null) {
  const chosen = select.value;
  const preset = select.dataset.default;
  fill(select, (only || values(vocabulary)).map((v) => el("option", { value: v, text: word(vocabulary, v), defaultSelected: v === preset })));
  if (chosen) select.value = chosen;
}

/** Drop nulls, also in nested objects: the cell's models take a missing field for its default. */
function compact(value) {
  if (Array.isArray(value) || value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== "")
      .map(([k, v]) => [k, compact(v)]),
  );
}

/**
 * Wire the dialogs. `ctx.send(command)` resolves to the cell's answer; `ctx.map` gives points;
 * `ctx.toast(text, isError)` tells the outcome. Returns {translate(), setIncidents(incidents)}.
 */
export function setupForms(ctx) {
  const dialogs = [...document.querySelectorAll("dialog[data-act]")];
  let opener = null;

  const translate = () => {
    for (const select of document.querySelectorAll("select[data-vocabulary]")) {
      const only = select.dataset.only ? select.dataset.only.split(" ") : null;
      fillSelect(select, select.dataset.vocabulary, only);
    }
  };

  const close = (dialog) => {
    if (dialog.open) dialog.close();
  };

  for (const dialog of dialogs) {
    const form = $("form", dialog);
    const error = $(".form-error", dialog);
    const act = dialog.dataset.act;
    const modeless = dialog.hasAttribute("data-modeless");

    dialog.addEventListener("close", () => {
      error.textContent = "";
      if (modeless) ctx.map.pick(null);
      document.body.classList.remove(`open-${dialog.id}`);
      if (opener && opener.isConnected) opener.focus();
    });
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close(dialog);
      } else if (event.key === "Tab") {
        // A modeless dialog leaves the map clickable, so it keeps Tab inside itself by hand.
        const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((n) => n.offsetParent !== null);
        if (items.length === 0) return;
        const first = items[0];
        const last = items[items.length - 1];
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    for (const button of dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => close(dialog));

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!form.reportValidity()) return;
      let command;
      try {
        command = compact(BUILD[act](form));
      } catch (problem) {
        if (!(problem instanceof Invalid)) throw problem;
        error.textContent = problem.message;
        return;
      }
      const submit = $("button[type=submit]", form);
      submit.disabled = true;
      try {
        const answer = await ctx.send(command);
        if (answer.ok) {
          close(dialog);
          form.reset();
          ctx.toast(t("toast.done"), false);
        } else {
          const reason = answer.error || (answer.forbidden ? t("toast.forbidden") : t("error.unknown"));
          error.textContent = t("toast.refused", { error: reason });
          ctx.toast(t("toast.refused", { error: reason }), true);
        }
      } catch {
        error.textContent = t("toast.network");
        ctx.toast(t("toast.network"), true);
      } finally {
        submit.disabled = false;
      }
    });

    if (modeless) {
      const lat = form.elements.lat;
      const lon = form.elements.lon;
      const show = () => ctx.map.showPicked(coordinate(form, "lat"), coordinate(form, "lon"));
      lat.addEventListener("input", show);
      lon.addEventListener("input", show);
    }
  }

  for (const button of document.querySelectorAll("[data-opens]")) {
    button.addEventListener("click", () => {
      const dialog = document.getElementById(button.dataset.opens);
      opener = button;
      if (dialog.hasAttribute("data-modeless")) {
        const form = $("form", dialog);
        dialog.show();
        document.body.classList.add(`open-${dialog.id}`);
        ctx.map.pick((lat, lon) => {
          form.elements.lat.value = lat.toFixed(5);
          form.elements.lon.value = lon.toFixed(5);
          ctx.map.showPicked(lat, lon);
          form.elements.lat.focus();
        });
      } else {
        dialog.showModal();
      }
      const first = dialog.querySelector("[autofocus]") || dialog.querySelector(FOCUSABLE);
      if (first) first.focus();
    });
  }

  translate();
  return {
    translate,
    /** The incidents a resource can be engaged on. */
    setIncidents(incidents) {
      for (const select of document.querySelectorAll("select[data-incidents]")) {
        const chosen = select.value;
        fill(
          select,
          el("option", { value: "", text: t("none") }),
          incidents.filter((i) => i.state === "open").map((i) => el("option", { value: i.incident_id, text: `${i.incident_id} – ${i.title || ""}` })),
        );
        select.value = chosen;
        if (select.value !== chosen) select.value = "";
      }
    },
    closeAll() {
      for (const dialog of dialogs) close(dialog);
    },
  };
}
