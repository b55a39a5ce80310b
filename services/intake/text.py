"""Free text from senders, without markup: what CAP, GeoJSON and own events all go through."""

from __future__ import annotations

import html
import re

_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")
# Comments, declarations and processing instructions: no text of theirs is kept.
_HTML_OTHER = re.compile(r"<!--.*?(-->|$)|<[!?][^<>]*>", re.DOTALL)
_HTML_BREAK = re.compile(r"<\s*(br|/p|/li|/div|/h[1-6]|/tr)\s*/?>", re.IGNORECASE)
_HTML_ITEM = re.compile(r"<\s*li[^>]*>", re.IGNORECASE)
_HTML_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z]{2,8});")
# Each pass may decode an entity into a new tag (`&lt;img…&gt;`): a few passes reach a fixed point.
_PASSES = 5


def has_markup(value: str) -> bool:
    """True when `value` holds HTML tags, comments or entities."""
    return bool(_HTML_TAG.search(value) or _HTML_OTHER.search(value) or _HTML_ENTITY.search(value))


def plain(value: str) -> str:
    """Text from (escaped) HTML: line breaks kept, tags dropped, entities decoded."""
    value = _HTML_BREAK.sub("\n", value)
    value = _HTML_ITEM.sub("\n- ", value)
    for _ in range(_PASSES):
        stripped = html.unescape(_HTML_TAG.sub("", _HTML_OTHER.sub("", value)))
        if stripped == value:
            break
        value = stripped
    # What still looks like a tag after the passes loses its brackets: never markup, only text.
    if _HTML_TAG.search(value) or _HTML_OTHER.search(value):
        value = value.replace("<", " ").replace(">", " ")
    value = value.replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def one_line(value: str) -> str:
    """`plain`, on one line (titles)."""
    return " ".join(plain(value).split())
