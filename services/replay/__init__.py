"""Replay of a past crisis under its own subjects, and forks of it into exercises."""
