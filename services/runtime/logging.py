"""structlog, configured once per process at its entrypoint."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog


class _CurrentStderr:
    """Standard error as it is at each write, not as it was when logging was configured.

    A caller may swap sys.stderr for a while (a test runner, typer's CliRunner) and close its
    stand-in afterwards; a logger bound to the stand-in would then fail on its next line.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


STDERR = _CurrentStderr()

# The libraries' own loggers, which write their lines themselves: alembic's "Context impl
# SQLiteImpl." and "Running upgrade" go through the root logger; FastStream's "callback for
# Task-17 is being executed..." through its "faststream" logger, which has its own handler.
THIRD_PARTY = ("faststream", "alembic", "nats", "uvicorn", "httpx", "asyncio")


class _Verbosity:
    """Whether `crisis --verbose` asked for the libraries' INFO lines (set once, at the start)."""

    verbose = False


def set_verbose(verbose: bool) -> None:
    """`crisis --verbose`: the libraries' lines at the configured level, not only their warnings."""
    _Verbosity.verbose = verbose


def configure_logging(
    level: str = "INFO",
    fmt: Literal["auto", "json", "console"] = "auto",
    *,
    verbose: bool | None = None,
) -> None:
    """JSON lines when not on a terminal, readable lines on one; context variables merged in.

    crisis-cell's own lines at `level` (CRISIS_LOG_LEVEL); the libraries' (alembic, FastStream,
    nats-py, uvicorn) from WARNING up only, unless `verbose` (by default, `crisis --verbose`)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    loud = _Verbosity.verbose if verbose is None else verbose
    libraries = numeric if loud else max(numeric, logging.WARNING)
    logging.basicConfig(level=libraries, stream=STDERR, format="%(message)s")
    logging.getLogger().setLevel(libraries)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(libraries)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


def bind_event_context(*, crisis_id: str, event_id: str, correlation_id: str | None) -> None:
    """Bind the identifiers of the message being handled to every log line that follows."""
    structlog.contextvars.bind_contextvars(
        crisis_id=crisis_id, event_id=event_id, correlation_id=correlation_id
    )


def clear_event_context() -> None:
    """Forget the identifiers bound for the previous message."""
    structlog.contextvars.unbind_contextvars("crisis_id", "event_id", "correlation_id")
