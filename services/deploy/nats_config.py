"""Secured NATS: accounts, users and their subject permissions, generated from one description.

`services/runtime/security.toml` says which account each user belongs to and what it may do,
in the terms of this system: event types it publishes, streams it inspects, reads or follows, its
durable consumers, object stores, request-reply subjects. `generate` expands those into the
subjects nats-server checks and writes, into one folder:

- `server.conf`: the server (TLS only when certificates are given, monitoring only when asked and
  then on 127.0.0.1), its accounts and its users, each password as a bcrypt hash;
- `users/<user>.env`, mode 0600: the user's password inside the `CRISIS_NATS_URL` every service
  reads (nats-py takes `user:password@` from the URL, so no service changes), and the `NATS_*`
  variables of the `nats` CLI;
- `secrets.json`, mode 0600: the passwords and their hashes, made once and kept, so that the
  output is the same on every run until a secret is rotated on purpose.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import bcrypt
from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from schemas import subjects
from schemas.catalogue import EVENT_TYPES, type_name
from schemas.types import TOKEN_PATTERN
from services.auth.nkeys import PREFIX_ACCOUNT, KeyPair, NkeyError
from services.runtime.files import write_private

CONFIG_FILE = "server.conf"
SECRETS_FILE = "secrets.json"
ISSUER_FILE = "auth-issuer.nk"
USERS_DIR = "users"
FEEDS_ROOT = "feeds"
_API = "$JS.API"


# Decisions of the cell: only a user marked `decides` (the cell) may publish these. Everyone
# else reaches them through the cell, which checks who acts and in what role.
DECISION_EVENTS = frozenset(
    {
        "crisis.opened",
        "crisis.closed",
        "cod.convened",
        "cod.stood_down",
        "plan.activated",
        "plan.deactivated",
        "vigipirate.posture_changed",
        "comms.public_alert_drafted",
        "comms.public_alert_issued",
        "comms.press_release_published",
        "sitrep.issued",
        "decision.taken",
    }
)


class SecurityConfigError(ValueError):
    """The description or the secrets file cannot be used; the message says why."""


# -- bcrypt -------------------------------------------------------------------------------------
# nats-server checks `$2a$` bcrypt hashes; the `bcrypt` package computes them (in C: a few ms at
# cost 8, so the embedded server's users cost nothing noticeable at start).

_BCRYPT64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_STANDARD64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_BCRYPT64 = str.maketrans(_STANDARD64, _BCRYPT64)
_BCRYPT_HASH = re.compile(r"^\$2[abxy]\$(\d\d)\$([./A-Za-z0-9]{22})[./A-Za-z0-9]{31}$")


def bcrypt_hash(password: str, cost: int, salt: bytes | None = None) -> str:
    """The `$2a$` bcrypt hash of `password` at `cost` (4 to 31), with a new salt unless given."""
    if not 4 <= cost <= 31:
        raise ValueError(f"bcrypt cost {cost} is not between 4 and 31")
    if salt is None:
        setting = bcrypt.gensalt(cost, prefix=b"2a")
    elif len(salt) != 16:
        raise ValueError("a bcrypt salt is 16 bytes")
    else:
        encoded = base64.b64encode(salt).decode().rstrip("=").translate(_TO_BCRYPT64)
        setting = f"$2a${cost:02d}${encoded[:22]}".encode()
    return bcrypt.hashpw(password.encode()[:72], setting).decode()


def bcrypt_matches(password: str, hashed: str) -> bool:
    """Whether `hashed` is the bcrypt hash of `password`."""
    if _BCRYPT_HASH.fullmatch(hashed) is None:
        return False
    return bcrypt.checkpw(password.encode()[:72], hashed.encode())


# -- the description ----------------------------------------------------------------------------

_TOKEN = TOKEN_PATTERN.strip("^$")
Name = Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]
# A subject or wildcard: dot-separated tokens, `*` for one token, `>` last for the rest.
Subject = Annotated[
    str, StringConstraints(pattern=r'^(?:(?:[^.\s*>"\\]+|\*)(?:\.(?:[^.\s*>"\\]+|\*))*(?:\.>)?|>)$')
]
# A durable consumer: `STREAM/name`.
Durable = Annotated[str, StringConstraints(pattern=f"^{_TOKEN}/{_TOKEN}$")]
# A value written into the configuration: one line, no quote or backslash to escape.
Plain = Annotated[str, StringConstraints(pattern=r'^[^"\\\x00-\x1f]+$')]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TlsSpec(_Spec):
    """TLS for clients: off unless both a certificate and its key are given."""

    cert_file: Plain | None = None
    key_file: Plain | None = None
    ca_file: Plain | None = None
    verify: bool = False
    timeout_s: float = Field(default=2.0, gt=0)

    @property
    def enabled(self) -> bool:
        """Whether the server asks for TLS."""
        return self.cert_file is not None

    @model_validator(mode="after")
    def _complete(self) -> TlsSpec:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give both cert_file and key_file (TLS on), or neither (TLS off)")
        if self.verify and (self.ca_file is None or not self.enabled):
            raise ValueError("verify (client certificates) needs TLS on and ca_file")
        return self


class ServerSpec(_Spec):
    """The server: where it listens, where JetStream stores, how clients reach it."""

    name: Name = "crisis"
    host: Plain = "0.0.0.0"  # noqa: S104 (a server listens on its interfaces; TLS and auth guard it)
    port: int = Field(default=4222, ge=1, le=65535)
    client_host: Plain = "127.0.0.1"
    store_dir: Plain = "./var/jetstream"
    max_payload: ByteSize = ByteSize(1024 * 1024)
    max_file_store: ByteSize | None = None
    max_memory_store: ByteSize | None = None
    log_file: Plain | None = None
    monitoring_port: int = Field(default=0, ge=0, le=65535)
    bcrypt_cost: int = Field(default=8, ge=4, le=16)
    tls: TlsSpec = TlsSpec()


class AccountSpec(_Spec):
    """An account: its own subject space; JetStream on for the system's traffic."""

    description: str = ""
    jetstream: bool = False
    system: bool = False


