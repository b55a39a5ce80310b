// The review (RETEX): a crisis as the cell knew it at a chosen instant, rebuilt from the log.
// A slider from the first to the last recorded instant, a clock, play/pause at a speed (crisis
// seconds per real second) and steps of 10 minutes; each instant's picture comes from /as_of.
// This module owns the review bar and the pace of the requests; the console shows the pictures.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { moment, t } from "./i18n.js";

const MINUTE = 60000;
const HOUR = 60 * MINUTE;
const JUMP = 10 * MINUTE; // the −10 min / +10 min buttons
const GAP = 250; // at most ~4 requests a second
const TICK = 100; // how often the clock moves while playing

/** The slider's step for a span: a minute, or finer for a short crisis. */
function stepFor(span) {
  if (span >= 2 * HOUR) return MINUTE;
  if (span >= 20 * MINUTE) return 10000;
  return 1000;
}

/** An instant (ms) as ISO text in the browser's local time, with its offset and milliseconds. */
export function localIso(ms) {
  const date = new Date(ms);
  const pad = (n, width = 2) => String(Math.abs(n)).padStart(width, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

/**
 * Wire the review bar. `onPicture(view, at)` shows a picture fetched for instant `at` (ms);
 * `onFail()` tells that one could not be fetched. Returns {open(crisisId), close(), translate(),
 * focus()}.
 */
export function setupReview({ onPicture, onFail }) {
  const bar = $("#review-bar");
  const slider = $("#review-slider");
  const clock = $("#review-clock");
  const badge = $("#review-badge");
  const play = $("#review-play");
  const speed = $("#review-speed");
  const events = $("#review-events");
  const keys = $("#review-keys");

  let span = null; // {crisisId, first, last, firstText, lastText, step, events}
  let at = null; // the instant chosen (ms)
  let shown = null; // the instant of the picture shown (ms)
  let shownEvents = null;
  let turn = 0; // bumped on open and close: late answers of an earlier turn are dropped
  let playing = false;
  let ticker = null;
  let lastTick = 0;
  let inFlight = false;
  let wanted = null; // the instant to fetch next
  let lastStart = -Infinity;
  let waiting = null;

  /** What /as_of is asked: the server's own text at both ends, so that no event is cut off. */
  const textOf = (ms) => (ms >= span.last ? span.lastText : ms <= span.first ? span.firstText : localIso(ms));
  const clamp = (ms) => Math.min(span.last, Math.max(span.first, ms));

  function paint() {
    if (!span) return;
    slider.value = String(at >= span.last ? slider.max : Math.round((at - span.first) / span.step));
    const said = moment(at);
    clock.textContent = said;
    slider.setAttribute("aria-valuetext", said);
    const pausing = playing;
    play.textContent = t(pausing ? "review.pause" : "review.play");
    play.setAttribute("aria-label", t(pausing ? "review.pause_label" : "review.play_label"));
    play.classList.toggle("playing", pausing);
  }

  function paintShown() {
    badge.textContent = shown === null ? "" : t("review.badge", { at: moment(shown) });
    events.textContent = span && shownEvents !== null ? t("review.events", { n: shownEvents, total: span.events }) : "";
  }

  function translate() {
    const step = span ? span.step : MINUTE;
    keys.textContent = t("review.keys", {
      step: step >= MINUTE ? t("review.step_min", { n: step / MINUTE }) : t("review.step_s", { n: step / 1000 }),
    });
    slider.title = keys.textContent;
    paint();
    paintShown();
  }

  // -- fetching: the latest instant wanted, one request at a time, at most one every GAP ms --------

  function want(ms) {
    wanted = ms;
    pump();
  }

  async function pump() {
    if (!span || inFlight || wanted === null) return;
    const wait = lastStart + GAP - performance.now();
    if (wait > 0) {
      if (!waiting) {
        waiting = setTimeout(() => {
          waiting = null;
          pump();
        }, wait);
      }
      return;
    }
    const target = wanted;
    wanted = null;
    if (target === shown) return;
    const mine = turn;
    const crisisId = span.crisisId;
    inFlight = true;
    lastStart = performance.now();
    try {
      const view = await api.asOf(crisisId, textOf(target));
      if (mine !== turn) return;
      shown = target;
      shownEvents = view.events ?? null;
      paintShown();
      onPicture(view, target);
    } catch {
      if (mine === turn) onFail();
    } finally {
      if (mine === turn) {
        inFlight = false;
        pump();
      }
    }
  }

  // -- moving the instant -------------------------------------------------------------------------

  function moveTo(ms) {
    if (!span) return;
    at = clamp(ms);
    paint();
    want(at);
  }

  function pause() {
    playing = false;
    clearTimeout(ticker);
    ticker = null;
    paint();
  }

  function tick() {
    ticker = null;
    if (!playing || !span) return;
    const now = performance.now();
    const next = at + Number(speed.value) * (now - lastTick);
    lastTick = now;
    if (next >= span.last) {
      pause();
      moveTo(span.last); // stop at the end
      return;
    }
    moveTo(next);
    ticker = setTimeout(tick, TICK);
  }

  function start() {
    if (!span) return;
    if (at >= span.last) moveTo(span.first); // from the start again, as a player does
    playing = true;
    lastTick = performance.now();
    paint();
    ticker = setTimeout(tick, TICK);
  }

  slider.addEventListener("input", () => {
    if (!span) return;
    const value = Number(slider.value);
    moveTo(value >= Number(slider.max) ? span.last : span.first + value * span.step);
  });
  slider.addEventListener("keydown", (event) => {
    // Arrows, Home and End are the slider's own; Page Up and Page Down move by an hour.
    if (!span || (event.key !== "PageUp" && event.key !== "PageDown")) return;
    event.preventDefault();
    moveTo(at + (event.key === "PageUp" ? HOUR : -HOUR));
  });
  $("#review-back").addEventListener("click", () => moveTo(at - JUMP));
  $("#review-forward").addEventListener("click", () => moveTo(at + JUMP));
  // A button: Enter and Space play or pause it, as any button.
  play.addEventListener("click", () => (playing ? pause() : start()));
  speed.addEventListener("change", () => {
    lastTick = performance.now();
  });

  return {
    /**
     * Review a crisis: its span, then its picture at its last instant. Resolves to {view, at},
     * or null when another open or a close came meanwhile; rejects when the log holds nothing
     * of it (error.status 404) or the server does not answer.
     */
    async open(crisisId) {
      pause();
      const mine = ++turn;
      span = null; // the bar stays, still, until the new span is known
      inFlight = false;
      wanted = null;
      clearTimeout(waiting);
      waiting = null;
      const found = await api.span(crisisId);
      if (mine !== turn) return null;
      const first = Date.parse(found.first);
      const last = Math.max(first, Date.parse(found.last));
      const step = stepFor(last - first);
      const view = await api.asOf(crisisId, found.last);
      if (mine !== turn) return null;
      span = { crisisId, first, last, firstText: found.first, lastText: found.last, step, events: found.events };
      slider.min = "0";
      slider.max = String(Math.ceil((last - first) / step));
      slider.step = "1";
      at = last;
      shown = last;
      shownEvents = view.events ?? null;
      lastStart = performance.now();
      bar.hidden = false;
      translate();
      return { view, at: last };
    },

    /** Leave the review: stop playing, drop what is on its way, hide the bar. */
    close() {
      pause();
      turn += 1;
      span = null;
      at = null;
      shown = null;
      shownEvents = null;
      inFlight = false;
      wanted = null;
      clearTimeout(waiting);
      waiting = null;
      bar.hidden = true;
      badge.textContent = "";
      events.textContent = "";
    },

    translate,

    focus() {
      slider.focus();
    },
  };
}
