// The panels of the picture: each one a function from the picture view to the DOM of its panel.
// `ctx` gives what they act with: {crisisId, can(act), act(command, button), focus(id), provenance(name)},
// and `now()`: the instant the picture is shown at (the clock when live, the chosen instant in review).

import { el, fill } from "./dom.js";
import { number, t, when, word } from "./i18n.js";
import { statusMarker } from "./map.js";

const SEVERITY_RANK = { extreme: 4, severe: 3, moderate: 2, minor: 1, unknown: 0 };
const FIGURES = [
  "decedes", "urgences_absolues", "urgences_relatives", "impliques", "disparus", "evacues",
  "mis_a_l_abri", "heberges", "foyers_sans_electricite", "foyers_sans_eau", "routes_coupees",
];

const empty = () => el("p", { class: "empty", text: t("empty") });
/** The instant the panels are drawn at: the review's instant, or now. */
const nowOf = (ctx) => (ctx && typeof ctx.now === "function" ? ctx.now() : Date.now());
const past = (iso, now) => Boolean(iso) && new Date(iso).getTime() < now;
const severityChip = (severity) =>
  el("span", { class: `chip sev sev-${severity || "unknown"}`, text: word("severity", severity) });

export function renderIncidents(list, picture, ctx) {
  const incidents = Object.values(picture.incidents || {}).sort(
    (a, b) =>
      (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1) ||
      (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) ||
      String(b.reported?.recorded_at || "").localeCompare(String(a.reported?.recorded_at || "")),
  );
  fill(
    list,
    incidents.map((incident) => {
      const warnings = (incident.warnings || []).length;
      const located = Boolean(incident.location?.point || incident.location?.polygons?.length || incident.location?.circles?.length);
      return el(
        "li",
        { class: `incident state-${incident.state}`, data: { incidentId: incident.incident_id, severity: incident.severity || "unknown" } },
        el("span", { class: "sev-bar", attrs: { "aria-hidden": "true" } }),
        el(
          "div",
          { class: "incident-main" },
          located
            ? el("button", {
                type: "button",
                class: "link incident-title",
                key: `incident:${incident.incident_id}`,
                text: incident.title || incident.incident_id,
                attrs: { "aria-label": `${incident.title || incident.incident_id} – ${t("incident.show")}` },
                on: { click: () => ctx.focus(incident.incident_id) },
              })
            : el("span", { class: "incident-title", text: incident.title || incident.incident_id }),
          el(
            "div",
            { class: "meta" },
            severityChip(incident.severity),
            el("span", { text: word("kind", incident.kind) }),
            el("span", { class: `state state-${incident.state}`, text: word("incident_state", incident.state) }),
            statusMarker(incident.status),
            warnings ? el("span", { class: "warn", text: t("incident.warnings", { n: warnings }) }) : null,
          ),
          incident.location?.description ? el("div", { class: "muted small", text: incident.location.description }) : null,
        ),
      );
    }),
  );
  if (incidents.length === 0) list.append(el("li", { class: "empty", text: t("empty") }));
}

export function renderBilan(box, picture, ctx) {
  const bilan = picture.bilan || {};
  const names = [...FIGURES.filter((n) => n in bilan), ...Object.keys(bilan).filter((n) => !FIGURES.includes(n))];
  fill(
    box,
    names.length === 0
      ? empty()
      : names.map((name) =>
          el(
            "button",
            {
              type: "button",
              class: `figure${name === "decedes" || name === "disparus" ? " grave" : ""}`,
              key: `figure:${name}`,
              data: { figure: name },
              attrs: { "aria-haspopup": "dialog", "aria-label": `${word("figure", name)} : ${bilan[name].value}. ${t("bilan.show", { figure: word("figure", name) })}` },
              on: { click: () => ctx.provenance(name) },
            },
            el("span", { class: "value", text: number(bilan[name].value) }),
            el("span", { class: "label", text: word("figure", name) }),
          ),
        ),
  );
}

