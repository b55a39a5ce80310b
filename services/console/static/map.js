// The map of the incidents (Leaflet, loaded as the global `L`): points, areas and circles.
// Without a base map (no tile URL configured, or tiles that fail) the vectors are drawn on a grid.

import { el } from "./dom.js";
import { t, word } from "./i18n.js";

export const SEVERITY_COLOURS = {
  minor: "#2e7d32",
  moderate: "#d79b00",
  severe: "#e65100",
  extreme: "#b71c1c",
  unknown: "#5f6368",
};
const FRANCE = [[41.3, -5.2], [51.1, 9.6]];

function popup(incident) {
  const marker = incident.status && incident.status !== "Actual" ? statusMarker(incident.status) : null;
  return el(
    "div",
    { class: "map-popup" },
    el("strong", { text: incident.title || incident.incident_id }),
    marker ? " " : null,
    marker,
    el("div", { text: `${word("kind", incident.kind)} · ${word("severity", incident.severity)}` }),
    el("div", { text: word("incident_state", incident.state) }),
    incident.location?.description ? el("div", { class: "muted", text: incident.location.description }) : null,
  );
}

/** The EXERCICE / TEST mark of an event's status, or null for real ones. */
export function statusMarker(status) {
  if (status === "Exercise") return el("span", { class: "mark mark-exercise", text: t("exercise") });
  if (status === "Test") return el("span", { class: "mark mark-test", text: t("test") });
  if (status && status !== "Actual") return el("span", { class: "mark", text: status.toUpperCase() });
  return null;
}

export class IncidentMap {
  constructor(container, tiles) {
    const L = window.L;
    this.container = container;
    this.map = L.map(container, { zoomSnap: 0.5, attributionControl: true });
    this.map.attributionControl.setPrefix("Leaflet");
    this.layer = L.layerGroup().addTo(this.map);
    this.byIncident = new Map();
    this.known = new Set();
    this.picking = null;
    this.picked = null;
    this.signature = null;
    this.openIncident = null;
    this.redrawing = false;
    this.tileErrors = 0;
    if (tiles && tiles.url) {
      // The attribution comes from the deployment's configuration, not from crisis data.
      const base = L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 19 });
      base.on("tileerror", () => {
        this.tileErrors += 1;
        if (this.tileErrors >= 4) this.container.classList.add("no-tiles");
      });
      base.on("tileload", () => {
        this.tileErrors = 0;
        this.container.classList.remove("no-tiles");
      });
      base.addTo(this.map);
    } else {
      container.classList.add("no-tiles");
    }
    this.map.fitBounds(FRANCE);
    this.map.on("click", (event) => {
      if (this.picking) this.picking(event.latlng.lat, event.latlng.lng);
    });
    // The grid cell changes size with the window and the panels: keep Leaflet's idea of it right.
    new ResizeObserver(() => this.map.invalidateSize()).observe(container);
  }

  /** Draw the incidents of `picture`; fit to them when asked or when new ones appear. */
  render(picture, { fit = false } = {}) {
    const L = window.L;
    // Most events leave the incidents as they were: keep the map (and its open popup) as it is.
    const signature = JSON.stringify(picture.incidents || {});
    if (signature === this.signature && !fit) return;
    this.signature = signature;
    const reopen = this.openIncident;
    this.redrawing = true;
    this.layer.clearLayers();
    this.redrawing = false;
    this.byIncident.clear();
    const bounds = L.latLngBounds([]);
    let appeared = false;
    for (const incident of Object.values(picture.incidents || {})) {
      const drawn = this.draw(L, incident);
      if (drawn.length === 0) continue;
      this.byIncident.set(incident.incident_id, drawn);
      for (const shape of drawn) bounds.extend(shape.getBounds ? shape.getBounds() : shape.getLatLng());
      if (!this.known.has(incident.incident_id)) appeared = true;
      this.known.add(incident.incident_id);
    }
    if ((fit || appeared) && bounds.isValid()) {
      this.map.fitBounds(bounds, { padding: [24, 24], maxZoom: 12 });
    } else if (fit) {
      this.map.fitBounds(FRANCE);
    }
    const shapes = reopen && this.byIncident.get(reopen);
    if (shapes) shapes[shapes.length - 1].openPopup();
  }

  draw(L, incident) {
    const where = incident.location || {};
    const colour = SEVERITY_COLOURS[incident.severity] || SEVERITY_COLOURS.unknown;
    const open = incident.state === "open";
    const style = {
      color: colour,
      weight: 2,
      opacity: open ? 0.9 : 0.5,
      fillColor: colour,
      fillOpacity: open ? 0.2 : 0.08,
      dashArray: open ? null : "4 4",
    };
    const shapes = [];
    for (const polygon of where.polygons || []) {
      const ring = (polygon.points || []).map((p) => [p.lat, p.lon]);
      if (ring.length >= 3) shapes.push(L.polygon(ring, style));
    }
    for (const circle of where.circles || []) {
      if (circle.center) shapes.push(L.circle([circle.center.lat, circle.center.lon], { ...style, radius: circle.radius_km * 1000 }));
    }
    if (where.point) {
      shapes.push(
        L.circleMarker([where.point.lat, where.point.lon], {
          ...style,
          radius: incident.severity === "extreme" ? 10 : 8,
          color: "#fff",
          weight: 2,
          fillOpacity: open ? 0.95 : 0.45,
        }),
      );
    }
    for (const shape of shapes) {
      shape.bindPopup(() => popup(incident));
      shape.on("popupopen", () => {
        this.openIncident = incident.incident_id;
      });
      shape.on("popupclose", () => {
        if (!this.redrawing) this.openIncident = null;
      });
      // An element, not a string: Leaflet would parse a string as HTML, and titles come from feeds.
      shape.bindTooltip(() => el("span", { class: "map-tooltip", text: incident.title || incident.incident_id }));
      shape.addTo(this.layer);
      // Leaflet makes a shape with a tooltip focusable; Enter then opens its popup.
      const path = shape.getElement();
      if (path) {
        path.setAttribute("role", "button");
        path.setAttribute("aria-label", incident.title || incident.incident_id);
        path.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            shape.openPopup();
          }
        });
      }
    }
    return shapes;
  }

  /** Centre the map on an incident and open its popup. */
  focus(incidentId) {
    const shapes = this.byIncident.get(incidentId);
    if (!shapes) return false;
    const L = window.L;
    const bounds = L.latLngBounds([]);
    for (const shape of shapes) bounds.extend(shape.getBounds ? shape.getBounds() : shape.getLatLng());
    this.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 13 });
    shapes[shapes.length - 1].openPopup();
    return true;
  }

  /** While `onPick(lat, lon)` is set, a click on the map gives a point (null: stop). */
  pick(onPick) {
    this.picking = onPick;
    this.container.classList.toggle("picking", Boolean(onPick));
    if (!onPick) this.showPicked(null);
  }

  /** Show (or, with null, take away) the point being entered in the incident form. */
  showPicked(lat, lon) {
    const L = window.L;
    if (this.picked) this.picked.remove();
    this.picked = null;
    if (lat === null || lat === undefined || Number.isNaN(lat) || Number.isNaN(lon)) return;
    this.picked = L.circleMarker([lat, lon], { radius: 9, color: "#0b3d91", weight: 3, fillOpacity: 0, dashArray: "3 3" }).addTo(this.map);
  }

  /** Another crisis is shown: what was known of the last one's incidents no longer counts. */
  forget() {
    this.known.clear();
    this.signature = null;
    this.openIncident = null;
  }
}
