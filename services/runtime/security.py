"""The embedded server's security: the secured configuration's users, on this machine.

`crisis up` with no `CRISIS_NATS_URL` runs nats-server with authentication on: the accounts and
users of `services/runtime/security.toml` (package data: one user per service, the admin, the
feeds), generated under `var/nats/` (secrets and credentials mode 0600), with the auth callout
for people. Each service of the process connects as its own user. Other commands on this
machine find a user's credential there (`var/nats/users/<user>.env`): reading it takes the
file permissions of the account that runs the system, so the folder is what an administrator
holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from services.deploy import nats_config
from services.runtime.discovery import NotRunningError
from services.runtime.settings import Settings

# Package data: found wherever `crisis` runs (`crisis infra nats-config FILE` takes another one).
DESCRIPTION = Path(__file__).resolve().with_name("security.toml")

# The user each service of `crisis up` connects as.
SERVICE_USERS = {
    "eventlog": "eventlog",
    "picture": "picture",
    "intake": "intake",
    "cell": "cell",
    "plans": "plans",
    "console": "console",
    "ops": "ops",
    "zone": "zone",
    "auth": "auth",
}
ADMIN = "admin"
DEMO = "demo"


class CredentialError(NotRunningError):
    """A credential this command needs cannot be had; the message says which and where."""


def demo_user(account: str) -> nats_config.UserSpec:
    """`crisis demo`'s player: it plays a scripted exercise, decisions included, as recorded.

    It exists only in the configuration that `crisis demo` writes: `crisis up` has no such user.
    """
    from schemas.catalogue import EVENT_TYPES, type_name  # noqa: PLC0415

    return nats_config.UserSpec(
        account=account,
        description="crisis demo: plays the sample crisis (an exercise) as it was recorded",
        events=tuple(sorted(type_name(cls) for cls in EVENT_TYPES)),
        inspect=("CRISIS", "DEADLETTER", "REPLAY"),
        decides=True,
    )


def embedded_description(
    settings: Settings, host: str, port: int, *, demo: bool = False
) -> nats_config.Description:
    """The repository's security description, served by the embedded server on `host:port`."""
    try:
        description = nats_config.load_description(DESCRIPTION)
    except nats_config.SecurityConfigError as exc:
        raise CredentialError(f"the embedded server's security description: {exc}") from None
    server = description.server.model_copy(
        update={
            "host": host,
            "port": port,
            "client_host": host,
            "store_dir": str(settings.jetstream_dir.resolve()),
            "max_payload": settings.max_payload,
            "monitoring_port": 0,
            "tls": nats_config.TlsSpec(),
        }
    )
    users = dict(description.users)
    if demo:
        users[DEMO] = demo_user("CRISIS")
    return description.model_copy(update={"server": server, "users": users})


@dataclass(frozen=True, slots=True)
class EmbeddedSecurity:
    """What the embedded server adds to its configuration, and each user's URL."""

    auth_config: str
    urls: dict[str, str]


def prepare(settings: Settings, host: str, port: int, *, demo: bool = False) -> EmbeddedSecurity:
    """Generate (or reuse) the users' secrets under `var/nats/` for a server on `host:port`."""
    description = embedded_description(settings, host, port, demo=demo)
    folder = settings.nats_secure_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    generated = nats_config.generate(description, folder)
    urls = {path.stem: nats_config.client_url(path) for path in generated.credentials}
    passwords = nats_config.load_secrets(folder / nats_config.SECRETS_FILE)
    issuer = nats_config.ensure_issuer(folder / nats_config.ISSUER_FILE).public_key
    return EmbeddedSecurity(nats_config.accounts_config(description, passwords, issuer), urls)


def bare(url: str) -> str:
    """`url` (or each of a comma-separated list) without the user and password it carries."""
    parts = []
    for one in url.split(","):
        split = urlsplit(one.strip())
        host = split.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if split.port:
            netloc += f":{split.port}"
        parts.append(urlunsplit((split.scheme, netloc, split.path, "", "")))
    return ",".join(parts)


def user_url(settings: Settings, user: str) -> str:
    """The URL, with its password, of one of the embedded server's users on this machine."""
    path = settings.nats_secure_dir / nats_config.USERS_DIR / f"{user}.env"
    try:
        return nats_config.client_url(path)
    except OSError:
        raise CredentialError(
            f"this needs the {user!r} credential of the running system ({path}): run it as "
            "the account that runs `crisis up`, or set CRISIS_NATS_URL from that user's env file"
        ) from None
