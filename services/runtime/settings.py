"""Configuration, read from the environment (prefix `CRISIS_`) and an optional `.env` file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of every crisis-cell process; embedded defaults when nothing is configured."""

    model_config = SettingsConfigDict(env_prefix="CRISIS_", env_file=".env", extra="ignore")

    nats_url: str | None = Field(
        default=None,
        description="NATS server to use. Unset: `crisis up` starts an embedded nats-server.",
    )
    nats_host: str = Field(default="127.0.0.1", description="Address the embedded server binds.")
    nats_port: int = Field(
        default=0, ge=0, le=65535, description="Port of the embedded server; 0 picks a free one."
    )
    var_dir: Path = Field(
        default=Path("var"), description="Where the embedded server and database keep their data."
    )
    duplicate_window_s: float = Field(
        default=120.0, gt=0, description="JetStream duplicate window for `Nats-Msg-Id`."
    )
    replay_retention_s: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How long replayed events stay on the bus."
    )
    max_payload: int = Field(
        default=1024 * 1024, gt=0, description="Largest message the bus accepts, in bytes."
    )
    publish_timeout_s: float = Field(default=2.0, gt=0, description="Wait for a JetStream ack.")
    publish_attempts: int = Field(
        default=10,
        ge=1,
        description="Attempts before a publish fails (10: about 15 s, longer than an election).",
    )
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of each stream: 3 on a 3-node cluster."
    )
    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL of the event log; unset: SQLite under `var_dir`.",
    )
    eventlog_batch: int = Field(default=1000, ge=1, le=10_000, description="Events per commit.")
    eventlog_ack_wait_s: float = Field(
        default=10.0, gt=0, description="Redelivery delay of an event the log did not ack."
    )
    eventlog_max_deliver: int = Field(
        default=5, ge=1, description="Deliveries of an undecodable message before dead-lettering."
    )
    picture_host: str = Field(default="127.0.0.1", description="Address of the picture's HTTP.")
    picture_port: int = Field(
        default=8040, ge=0, le=65535, description="Port of the picture's HTTP; 0 picks a free one."
    )
    picture_snapshot_every: int = Field(
        default=5000, ge=0, description="Events of a crisis between two picture snapshots."
    )
    picture_snapshot_budget_mb: int = Field(
        default=90,
        ge=1,
        description="Megabytes of picture snapshots kept per crisis: the latest three, and as "
        "many further back as fit, evenly spread (as-of reads fold at most the widest gap).",
    )
    intake_host: str = Field(default="127.0.0.1", description="Address of the intake's HTTP.")
    intake_port: int = Field(
        default=8041, ge=0, le=65535, description="Port of the intake's HTTP; 0 picks a free one."
    )
    intake_language: str = Field(
        default="fr", description="Language of the CAP <info> the intake reports; others are kept."
    )
    intake_max_bytes: int = Field(
        default=768 * 1024,
        gt=0,
        description="Largest input the intake reads, in bytes; larger ones are refused and kept.",
    )
    intake_fetch_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of fetching a feed or what its entries link to."
    )
    intake_fetch_budget_s: float = Field(
        default=20.0, gt=0, description="Time all the links of one input may take to fetch."
    )
    intake_fetch_max_links: int = Field(
        default=20, ge=0, description="Links fetched per input; the ones past it are refused."
    )
    intake_fetch_allow_hosts: list[str] = Field(
        default_factory=list,
        description="Non-public hosts `crisis feed` may fetch links from (JSON list); the HTTP "
        "intake takes each feed's `allow_hosts` from the feeds file instead.",
    )
    intake_rate_per_minute: float = Field(
        default=120.0, gt=0, description="Posts a feed may make per minute, on average."
    )
    intake_rate_burst: int = Field(
        default=30, ge=1, description="Posts a feed may make at once before the rate applies."
    )
    deadletter_max_bytes: int = Field(
        default=1024**3,
        gt=0,
        description="Bytes the DEADLETTER stream keeps; past them the oldest go (the log keeps "
        "its copy).",
    )
    deadletter_max_age_days: float = Field(
        default=90.0, gt=0, description="Days the DEADLETTER stream keeps a message."
    )
    feeds_file: Path | None = Field(
        default=None,
        description="Feeds and their token digests (TOML); unset: `feeds.toml` under `var_dir`.",
    )
    console_host: str = Field(default="127.0.0.1", description="Address of the console's HTTP.")
    console_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of the console; 0 picks a free one."
    )
    console_tiles_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tiles of the console; empty: no tiles (incidents still drawn).",
    )
    console_tiles_attribution: str = Field(
        default="© OpenStreetMap contributors", description="Attribution shown for the tiles."
    )
    console_idle_minutes: float = Field(
        default=60, gt=0, description="A console session ends after this long without use."
    )
    console_session_hours: float = Field(
        default=12, gt=0, description="A console session ends after this long in any case."
    )
    console_secure_cookies: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (behind TLS)."
    )
    ops_host: str = Field(default="127.0.0.1", description="Address of /health, /ready, /metrics.")
    ops_port: int = Field(
        default=9108, ge=0, le=65535, description="Port of the operations endpoints; 0: any free."
    )
    zone_name: str = Field(default="zone", description="Name of this zone (COZ) system.")
    zone_sources: str = Field(
        default="",
        description="Départements followed: `06=nats://host:4222,83=nats://…`; empty: none.",
    )
    zone_min_severity: str = Field(
        default="severe", description="Incidents from this severity up go to the zone."
    )
    people_file: Path | None = Field(
        default=None,
        description="The people of the cell and their roles (TOML); unset: `people.toml` under "
        "`var_dir`.",
    )
    archive_key_file: Path | None = Field(
        default=None,
        description="The ed25519 key that signs `crisis log export` archives (PEM, 0600); unset: "
        "`keys/archive.ed25519` under `var_dir`, created on first use.",
    )
    archive_require_signed: bool = Field(
        default=False,
        description="`crisis log import` refuses an archive without hashes and signatures "
        "(written before they existed) instead of importing it with a warning.",
    )
    auth_session_hours: float = Field(
        default=8, gt=0, description="A session from `crisis login` ends after this long."
    )
    auth_connection_minutes: float = Field(
        default=10,
        gt=0,
        description="A person's NATS connection is admitted again after this long (a revoked "
        "session or a disabled person is then turned away).",
    )
    auth_issuer_file: Path | None = Field(
        default=None,
        description="Seed of the account key that signs the auth callout's answers; unset: "
        "`nats/auth-issuer.nk` under `var_dir` (the embedded server's).",
    )
    credentials_dir: Path | None = Field(
        default=None,
        description="Where `crisis login` keeps this user's sessions (0600); unset: "
        "`$XDG_CONFIG_HOME/crisis-cell` or `~/.config/crisis-cell`.",
    )
    ops_metrics_token: str | None = Field(
        default=None,
        description="Bearer token /metrics asks for; required when the ops host is not loopback.",
    )
    disk_min_free_mb: int = Field(
        default=256,
        ge=0,
        description="Free megabytes /ready asks for on the disks under `var_dir`, the JetStream "
        "store and a SQLite log; below it the system is not ready (0: not checked).",
    )
    db_max_mb: int = Field(
        default=0,
        ge=0,
        description="Size a PostgreSQL log may reach before /ready says so (its disk is the "
        "database server's, not checked from here); 0: not checked.",
    )
    sitrep_check_every_s: float = Field(
        default=30.0, gt=0, description="How often the cell looks for reports a cadence makes due."
    )
    plans_dir: Path | None = Field(
        default=None,
        description="Folder of the plan rules, one `<département>.toml` each; unset: the rules "
        "that ship with crisis-cell (services/plans/departements).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="`auto`: readable on a terminal, JSON otherwise."
    )

    @property
    def run_file(self) -> Path:
        """The file `crisis up` writes so that other commands find the running system."""
        return self.var_dir / "run.json"

    @property
    def database_url(self) -> str:
        """The configured database, or SQLite under `var_dir`."""
        return self.db_url or f"sqlite+aiosqlite:///{self.var_dir / 'crisis.db'}"

    @property
    def feeds_path(self) -> Path:
        """The configured feeds file, or `feeds.toml` under `var_dir`."""
        return self.feeds_file or self.var_dir / "feeds.toml"

    @property
    def people_path(self) -> Path:
        """The configured people file, or `people.toml` under `var_dir`."""
        return self.people_file or self.var_dir / "people.toml"

    @property
    def archive_key_path(self) -> Path:
        """The configured archive signing key, or `keys/archive.ed25519` under `var_dir`."""
        return self.archive_key_file or self.var_dir / "keys" / "archive.ed25519"

    @property
    def nats_secure_dir(self) -> Path:
        """The embedded server's accounts, users' credentials (0600) and secrets."""
        return self.var_dir / "nats"

    @property
    def auth_issuer_path(self) -> Path:
        """The configured issuer seed, or the embedded server's."""
        return self.auth_issuer_file or self.nats_secure_dir / "auth-issuer.nk"

    @property
    def credentials_path(self) -> Path:
        """Where this user's sessions from `crisis login` are kept."""
        if self.credentials_dir is not None:
            return self.credentials_dir
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "crisis-cell"

    @property
    def jetstream_dir(self) -> Path:
        """Storage directory of the embedded nats-server."""
        return self.var_dir / "jetstream"


def load_settings() -> Settings:
    """Read the settings; called once by each entrypoint."""
    return Settings()
