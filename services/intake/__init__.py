"""Incident intake: CAP, Atom/RSS, EDXL-DE, GeoJSON and the project's own JSON events, in."""