/** Fill the provenance dialog's body with where figure `name` comes from. */
export function renderProvenance(body, picture, name) {
  const figure = (picture.bilan || {})[name];
  if (!figure) return fill(body, empty());
  const events = Object.entries(figure.events || {});
  return fill(
    body,
    el("p", { class: "big" }, el("strong", { text: number(figure.value) }), " ", word("figure", name)),
    el(
      "dl",
      {},
      el("dt", { text: t("bilan.basis") }),
      el("dd", { text: t(`basis.${figure.basis}`) }),
      el("dt", { text: t("bilan.recorded") }),
      el("dd", { text: when(figure.recorded_at) }),
      el("dt", { text: t("bilan.events") }),
      el(
        "dd",
        {},
        el(
          "ul",
          { class: "events", data: { testid: "provenance-events" } },
          events.map(([from, eventId]) => {
            const incident = (picture.incidents || {})[from];
            const label = from === "crisis" ? t("bilan.crisis") : incident?.title ? `${from} (${incident.title})` : from;
            return el("li", { data: { from } }, el("span", { text: label }), " → ", el("code", { text: eventId }));
          }),
        ),
      ),
    ),
  );
}

export function renderPlans(list, picture, ctx) {
  const order = { proposed: 0, active: 1, deactivated: 2, none: 3 };
  const plans = Object.entries(picture.plans || {}).sort(
    ([a, p], [b, q]) => (order[p.state] ?? 9) - (order[q.state] ?? 9) || a.localeCompare(b),
  );
  fill(
    list,
    plans.map(([code, plan]) => {
      let detail = null;
      if (plan.state === "proposed" && plan.proposed) {
        detail = [
          el("div", { class: "small", text: plan.proposed.rule ? t("plan.rule", { rule: plan.proposed.rule }) : t("plan.proposed_by", { who: plan.proposed.actor }) }),
          plan.proposed.reason ? el("div", { class: "muted small", text: plan.proposed.reason }) : null,
        ];
      } else if (plan.state === "active" && plan.activated) {
        detail = el("div", { class: "small", text: t("plan.decided_by", { who: plan.activated.decided_by, at: when(plan.activated.decided_at) }) });
      } else if (plan.state === "deactivated" && plan.deactivated) {
        detail = el("div", { class: "small", text: t("plan.decided_by", { who: plan.deactivated.decided_by, at: when(plan.deactivated.decided_at) }) });
      }
      const activate = plan.state === "proposed" && ctx.can("activate_plan")
        ? el("button", {
            type: "button",
            class: "primary",
            text: t("plan.activate"),
            data: { testid: "activate-plan" },
            key: `activate:${code}`,
            attrs: { "aria-label": `${t("plan.activate")} ${plan.plan_name || code}` },
            on: { click: (e) => ctx.act({ act: "activate_plan", plan_code: code }, e.currentTarget) },
          })
        : null;
      const deactivate = plan.state === "active" && ctx.can("deactivate_plan")
        ? el("button", {
            type: "button",
            text: t("plan.deactivate"),
            data: { testid: "deactivate-plan" },
            key: `deactivate:${code}`,
            attrs: { "aria-label": `${t("plan.deactivate")} ${plan.plan_name || code}` },
            on: {
              click: (e) => {
                if (window.confirm(t("plan.confirm_deactivate", { code }))) ctx.act({ act: "deactivate_plan", plan_code: code }, e.currentTarget);
              },
            },
          })
        : null;
      return el(
        "li",
        { class: `plan plan-${plan.state}`, data: { testid: "plan-row", planCode: code, state: plan.state } },
        el(
          "div",
          { class: "plan-main" },
          el("span", { class: "plan-name", text: plan.plan_name || code }),
          el("div", { class: "meta" }, el("span", { class: `chip plan-state-${plan.state}`, text: word("plan_state", plan.state) }), el("span", { class: "muted", text: plan.category ? word("category", plan.category) : code })),
          detail,
        ),
        activate || deactivate ? el("div", { class: "row-actions" }, activate, deactivate) : null,
      );
    }),
  );
  if (plans.length === 0) list.append(el("li", { class: "empty", text: t("empty") }));
}

