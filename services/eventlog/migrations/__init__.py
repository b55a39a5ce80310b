"""Alembic migrations of the event log's tables."""