class UserSpec(_Spec):
    """One user's account and rights, in the system's terms (expanded by `permissions`)."""

    account: Name
    description: str = ""
    events: tuple[str, ...] = ()
    publish: tuple[Subject, ...] = ()
    subscribe: tuple[Subject, ...] = ()
    inspect: tuple[Name, ...] = ()
    read: tuple[Name, ...] = ()
    follow: tuple[Name, ...] = ()
    durables: tuple[Durable, ...] = ()
    object_stores: tuple[Name, ...] = ()
    requests: tuple[Subject, ...] = ()
    answers: tuple[Subject, ...] = ()
    inbox: bool = True
    decides: bool = False

    @property
    def uses_jetstream(self) -> bool:
        """Whether the user needs JetStream in its account."""
        return bool(self.inspect or self.read or self.follow or self.durables or self.object_stores)


class CalloutSpec(_Spec):
    """Auth callout: people connect through the auth service, which answers for the server.

    Every user of the description (services, admin, feeds) is the server's own and bypasses
    it; any other client is a person, admitted (or not) by the auth service's user `user`.
    """

    user: Name = "auth"
    account: Name = "CRISIS"


class FeedsSpec(_Spec):
    """Feeds that may publish over NATS: user `feed-<name>`, subjects `feeds.<name>.>` only."""

    account: Name = "CRISIS"
    names: tuple[Name, ...] = ()


