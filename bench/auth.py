"""`python -m bench.auth`: what authentication costs, as ratios against a baseline of the same run.

On the secured embedded server (as `crisis up` runs it: auth service, event log, cell), with
BENCH_AUTH_CONNECTIONS connections (default 200) and BENCH_AUTH_ACTS acts (default 300):

1. Connections. Baseline: a service user, checked by nats-server itself (bcrypt). Against it: a
   person with a session token (auth callout: the server asks the auth service, which looks the
   token up in SQLite and signs a user JWT), and a person with a password (the same, plus an
   argon2id verify). Median and p99 of connect-and-close.
2. Acts. The same act (`record_entry`, a main-courante entry, published, acked and folded) sent
   by the console's connection (a service user, the person named in the subject) and by the
   person's own session connection. Per-message cost of the person's permissions is the server's
   subject check, so the ratio should be ~1.

Results go to `bench/results-auth.md`. Nothing here is asserted: it is measured.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import orjson

from bench.machine import describe
from services.auth.app import AuthService
from services.auth.callout import inbox_prefix, login_subject
from services.auth.principals import act_subject
from services.cell.app import CellService
from services.cell.people import Role, add_person
from services.eventlog.app import EventLogService
from services.eventlog.schema import upgrade
from services.runtime.database import make_engine
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings
from services.runtime.system import CrisisSystem

RESULTS = Path(__file__).with_name("results-auth.md")
PASSWORD = "mot-de-passe-du-banc-d-essai"  # noqa: S105 (a made-up benchmark password)
CRISIS = "bench-auth"


def _count(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def _timed(count: int, once: Callable[[], Awaitable[None]]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await once()
        samples.append(time.perf_counter() - started)
    return samples


async def _quiet(_error: Exception) -> None:
    """Nothing to report: the benchmark counts what succeeds."""


async def run(folder: Path) -> list[tuple[str, float, float]]:
    """Every measurement: (what, median ms, p99 ms)."""
    settings = Settings(_env_file=None, var_dir=folder / "var", log_level="WARNING")  # type: ignore[call-arg]
    add_person(settings.people_path, "op.banc", Role.OPERATOR, "Banc d'essai", PASSWORD)
    add_person(settings.people_path, "dircab", Role.DIRECTOR, "Directeur", PASSWORD)
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    services = [AuthService(settings), EventLogService(settings), CellService(settings)]
    connections, acts = _count("BENCH_AUTH_CONNECTIONS", 200), _count("BENCH_AUTH_ACTS", 300)
    rows = []
    async with CrisisSystem(settings, services, announce=False) as system:
        url = system.nats_url

        async def connect_close(**options: object) -> None:
            nc = await nats.connect(url, allow_reconnect=False, error_cb=_quiet, **options)
            await nc.close()

        service_url = system.urls["console"]
        rows.append(
            (
                "connect: service user (server's bcrypt)",
                *_summary(await _timed(connections, lambda: _direct(service_url))),
            )
        )
        login = await nats.connect(
            url, user="op.banc", password=PASSWORD, inbox_prefix=inbox_prefix("op.banc")
        )
        answer = orjson.loads(
            (await login.request(login_subject("op.banc"), b'{"op": "open"}', timeout=10)).data
        )
        await login.close()
        token = answer["token"]
        rows.append(
            (
                "connect: person, session token (callout)",
                *_summary(await _timed(connections, lambda: connect_close(token=token))),
            )
        )
        rows.append(
            (
                "connect: person, password (callout + argon2id)",
                *_summary(
                    await _timed(
                        max(20, connections // 10),
                        lambda: connect_close(user="op.banc", password=PASSWORD),
                    )
                ),
            )
        )

        console = await nats.connect(service_url)
        person = await nats.connect(url, token=token, inbox_prefix=inbox_prefix("op.banc"))
        await _act(
            console,
            "dircab",
            {"act": "open_crisis", "crisis_id": CRISIS, "name": "Banc", "departement": "06"},
        )
        entry = {
            "act": "record_entry",
            "crisis_id": CRISIS,
            "direction": "received",
            "sender": "Mairie",
            "medium": "telephone",
            "priority": "routine",
            "text": "Appel de la mairie",
        }
        rows.append(
            (
                "act: on the console's connection",
                *_summary(await _timed(acts, lambda: _act(console, "op.banc", entry))),
            )
        )
        rows.append(
            (
                "act: on the person's session",
                *_summary(await _timed(acts, lambda: _act(person, "op.banc", entry))),
            )
        )
        await console.close()
        await person.close()
    return rows


async def _direct(url: str) -> None:
    nc = await nats.connect(url, allow_reconnect=False)
    await nc.close()


async def _act(nc: nats.aio.client.Client, ident: str, command: dict[str, object]) -> None:
    reply = await nc.request(act_subject(ident), orjson.dumps({"command": command}), timeout=15)
    answer = orjson.loads(reply.data)
    if not answer.get("ok"):
        raise RuntimeError(f"the act was refused: {answer.get('error')}")


def report(rows: list[tuple[str, float, float]]) -> str:
    """The results as Markdown, each median also as a ratio to its baseline."""
    base_connect, base_act = rows[0][1], rows[3][1]
    lines = [
        "# Authentication: what it costs",
        "",
        "`python -m bench.auth`: the secured embedded server, auth service, event log and cell in",
        "one process on SQLite. Machine:",
        "",
        *(f"- {key}: {value}" for key, value in describe().items()),
        "",
        "| what | median ms | p99 ms | ratio to baseline (median) |",
        "|---|---:|---:|---:|",
    ]
    for index, (what, median, p99) in enumerate(rows):
        base = base_connect if index < 3 else base_act
        lines.append(f"| {what} | {median:.2f} | {p99:.2f} | {median / base:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run, print and write the results."""
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(run(Path(folder)))
    text = report(rows)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
