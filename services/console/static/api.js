// The console's backend: JSON over HTTP, acts with the CSRF token, the live picture over SSE.

let csrf = "";

/** Keep the CSRF token of the session (from /api/me) for every state-changing request. */
export function useCsrf(token) {
  csrf = token || "";
}

function toLogin() {
  window.location.assign("/login");
}

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) {
    toLogin();
    throw new Error("not signed in");
  }
  if (!response.ok) {
    const problem = new Error(`${path}: HTTP ${response.status}`);
    problem.status = response.status;
    throw problem;
  }
  return response.json();
}

export const me = () => getJson("/api/me");
export const crises = () => getJson("/api/crises");
export const picture = (crisisId) => getJson(`/api/crises/${encodeURIComponent(crisisId)}`);
export const rejected = (limit = 50) => getJson(`/api/rejected?limit=${limit}`);

/** The first and last recorded instants of a crisis in the log: {first, last, events}; 404 when none. */
export const span = (crisisId) => getJson(`/api/crises/${encodeURIComponent(crisisId)}/span`);

/** The picture of a crisis as the cell knew it at `at` (ISO text with its UTC offset). */
export const asOf = (crisisId, at) =>
  getJson(`/api/crises/${encodeURIComponent(crisisId)}/as_of?at=${encodeURIComponent(at)}`);

/** A page of the full main courante from the log: {entries, next}; `params` a URLSearchParams. */
export const mainCourante = (crisisId, params) =>
  getJson(`/api/crises/${encodeURIComponent(crisisId)}/main-courante?${params}`);

/** Where the rendered report `number` is (a draft with `draft`). */
export function sitrepUrl(crisisId, number, draft = false) {
  return `/api/crises/${encodeURIComponent(crisisId)}/sitreps/${encodeURIComponent(number)}.html${draft ? "?draft=1" : ""}`;
}

/** The reason a refused request gives: the cell's `error` or FastAPI's `detail`, else null. */
function reasonOf(body) {
  if (body && typeof body.error === "string") return body.error;
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`).join("; ");
  }
  return null;
}

/**
 * Perform an act on a crisis. Resolves to {ok: true, events} or {ok: false, error, forbidden}
 * (forbidden: HTTP 403, the role may not act; error may then be empty);
 * rejects only when the server cannot be reached.
 */
export async function act(crisisId, command) {
  const response = await fetch(`/api/crises/${encodeURIComponent(crisisId)}/act`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(command),
  });
  if (response.status === 401) {
    toLogin();
    return { ok: false, error: "not signed in" };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok && body && body.ok) return body;
  const forbidden = response.status === 403;
  return { ok: false, error: reasonOf(body) || (forbidden ? "" : `HTTP ${response.status}`), forbidden };
}

/** Sign out, then go to the login page whatever the answer. */
export async function logout() {
  try {
    await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
  } finally {
    toLogin();
  }
}

/**
 * Follow a crisis' picture live: `onPicture(view)` on each `picture` event, `onLive(bool)` as the
 * connection comes and goes. EventSource retries by itself after a network error; when it gives up
 * (an HTTP error, e.g. the session expired) we check the session and open a new one, backing off.
 * Returns a function that stops following.
 */
export function follow(crisisId, onPicture, onLive) {
  let source = null;
  let stopped = false;
  let retry = null;
  let delay = 1000;

  const open = () => {
    source = new EventSource(`/api/crises/${encodeURIComponent(crisisId)}/stream`);
    source.addEventListener("open", () => {
      delay = 1000;
      onLive(true);
    });
    source.addEventListener("picture", (event) => {
      let view = null;
      try {
        view = JSON.parse(event.data);
      } catch {
        return;
      }
      onLive(true);
      onPicture(view);
    });
    source.addEventListener("error", () => {
      onLive(false);
      if (source.readyState !== EventSource.CLOSED || stopped) return;
      source.close();
      retry = setTimeout(async () => {
        try {
          await me(); // a 401 sends the browser to the login page
        } catch {
          // the server is away: try the stream again anyway
        }
        if (!stopped) open();
      }, delay);
      delay = Math.min(delay * 2, 30000);
    });
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    if (source) source.close();
  };
}