class Description(_Spec):
    """Everything `generate` needs: the server, the accounts, the users and the feeds."""

    server: ServerSpec = ServerSpec()
    accounts: dict[Name, AccountSpec]
    users: dict[Name, UserSpec]
    feeds: FeedsSpec = FeedsSpec()
    callout: CalloutSpec | None = None

    @property
    def system_account(self) -> str:
        """The account nats-server reports and is monitored through."""
        return next(name for name, account in self.accounts.items() if account.system)

    def all_users(self) -> dict[str, UserSpec]:
        """The described users, then one user per feed."""
        feeds = {f"feed-{name}": feed_user(name, self.feeds.account) for name in self.feeds.names}
        return {**self.users, **feeds}

    @model_validator(mode="after")
    def _coherent(self) -> Description:
        if sum(account.system for account in self.accounts.values()) != 1:
            raise ValueError("exactly one account must be the system account (system = true)")
        known = {type_name(cls) for cls in EVENT_TYPES}
        if clash := set(self.users) & {f"feed-{name}" for name in self.feeds.names}:
            raise ValueError(f"users {sorted(clash)} are named like feed users")
        for name, user in self.all_users().items():
            account = self.accounts.get(user.account)
            if account is None:
                raise ValueError(f"{name}: no account {user.account!r}")
            if (user.uses_jetstream or user.events) and not account.jetstream:
                raise ValueError(f"{name}: account {user.account} does not have JetStream")
            if unknown := sorted(set(user.events) - known):
                raise ValueError(f"{name}: no event types {unknown} in the catalogue")
            if not user.decides and (decisions := sorted(set(user.events) & DECISION_EVENTS)):
                raise ValueError(
                    f"{name}: {decisions} are decisions of the cell: only a user with "
                    "decides = true may publish them"
                )
        if self.callout is not None:
            auth = self.users.get(self.callout.user)
            if auth is None or auth.account != self.callout.account:
                raise ValueError(
                    f"callout: user {self.callout.user!r} must be a user of account "
                    f"{self.callout.account}"
                )
        return self


def feed_user(name: str, account: str) -> UserSpec:
    """A feed's NATS user: it may publish under its own name only, and read only its replies."""
    # The intake answers a feed's request with the outcomes, on the feed's inbox.
    return UserSpec(
        account=account,
        description=f"feed {name}: sends its inputs to {FEEDS_ROOT}.{name}.>, reads the outcomes",
        publish=(f"{FEEDS_ROOT}.{name}.>",),
        inbox=True,
    )


def load_description(path: Path) -> Description:
    """Read and check a security description (TOML)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Description.model_validate(data)
    except OSError as exc:
        raise SecurityConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SecurityConfigError(f"{path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'description'}: {error['msg']}"
            for error in exc.errors()
        )
        raise SecurityConfigError(f"{path}: {problems}") from None


# -- permissions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Permissions:
    """What nats-server lets one user publish and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool


def _ordered(stream: str) -> set[str]:
    # nats-py's ordered consumers: created (again after a gap) without a name, asked for their
    # info, and they answer the flow control requests of `$JS.FC.<stream>.<consumer>.<id>`.
    return {
        f"{_API}.STREAM.INFO.{stream}",
        f"{_API}.CONSUMER.CREATE.{stream}",
        f"{_API}.CONSUMER.INFO.{stream}.*",
        f"$JS.FC.{stream}.>",
    }


def _durable(stream: str, name: str) -> set[str]:
    # nats-py looks the durable up, creates it under its name (nats-server 2.9 and later: the
    # filter subject follows the name), then pulls and acks its messages.
    return {
        f"{_API}.CONSUMER.INFO.{stream}.{name}",
        f"{_API}.CONSUMER.CREATE.{stream}.{name}",
        f"{_API}.CONSUMER.CREATE.{stream}.{name}.>",
        f"{_API}.CONSUMER.MSG.NEXT.{stream}.{name}",
        f"$JS.ACK.{stream}.{name}.>",
    }


def _read(stream: str) -> set[str]:
    # nats-py's get_msg and get_last_msg ask the stream (not the direct get API) by default.
    return {f"{_API}.STREAM.INFO.{stream}", f"{_API}.STREAM.MSG.GET.{stream}"}