export function renderPostures(box, picture, ctx) {
  const vigipirate = picture.vigipirate;
  const proposed = picture.vigipirate_proposed;
  const pending = proposed && (!vigipirate || proposed.recorded_at > vigipirate.recorded_at) && proposed.posture !== vigipirate?.posture;
  const vigilance = Object.entries(picture.vigilance || {});
  fill(
    box,
    el("h3", { text: t("vigipirate") }),
    el(
      "div",
      { class: "chips", data: { testid: "vigipirate" } },
      vigipirate
        ? el("span", { class: `chip posture posture-${vigipirate.posture}`, text: word("posture", vigipirate.posture) })
        : el("span", { class: "muted", text: t("vigipirate.none") }),
      vigipirate?.scope ? el("span", { class: "muted small", text: vigipirate.scope }) : null,
    ),
    pending
      ? el(
          "div",
          { class: "proposal" },
          el("span", { text: t("vigipirate.proposed", { posture: word("posture", proposed.posture) }) }),
          proposed.reason ? el("div", { class: "muted small", text: proposed.reason }) : null,
          ctx.can("change_vigipirate")
            ? el("button", {
                type: "button",
                text: t("vigipirate.apply"),
                data: { testid: "apply-vigipirate" },
                key: "vigipirate",
                on: { click: (e) => ctx.act({ act: "change_vigipirate", posture: proposed.posture, scope: proposed.scope || null }, e.currentTarget) },
              })
            : null,
        )
      : null,
    el("h3", { text: t("vigilance") }),
    el(
      "ul",
      { class: "chips", data: { testid: "vigilance" } },
      vigilance.length === 0
        ? el("li", { class: "muted", text: t("vigilance.none") })
        : vigilance.map(([phenomenon, v]) =>
            el(
              "li",
              { class: `chip vigilance colour-${v.colour}`, data: { phenomenon, colour: v.colour }, attrs: { title: v.bulletin_ref || "" } },
              el("span", { text: word("phenomenon", phenomenon) }),
              el("span", { class: "colour-word", text: word("colour", v.colour) }),
            ),
          ),
    ),
  );
}

