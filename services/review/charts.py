"""Inline SVG charts of the review: step lines over time and a horizontal bar chart of delays.

Deterministic: coordinates are written with one decimal, in the order given; every text is escaped.
Times are shown in the zone the page is written in, with the date and the hour on each tick.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from services.sitrep.core import count

WIDTH = 700
# Colours of the lines, in order: contrasted, and told apart by the legend as well as the colour.
PALETTE = ("#000091", "#ce0500", "#18753c", "#b34000", "#6a6af4", "#66673d", "#a558a0", "#3a3a3a")
_TICK_MINUTES = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
_MAX_TICKS = 8
_LABEL_CHARS = 52


@dataclass(frozen=True, slots=True)
class Line:
    """One step line: its label, its colour and its points (instant, value) in time order.

    `from_zero`: the value was 0 before the first point (resources), rather than not known."""

    label: str
    colour: str
    points: tuple[tuple[datetime, int], ...]
    from_zero: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """Where a chart is drawn: its size, its plot area and the time range it shows."""

    height: int
    left: int
    right: int
    top: int
    bottom: int
    start: datetime
    end: datetime

    def x(self, moment: datetime) -> float:
        """The abscissa of an instant."""
        span = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / span
        return self.left + share * (self.right - self.left)

    def y(self, value: float, top_value: float) -> float:
        """The ordinate of a value, 0 at the bottom and `top_value` at the top."""
        return self.bottom - (value / (top_value or 1)) * (self.bottom - self.top)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


def nice_step(raw: float) -> int:
    """The step of 1, 2 or 5 times a power of ten at least `raw` (1 at the least)."""
    if raw <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _svg(height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{_e(label)}" class="chart">\n<title>{_e(label)}</title>\n'
        + "\n".join(body)
        + "\n</svg>"
    )


# -- time axis -----------------------------------------------------------------------------------


def time_ticks(start: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
    """Round instants between `start` and `end`, at most eight, aligned on the zone's midnight."""
    span = (end - start).total_seconds() / 60
    # Past a week between ticks, a whole number of days: a crisis may last months.
    longest = math.ceil(span / _MAX_TICKS / 1440) * 1440
    step = next((s for s in _TICK_MINUTES if span / s <= _MAX_TICKS), longest)
    local = start.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (local - midnight).total_seconds() / 60
    tick = midnight + timedelta(minutes=math.ceil(elapsed / step) * step)
    ticks = []
    while tick <= end:
        ticks.append(tick)
        tick += timedelta(minutes=step)
    return ticks


def _time_axis(frame: Frame, zone: tzinfo) -> list[str]:
    parts = [
        f'<line class="axis" x1="{frame.left}" y1="{frame.bottom}" '
        f'x2="{frame.right}" y2="{frame.bottom}"/>'
    ]
    for tick in time_ticks(frame.start, frame.end, zone):
        x = _n(frame.x(tick))
        local = tick.astimezone(zone)
        parts.append(
            f'<line class="tick" x1="{x}" y1="{frame.bottom}" x2="{x}" y2="{frame.bottom + 4}"/>'
            f'<text class="label" x="{x}" y="{frame.bottom + 15}" text-anchor="middle">'
            f'<tspan x="{x}">{local:%d/%m}</tspan>'
            f'<tspan x="{x}" dy="11">{local:%H:%M}</tspan></text>'
        )
    return parts


def _value_axis(frame: Frame, top_value: int, step: int) -> list[str]:
    parts = [
        f'<line class="axis" x1="{frame.left}" y1="{frame.top}" '
        f'x2="{frame.left}" y2="{frame.bottom}"/>'
    ]
    for value in range(0, top_value + 1, step):
        y = _n(frame.y(value, top_value))
        parts.append(
            f'<line class="grid" x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}"/>'
            f'<text class="label" x="{frame.left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{_e(count(value))}</text>'
        )
    return parts


# -- step lines ----------------------------------------------------------------------------------


def step_chart(
    label: str, lines: Sequence[Line], start: datetime, end: datetime, zone: tzinfo
) -> str:
    """Step lines over the time range, a dot where each value was set, axes with their labels.

    A line starts at its first point (before it the value was not known) and holds its last value
    to the end of the range."""
    end = max(end, start + timedelta(hours=1))
    frame = Frame(height=190, left=64, right=WIDTH - 16, top=14, bottom=150, start=start, end=end)
    highest = max((v for line in lines for _, v in line.points), default=0)
    step = nice_step(highest / 4)
    top_value = max(step * math.ceil(highest / step), step)
    body = _value_axis(frame, top_value, step) + _time_axis(frame, zone)
    for line in lines:
        body += _step_line(frame, line, top_value)
    return _svg(frame.height, label, body)