def _object_store(bucket: str) -> set[str]:
    # Put: open (or create) the bucket, look the object up, publish its chunks and metadata,
    # purge the chunks it replaces. Reading objects back is not granted: nothing does it yet.
    stream = f"OBJ_{bucket}"
    return {
        f"$O.{bucket}.>",
        f"{_API}.STREAM.CREATE.{stream}",
        f"{_API}.STREAM.PURGE.{stream}",
        *_read(stream),
    }


def permissions(user: UserSpec) -> Permissions:
    """The subjects nats-server checks for `user`, expanded from its description."""
    publish = {*user.publish, *user.requests}
    publish.update(f"{subjects.LIVE_ROOT}.*.{event}" for event in user.events)
    publish.update(f"{_API}.STREAM.INFO.{stream}" for stream in user.inspect)
    for stream in user.read:
        publish |= _read(stream)
    for stream in user.follow:
        publish |= _ordered(stream)
    for durable in user.durables:
        publish |= _durable(*durable.split("/"))
    for bucket in user.object_stores:
        publish |= _object_store(bucket)
    subscribe = {*user.subscribe, *user.answers}
    if user.inbox:
        # Replies (JetStream acks, API answers, pulled messages, ordered deliveries) come here.
        subscribe.add("_INBOX.>")
    return Permissions(tuple(sorted(publish)), tuple(sorted(subscribe)), bool(user.answers))


# -- secrets ------------------------------------------------------------------------------------


_PASSWORD = re.compile(r"[A-Za-z0-9_-]{24,}")


@dataclass(frozen=True, slots=True)
class Secret:
    """A user's password and its bcrypt hash."""

    password: str
    bcrypt: str


