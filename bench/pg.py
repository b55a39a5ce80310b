"""PostgreSQL for the benchmarks: where it is, and throw-away schemas and databases on it."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL, make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_NAME = re.compile(r"^bench_[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class Postgres:
    """A reachable PostgreSQL server, by its SQLAlchemy URL."""

    url: str
    version: str

    @property
    def parsed(self) -> URL:
        """The URL, parsed."""
        return make_url(self.url)

    def dsn(self, database: str | None = None) -> str:
        """The URL as asyncpg takes it, on `database` (default: the URL's own)."""
        url = self.parsed.set(drivername="postgresql")
        if database is not None:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def url_for(self, database: str) -> str:
        """The SQLAlchemy URL of another database on the same server."""
        return self.parsed.set(database=database).render_as_string(hide_password=False)

    def shown(self) -> str:
        """The URL without its password, for results."""
        return self.parsed.render_as_string(hide_password=True)


def configured_url() -> str:
    """CRISIS_BENCH_POSTGRES_URL, else CRISIS_TEST_POSTGRES_URL, else a local default."""
    return (
        os.environ.get("CRISIS_BENCH_POSTGRES_URL")
        or os.environ.get("CRISIS_TEST_POSTGRES_URL")
        or DEFAULT_URL
    )


async def find() -> tuple[Postgres | None, str]:
    """The configured server if it answers, with a note either way."""
    url = configured_url()
    shown = make_url(url).render_as_string(hide_password=True)
    probe = Postgres(url, "")
    try:
        conn = await asyncpg.connect(probe.dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return None, f"PostgreSQL skipped: {shown} did not answer ({type(exc).__name__}: {exc})"
    try:
        version = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    return Postgres(url, version), f"PostgreSQL {version} at {shown}"


def fresh_name() -> str:
    """A name no earlier run used: `bench_<hex>`."""
    return f"bench_{secrets.token_hex(6)}"


def _ident(name: str) -> str:
    # DDL takes no bind parameters: the names are ours (bench_ and hex digits), checked, quoted.
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a benchmark name: {name!r}")
    return f'"{name}"'


@asynccontextmanager
async def fresh_schema(pg: Postgres) -> AsyncIterator[str]:
    """A new empty schema on the URL's database, dropped with all it holds on exit."""
    name = fresh_name()
    conn = await asyncpg.connect(pg.dsn(), timeout=10)
    try:
        await conn.execute("CREATE SCHEMA " + _ident(name))
        yield name
    finally:
        await conn.execute("DROP SCHEMA IF EXISTS " + _ident(name) + " CASCADE")
        await conn.close()


@asynccontextmanager
async def fresh_database(pg: Postgres) -> AsyncIterator[str]:
    """A new empty database (for a process that only takes a URL); dropped on exit."""
    name = fresh_name()
    conn = await asyncpg.connect(pg.dsn("postgres"), timeout=10)
    try:
        await conn.execute("CREATE DATABASE " + _ident(name))
        yield pg.url_for(name)
    finally:
        # FORCE ends sessions a killed recorder may have left behind.
        await conn.execute("DROP DATABASE IF EXISTS " + _ident(name) + " WITH (FORCE)")
        await conn.close()


def search_path(schema: str) -> dict[str, object]:
    """Engine arguments that put every unqualified table of asyncpg sessions in `schema`."""
    return {"connect_args": {"server_settings": {"search_path": schema}}}
