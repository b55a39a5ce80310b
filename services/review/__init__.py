"""After-action review (RETEX) of a past crisis, from its log records: pure, no database, no bus."""

from services.review.core import review
from services.review.model import Review
from services.review.render import to_html, to_json_bytes

__all__ = ["Review", "review", "to_html", "to_json_bytes"]