def load_secrets(path: Path) -> dict[str, Secret]:
    """The secrets kept in `path`; none when it does not exist yet."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        kept = {name: Secret(**entry) for name, entry in data["users"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SecurityConfigError(
            f"{path} cannot be read as a secrets file ({exc}); it is never overwritten: "
            "repair it, or move it away to make new secrets"
        ) from None
    for name, secret in kept.items():
        # The password goes into a URL as it is: URL-safe characters only, and not a short one.
        if not _PASSWORD.fullmatch(secret.password):
            raise SecurityConfigError(
                f"{path}: the password of {name} must be at least 24 of A-Z a-z 0-9 _ - "
                "(a URL carries it); empty its bcrypt after changing it by hand"
            )
    return kept


def ensure_secrets(
    path: Path,
    names: Collection[str],
    *,
    cost: int,
    rotate: Collection[str] = (),
    on_new: Callable[[str], None] | None = None,
) -> dict[str, Secret]:
    """A secret for each of `names`: kept from `path`, or made (and added) when missing or rotated.

    An entry whose `bcrypt` is empty (a password set by hand) is hashed again.
    """
    kept = load_secrets(path)
    changed = False
    for name in names:
        old = kept.get(name)
        if old is not None and name not in rotate and old.bcrypt:
            continue
        if on_new is not None:
            on_new(name)
        password = old.password if old and name not in rotate else secrets.token_urlsafe(32)
        kept[name] = Secret(password, bcrypt_hash(password, cost))
        changed = True
    if changed or not path.exists():
        document = {
            "comment": "NATS passwords of crisis-cell users. Secret: mode 0600, never committed.",
            "users": {
                name: {"password": s.password, "bcrypt": s.bcrypt} for name, s in kept.items()
            },
        }
        write_private(path, json.dumps(document, indent=2, sort_keys=True) + "\n", 0o600)
    return {name: kept[name] for name in names}


# -- rendering ----------------------------------------------------------------------------------


def _q(value: str | int) -> str:
    # Quoted, so that `$JS…` subjects and `$2a$…` hashes are not read as variables.
    return json.dumps(value)


def _line(text: str) -> str:
    return " ".join(text.split())


def _rule(kind: str, allowed: tuple[str, ...]) -> list[str]:
    indent = " " * 10
    if not allowed:
        # An empty allow list would restrict nothing: deny everything instead.
        return [f'{indent}{kind}: {{ deny: [">"] }}']
    quoted = [f"{indent}    {_q(subject)}" for subject in allowed]
    return [f"{indent}{kind}: {{", f"{indent}  allow: [", *quoted, f"{indent}  ]", f"{indent}}}"]


def _user_entry(name: str, user: UserSpec, secret: Secret, *, restricted: bool) -> list[str]:
    about = f": {_line(user.description)}" if user.description else ""
    lines = [f"      # {name}{about}", "      {", f"        user: {_q(name)}"]
    lines.append(f"        password: {_q(secret.bcrypt)}")
    if restricted:
        rights = permissions(user)
        lines += [
            "        permissions: {",
            *_rule("publish", rights.publish),
            *_rule("subscribe", rights.subscribe),
        ]
        if rights.allow_responses:
            lines.append("          allow_responses: true")
        lines.append("        }")
    return [*lines, "      }"]


def accounts_config(
    description: Description, passwords: Mapping[str, Secret], issuer: str | None = None
) -> str:
    """The accounts and users part alone: every node of a cluster carries the same.

    With a callout in the description, `issuer` is the public key of the account key that signs
    the auth service's answers."""
    lines = [f"system_account: {_q(description.system_account)}", "accounts {"]
    users = description.all_users()
    for account_name, account in description.accounts.items():
        if account.description:
            lines.append(f"  # {_line(account.description)}")
        lines.append(f"  {account_name} {{")
        if account.jetstream:
            lines.append("    jetstream: enabled")
        lines.append("    users: [")
        for name, user in users.items():
            if user.account == account_name:
                # The system account's users watch the servers: they are not restricted.
                entry = _user_entry(name, user, passwords[name], restricted=not account.system)
                lines += entry
        lines += ["    ]", "  }"]
    lines.append("}")
    if description.callout is not None:
        if issuer is None:
            raise SecurityConfigError("a callout needs the issuer's public key")
        lines += [
            "",
            "# People connect through the auth service (auth callout); the users above bypass it.",
            "authorization {",
            "  auth_callout {",
            f"    issuer: {_q(issuer)}",
            f"    account: {_q(description.callout.account)}",
            f"    auth_users: [{', '.join(_q(name) for name in users)}]",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def _server(server: ServerSpec) -> list[str]:
    lines = [
        f"server_name: {_q(server.name)}",
        f"listen: {_q(f'{server.host}:{server.port}')}",
        f"max_payload: {int(server.max_payload)}",
    ]
    if server.log_file:
        lines.append(f"log_file: {_q(server.log_file)}")
    if server.monitoring_port:
        lines.append(f"http: {_q(f'127.0.0.1:{server.monitoring_port}')}")
    else:
        lines.append("# Monitoring closed: no http listener (monitoring_port in the description).")
    lines += ["", "jetstream {", f"  store_dir: {_q(server.store_dir)}"]
    if server.max_file_store is not None:
        lines.append(f"  max_file_store: {int(server.max_file_store)}")
    if server.max_memory_store is not None:
        lines.append(f"  max_memory_store: {int(server.max_memory_store)}")
    lines += ["}", ""]
    tls = server.tls
    if not tls.enabled:
        return [*lines, "# TLS off: no cert_file and key_file in the description."]
    lines += [
        "tls {",
        f"  cert_file: {_q(str(tls.cert_file))}",
        f"  key_file: {_q(str(tls.key_file))}",
    ]
    if tls.ca_file:
        lines.append(f"  ca_file: {_q(tls.ca_file)}")
    return [*lines, f"  verify: {str(tls.verify).lower()}", f"  timeout: {tls.timeout_s:g}", "}"]


def server_config(
    description: Description, passwords: Mapping[str, Secret], issuer: str | None = None
) -> str:
    """The nats-server configuration: server, JetStream, TLS, accounts, users, permissions."""
    head = [
        "# crisis-cell: nats-server with accounts, users and subject permissions.",
        "# Generated by `crisis infra nats-config` from the security description: edit that.",
        "# No user without a password: a client that does not authenticate is refused.",
        "",
    ]
    server = "\n".join([*head, *_server(description.server)])
    return f"{server}\n\n{accounts_config(description, passwords, issuer)}"


def credentials(name: str, user: UserSpec, secret: Secret, server: ServerSpec) -> str:
    """One user's env file: the URL the services read, and the `nats` CLI's variables."""
    scheme = "tls" if server.tls.enabled else "nats"
    address = f"{server.client_host}:{server.port}"
    lines = [
        f"# NATS user {name} (account {user.account}): {_line(user.description)}",
        "# Generated by `crisis infra nats-config`. A secret: mode 0600, never committed.",
        f"CRISIS_NATS_URL={scheme}://{name}:{secret.password}@{address}",
        f"NATS_URL={scheme}://{address}",
        f"NATS_USER={name}",
        f"NATS_PASSWORD={secret.password}",
    ]
    if server.tls.ca_file:
        lines.append(f"NATS_CA={server.tls.ca_file}")
    return "\n".join(lines) + "\n"


# -- files --------------------------------------------------------------------------------------


def ensure_issuer(path: Path) -> KeyPair:
    """The account key that signs the auth service's answers: kept in `path` (0600), or made."""
    if path.exists():
        try:
            return KeyPair.from_seed(path.read_text(encoding="ascii").strip())
        except (OSError, NkeyError) as exc:
            raise SecurityConfigError(
                f"{path} holds no account seed ({exc}); it is never overwritten: move it away "
                "to make a new one (people then log in again)"
            ) from None
    key = KeyPair.generate(PREFIX_ACCOUNT)
    write_private(path, key.seed + "\n", 0o600)
    return key


@dataclass(frozen=True, slots=True)
class Generated:
    """What `generate` wrote, and which users got a new secret."""

    config: Path
    credentials: tuple[Path, ...]
    secrets: Path
    new_secrets: tuple[str, ...]


def generate(
    description: Description,
    out: Path,
    *,
    rotate: Collection[str] = (),
    on_new: Callable[[str], None] | None = None,
) -> Generated:
    """Write `server.conf`, one env file per user and the secrets file under `out`."""
    users = description.all_users()
    if unknown := sorted(set(rotate) - set(users)):
        raise SecurityConfigError(f"cannot rotate {unknown}: no such users in the description")
    made: list[str] = []

    def note(name: str) -> None:
        made.append(name)
        if on_new is not None:
            on_new(name)

    passwords = ensure_secrets(
        out / SECRETS_FILE,
        list(users),
        cost=description.server.bcrypt_cost,
        rotate=rotate,
        on_new=note,
    )
    issuer = None
    if description.callout is not None:
        issuer = ensure_issuer(out / ISSUER_FILE).public_key
    # The server reads its configuration; the hashes in it are of 256-bit random secrets.
    write_private(out / CONFIG_FILE, server_config(description, passwords, issuer), 0o640)
    write_private(
        out / ".gitignore",
        f"# Secrets: kept on the host, never committed.\n/{SECRETS_FILE}\n/{USERS_DIR}/\n"
        f"/{ISSUER_FILE}\n",
        0o644,
    )
    (out / USERS_DIR).mkdir(mode=0o700, exist_ok=True)
    written = []
    for name, user in users.items():
        path = out / USERS_DIR / f"{name}.env"
        write_private(path, credentials(name, user, passwords[name], description.server), 0o600)
        written.append(path)
    return Generated(out / CONFIG_FILE, tuple(written), out / SECRETS_FILE, tuple(made))


def client_url(credentials_file: Path) -> str:
    """The `CRISIS_NATS_URL` of a generated env file."""
    for line in credentials_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key == "CRISIS_NATS_URL":
            return value
    raise SecurityConfigError(f"{credentials_file} holds no CRISIS_NATS_URL")