export function renderResources(box, picture) {
  const rows = Object.entries(picture.engaged_by_service || {}).sort(([, a], [, b]) => b.personnel - a.personnel);
  if (rows.length === 0) return fill(box, empty());
  const total = rows.reduce((sum, [, r]) => ({ units: sum.units + r.units, personnel: sum.personnel + r.personnel }), { units: 0, personnel: 0 });
  const row = (label, r, cls) =>
    el("tr", { class: cls }, el("th", { scope: "row", text: label }), el("td", { text: number(r.units) }), el("td", { text: number(r.personnel) }));
  return fill(
    box,
    el(
      "table",
      { class: "table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("resources.service") }), el("th", { scope: "col", text: t("resources.units") }), el("th", { scope: "col", text: t("resources.personnel") }))),
      el("tbody", {}, rows.map(([service, r]) => row(word("service", service), r))),
      el("tfoot", {}, row(t("resources.total"), total, "total")),
    ),
  );
}

export function renderTasks(box, picture, ctx) {
  const decisions = Object.values(picture.decisions || {}).sort((a, b) => String(b.recorded_at).localeCompare(String(a.recorded_at)));
  const now = nowOf(ctx);
  const tasks = Object.values(picture.tasks || {}).sort(
    (a, b) => (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1) || String(a.due_at || "9").localeCompare(String(b.due_at || "9")),
  );
  fill(
    box,
    el("h3", { text: t("tasks.tasks") }),
    el(
      "ul",
      { class: "tasks", data: { testid: "tasks" } },
      tasks.length === 0 ? el("li", { class: "empty", text: t("empty") }) : null,
      tasks.map((task) => {
        const overdue = task.overdue || (task.state === "open" && past(task.due_at, now));
        return el(
          "li",
          { class: `task task-${task.state}${overdue ? " overdue" : ""}`, data: { taskId: task.task_id, overdue: String(overdue) } },
          el(
            "div",
            { class: "task-main" },
            el("span", { class: "task-title", text: task.title || task.task_id }),
            el(
              "div",
              { class: "meta" },
              el("span", { text: task.assignee || "" }),
              task.due_at ? el("span", { class: "due", text: t("tasks.due", { at: when(task.due_at) }) }) : null,
              el("span", { class: "chip", text: word("task_state", task.state) }),
              overdue ? el("strong", { class: "overdue-flag", text: t("tasks.overdue") }) : null,
            ),
          ),
          task.state === "open" && ctx.can("complete_task")
            ? el("button", {
                type: "button",
                text: t("tasks.complete"),
                data: { testid: "complete-task" },
                key: `task:${task.task_id}`,
                attrs: { "aria-label": t("tasks.complete_label", { title: task.title || task.task_id }) },
                on: { click: (e) => ctx.act({ act: "complete_task", task_id: task.task_id }, e.currentTarget) },
              })
            : null,
        );
      }),
    ),
    el("h3", { text: t("tasks.decisions") }),
    el(
      "ul",
      { class: "decisions", data: { testid: "decisions" } },
      decisions.length === 0 ? el("li", { class: "empty", text: t("empty") }) : null,
      decisions.map((d) =>
        el("li", { data: { decisionId: d.decision_id } }, el("div", { text: d.text }), el("div", { class: "meta muted", text: `${d.taken_by} · ${when(d.occurred_at)}` })),
      ),
    ),
  );
}

export function renderMainCourante(list, counter, picture, ctx = null) {
  const now = nowOf(ctx);
  const journal = picture.main_courante || { count: 0, latest: [] };
  const followUps = picture.follow_ups || {};
  counter.textContent = t("mc.count", { n: journal.count });
  const entries = [...(journal.latest || [])].reverse();
  fill(
    list,
    entries.map((entry) => {
      const open = followUps[entry.entry_id]?.state !== "done";
      const overdue = entry.overdue || (open && entry.follow_up_owner && past(entry.follow_up_due, now));
      return el(
        "li",
        { class: `entry priority-${entry.priority}${overdue ? " overdue" : ""}`, data: { entryId: entry.entry_id, number: String(entry.number), overdue: String(Boolean(overdue)) } },
        el(
          "div",
          { class: "entry-head" },
          el("span", { class: "entry-number", text: `n° ${entry.number}` }),
          el("time", { dateTime: entry.occurred_at, text: when(entry.occurred_at) }),
          el("span", { class: `chip dir-${entry.direction}`, text: word("direction", entry.direction) }),
          el("span", { class: "route", text: `${entry.sender} → ${entry.recipient || t("none")}` }),
          el("span", { class: "muted", text: word("medium", entry.medium) }),
          entry.priority !== "routine" ? el("span", { class: `chip prio-${entry.priority}`, text: word("priority", entry.priority) }) : null,
        ),
        el("p", { class: "entry-text", text: entry.text }),
        entry.follow_up_owner
          ? el(
              "div",
              { class: `follow-up${open ? "" : " done"}` },
              el("span", {
                text: entry.follow_up_due
                  ? t("mc.follow_up_due", { owner: entry.follow_up_owner, at: when(entry.follow_up_due) })
                  : t("mc.follow_up", { owner: entry.follow_up_owner }),
              }),
              overdue ? el("strong", { class: "overdue-flag", text: t("mc.overdue") }) : null,
            )
          : null,
      );
    }),
  );
  if (entries.length === 0) list.append(el("li", { class: "empty", text: t("empty") }));
}

export function renderRejected(list, counter, picture, rows) {
  counter.textContent = t("rejected.count", { n: picture.rejected_inputs || 0 });
  if (rows === null) return fill(list, el("li", { class: "muted", text: t("rejected.failed") }));
  fill(
    list,
    rows.map((r) =>
      el(
        "li",
        { data: { rejectedId: String(r.id) } },
        el("div", { class: "meta" }, el("time", { dateTime: r.rejected_at, text: when(r.rejected_at) }), el("span", { class: "chip", text: r.source || "?" }), r.field ? el("span", { class: "muted", text: t("rejected.field", { field: r.field }) }) : null, r.size !== null && r.size !== undefined ? el("span", { class: "muted", text: t("rejected.size", { size: number(r.size) }) }) : null),
        el("div", { class: "reason", text: r.reason }),
      ),
    ),
  );
  if (rows.length === 0) list.append(el("li", { class: "empty", text: t("empty") }));
}

export function renderSitreps(box, picture, ctx) {
  const now = nowOf(ctx);
  const last = picture.sitrep;
  const drafts = Object.values(picture.sitrep_drafts || {}).sort((a, b) => b.number - a.number);
  fill(
    box,
    last
      ? el(
          "div",
          { class: "sitrep-last" },
          el("a", {
            href: ctx.sitrepUrl(last.number, false),
            target: "_blank",
            rel: "noopener",
            text: t("sitrep.last", { n: last.number }),
            attrs: { "aria-label": t("sitrep.open", { n: last.number }) },
            data: { testid: "sitrep-link" },
            key: `sitrep:${last.number}`,
          }),
          el("div", { class: "meta muted", text: t("sitrep.issued_by", { who: last.validated_by, at: when(last.occurred_at) }) }),
          last.summary ? el("p", { class: "clamp", text: last.summary }) : null,
          last.next_report_at ? el("div", { class: `small${past(last.next_report_at, now) ? " overdue-flag" : ""}`, text: t("sitrep.next", { at: when(last.next_report_at) }) }) : null,
        )
      : el("p", { class: "empty", text: t("sitrep.none") }),
    drafts.length
      ? el(
          "ul",
          { class: "drafts" },
          drafts.map((d) =>
            el(
              "li",
              { data: { testid: "sitrep-draft", number: String(d.number) } },
              el(
                "div",
                {},
                el("a", { href: ctx.sitrepUrl(d.number, true), target: "_blank", rel: "noopener", text: t("sitrep.draft", { n: d.number }), attrs: { "aria-label": t("sitrep.open_draft", { n: d.number }) } }),
                el("span", { class: "muted small", text: ` · ${when(d.recorded_at)} · ${d.actor}` }),
                d.summary ? el("p", { class: "clamp small", text: d.summary }) : null,
              ),
              ctx.can("issue_sitrep")
                ? el("button", {
                    type: "button",
                    class: "primary",
                    text: t("sitrep.issue"),
                    data: { testid: "issue-sitrep" },
                    key: `issue-sitrep:${d.number}`,
                    attrs: { "aria-label": `${t("sitrep.issue")} – ${t("sitrep.draft", { n: d.number })}` },
                    on: { click: (e) => ctx.act({ act: "issue_sitrep", number: d.number }, e.currentTarget) },
                  })
                : null,
            ),
          ),
        )
      : null,
  );
}

export function renderAlerts(box, picture, ctx) {
  const now = nowOf(ctx);
  const issued = Object.values(picture.alerts || {}).sort((a, b) => String(b.recorded_at).localeCompare(String(a.recorded_at)));
  const drafts = Object.values(picture.alert_drafts || {}).sort((a, b) => String(b.recorded_at).localeCompare(String(a.recorded_at)));
  const item = (a, draft) =>
    el(
      "li",
      { class: draft ? "alert-draft" : "alert-issued", data: { alertId: a.alert_id, testid: draft ? "alert-draft" : "alert-issued" } },
      el(
        "div",
        {},
        el("div", {}, severityChip(a.severity), " ", el("strong", { text: a.headline })),
        el(
          "div",
          { class: "meta muted" },
          el("span", { text: word("channel", a.channel) }),
          el("span", { text: draft ? `${when(a.recorded_at)} · ${a.actor}` : t("alerts.validated", { who: a.validated_by, at: when(a.occurred_at) }) }),
          draft && a.expires_at ? el("span", { class: past(a.expires_at, now) ? "overdue-flag" : "", text: t("alerts.expires", { at: when(a.expires_at) }) }) : null,
        ),
        el("p", { class: "clamp small", text: a.instructions }),
      ),
      draft && ctx.can("issue_alert")
        ? el("button", {
            type: "button",
            class: "primary",
            text: t("alerts.issue"),
            data: { testid: "issue-alert" },
            key: `issue-alert:${a.alert_id}`,
            attrs: { "aria-label": `${t("alerts.issue")} : ${a.headline}` },
            on: { click: (e) => ctx.act({ act: "issue_alert", alert_id: a.alert_id }, e.currentTarget) },
          })
        : null,
    );
  fill(
    box,
    drafts.length ? [el("h3", { text: t("alerts.drafts") }), el("ul", { class: "alerts" }, drafts.map((a) => item(a, true)))] : null,
    el("h3", { text: t("alerts.issued") }),
    issued.length ? el("ul", { class: "alerts" }, issued.map((a) => item(a, false))) : empty(),
  );
}