def _step_line(frame: Frame, line: Line, top_value: int) -> list[str]:
    if not line.points:
        return []
    (first_at, first_value), *rest = line.points
    path = [f"M{_n(frame.x(first_at))},{_n(frame.y(first_value, top_value))}"]
    if line.from_zero:
        path = [
            f"M{_n(frame.left)},{_n(frame.bottom)}"
            f"H{_n(frame.x(first_at))}V{_n(frame.y(first_value, top_value))}"
        ]
    for moment, value in rest:
        path.append(f"H{_n(frame.x(moment))}V{_n(frame.y(value, top_value))}")
    path.append(f"H{_n(frame.x(frame.end))}")
    dots = [
        f'<circle cx="{_n(frame.x(moment))}" cy="{_n(frame.y(value, top_value))}" r="2.5" '
        f'fill="{line.colour}"><title>{_e(line.label)} : {_e(count(value))}</title></circle>'
        for moment, value in line.points
    ]
    return [
        f'<path class="step" d="{"".join(path)}" stroke="{line.colour}">'
        f"<title>{_e(line.label)}</title></path>",
        *dots,
    ]


# -- delays --------------------------------------------------------------------------------------


def _short(text: str) -> str:
    """The text cut in its middle: plan names differ by their end ("… inondation")."""
    if len(text) <= _LABEL_CHARS:
        return text
    head = _LABEL_CHARS // 2 - 4
    return text[:head].rstrip() + " … " + text[head - _LABEL_CHARS + 3 :].lstrip()


def delay_bars(label: str, bars: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars from the first report (0) to each delay, in hours; (label, minutes, value
    shown). A delay before the first report goes left of the zero line."""
    row, top, label_width = 22, 10, 290
    height = top + row * max(len(bars), 1) + 40
    lowest = min((m for _, m, _ in bars), default=0.0)
    highest = max((m for _, m, _ in bars), default=0.0)
    step = nice_step(max(highest - min(lowest, 0), 60) / 60 / 6)
    lo = -step * math.ceil(-min(lowest, 0) / 60 / step) * 60
    hi = max(step * math.ceil(max(highest, 0) / 60 / step) * 60, step * 60)
    left, right = label_width + (70 if lo < 0 else 10), WIDTH - 70
    axis_y = top + row * max(len(bars), 1)

    def x(minutes: float) -> float:
        return left + (minutes - lo) / (hi - lo) * (right - left)

    body = [f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}"/>']
    for hours in range(int(lo / 60), int(hi / 60) + 1, step):
        tx = _n(x(hours * 60))
        body.append(
            f'<line class="grid" x1="{tx}" y1="{top}" x2="{tx}" y2="{axis_y}"/>'
            f'<text class="label" x="{tx}" y="{axis_y + 14}" text-anchor="middle">{hours} h</text>'
        )
    for index, (name, minutes, shown) in enumerate(bars):
        body.append(_bar(name, minutes, shown, (top + index * row, row, x(0), x(minutes))))
    body.append(
        f'<line class="zero" x1="{_n(x(0))}" y1="{top - 4}" x2="{_n(x(0))}" y2="{axis_y}"/>'
        f'<text class="label" x="{_n((left + right) / 2)}" y="{axis_y + 30}" '
        'text-anchor="middle">heures après le premier signalement</text>'
    )
    return _svg(height, label, body)


def _bar(name: str, minutes: float, shown: str, place: tuple[float, float, float, float]) -> str:
    y, row, zero, end = place
    left, width = min(zero, end), abs(end - zero)
    after = end + 4 if minutes >= 0 else end - 4
    anchor = "start" if minutes >= 0 else "end"
    middle = _n(y + row / 2)
    return (
        f'<g class="bar"><title>{_e(name)} : {_e(shown)}</title>'
        f'<text class="label" x="4" y="{middle}" dominant-baseline="middle">'
        f"{_e(_short(name))}</text>"
        f'<rect x="{_n(left)}" y="{_n(y + 4)}" width="{_n(max(width, 1.0))}" height="{row - 8}" '
        f'fill="{PALETTE[0] if minutes >= 0 else PALETTE[3]}"/>'
        f'<text class="value" x="{_n(after)}" y="{middle}" text-anchor="{anchor}" '
        f'dominant-baseline="middle">{_e(shown)}</text></g>'
    )
