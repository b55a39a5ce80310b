"""Rows of results, progress on the terminal, and `results.md`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

Update = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement: `events` moved in `seconds`, with what the figure includes."""

    benchmark: str
    backend: str
    events: int
    seconds: float
    notes: str = ""
    failed: bool = False
    # Which target of results.md the row is judged against: "recorded", "read", "rebuild",
    # "as_of", "live" or none.
    target: str = ""
    # What the picture targets judge besides the rate: latencies, peak memory, a ratio.
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_mib: float | None = None
    ratio: float | None = None

    @property
    def rate(self) -> float:
        """Events per second (0 for a failed run)."""
        return self.events / self.seconds if self.seconds > 0 and not self.failed else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def failure(benchmark: str, backend: str, error: BaseException) -> Row:
    """The row of a benchmark that could not finish."""
    return Row(benchmark, backend, 0, 0.0, f"FAILED: {type(error).__name__}: {error}", failed=True)


class Reporter:
    """Progress bars and one line per result, on the terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> Reporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Update]:
        """A progress bar for one step; yields a function taking how much is done."""
        task = self.progress.add_task(label, total=total)

        def update(done: int) -> None:
            self.progress.update(task, completed=done)

        try:
            yield update
        finally:
            self.progress.remove_task(task)

    def say(self, text: str) -> None:
        """A line above the progress bars."""
        self.progress.console.print(text, highlight=False)

    def result(self, row: Row) -> None:
        """Print one result as soon as it is measured."""
        if row.failed:
            self.say(f"  [red]✗[/] {row.benchmark} ({row.backend}): {row.notes}")
            return
        extra = [
            f"{name} [bold]{value:,.1f}[/] ms"
            for name, value in (("p50", row.p50_ms), ("p99", row.p99_ms))
            if value is not None
        ]
        if row.ratio is not None:
            extra.append(f"{row.ratio:.2f}x the baseline")
        if row.peak_mib is not None:
            extra.append(f"peak RSS {row.peak_mib:,.0f} MiB")
        self.say(
            f"  [green]✓[/] {row.benchmark} ({row.backend}): [bold]{row.rate:,.0f}[/] events/s "
            f"({row.events:,} in {row.seconds:.2f} s)" + "".join(f"; {e}" for e in extra)
        )


def rich_table(rows: Sequence[Row]) -> Table:
    """The results as a table for the terminal."""
    table = Table(title="crisis-cell benchmarks", title_justify="left")
    table.add_column("benchmark")
    table.add_column("backend")
    for name in ("events", "seconds", "events/s"):
        table.add_column(name, justify="right")
    for row in rows:
        rate = "—" if row.failed else f"{row.rate:,.0f}"
        table.add_row(row.benchmark, row.backend, f"{row.events:,}", f"{row.seconds:.2f}", rate)
    return table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| benchmark | backend | events | seconds | events/s | notes |",
        "|---|---|--:|--:|--:|---|",
    ]
    for row in rows:
        rate = "—" if row.failed else f"{row.rate:,.0f}"
        lines.append(
            f"| {row.benchmark} | {row.backend} | {row.events:,} | {row.seconds:.2f} | {rate} | "
            f"{_cell(row.notes)} |"
        )
    return "\n".join(lines)


def _items(title: str, values: Mapping[str, str]) -> list[str]:
    return [f"## {title}", "", *(f"- {key}: {value}" for key, value in values.items()), ""]


def write_results(
    path: Path,
    *,
    started: str,
    total_seconds: float,
    machine: Mapping[str, str],
    parameters: Mapping[str, str],
    rows: Sequence[Row],
    targets: Sequence[str],
    remarks: Sequence[str],
    ran: str = "all",
) -> None:
    """Overwrite `path` with this run: when, where, with what, and the numbers."""
    lines = [
        "# crisis-cell benchmarks",
        "",
        f"Run on {started}, {total_seconds:.0f} s in all (`make bench`; overwritten by each run).",
        f"Benchmarks run: {ran}.",
        "",
        *_items("Machine", machine),
        *_items("Parameters", parameters),
        "## Results",
        "",
        markdown_table(rows),
        "",
        "## Targets",
        "",
        *targets,
        "",
        "## What each number includes",
        "",
        *(f"- {remark}" for remark in remarks),
        "",
    ]
    path.write_text("\n".join(lines))
