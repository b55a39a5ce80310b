"""Password checks shared by every login (console, `crisis login` through NATS): one argon2
verifier, a dummy hash so an unknown person costs the same as a known one, and a throttle."""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.cell.people import People, Person, hash_password

Verifier = Callable[[str, str], bool]
"""Whether a password (second) matches an argon2 hash (first)."""

# Verifying reads the parameters from the hash itself: this hasher checks any argon2 hash.
_VERIFIER = PasswordHasher()


def verify_password(hashed: str, password: str) -> bool:
    """True when `password` is the one `hashed` was made from."""
    try:
        return _VERIFIER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """An argon2id hash of a random password, made once by the people file's own hasher."""
    return hash_password(secrets.token_urlsafe(24))


def fingerprint(hashed: str | None) -> str:
    """What a session remembers of its person's password hash, to end when it changes."""
    return hashlib.sha256((hashed or "").encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Refused:
    """A login refused: a wrong password, or too many of them (try again in `retry_after` s)."""

    retry_after: int = 0


class Throttle:
    """Failed logins per key: past `free` of them within `window`, a wait that doubles each time."""

    def __init__(
        self,
        *,
        free: int,
        window: timedelta = timedelta(minutes=15),
        first: timedelta = timedelta(seconds=2),
        longest: timedelta = timedelta(minutes=15),
        keep: int = 10_000,
    ) -> None:
        self.free = free
        self.window = window
        self.first = first
        self.longest = longest
        self.keep = keep  # keys remembered at most: guessed names must not fill the memory
        self._failures: dict[str, deque[datetime]] = {}

    def wait(self, key: str, now: datetime) -> timedelta | None:
        """How long `key` must still wait before its next attempt; None: it may try now."""
        failures = self._recent(key, now, remember=False)
        if len(failures) < self.free:
            return None
        doublings = min(len(failures) - self.free, 16)
        until = failures[-1] + min(self.first * 2**doublings, self.longest)
        return until - now if until > now else None

    def failed(self, key: str, now: datetime) -> None:
        """Count a failed attempt of `key`."""
        if key not in self._failures and len(self._failures) >= self.keep:
            self._forget_old(now)
        self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        """Forget the failures of `key`."""
        self._failures.pop(key, None)

    def _recent(self, key: str, now: datetime, *, remember: bool = True) -> deque[datetime]:
        failures = self._failures.get(key) or deque(maxlen=self.free + 32)
        if remember:
            self._failures[key] = failures
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def _forget_old(self, now: datetime) -> None:
        for key in [k for k, f in self._failures.items() if not f or now - f[-1] > self.window]:
            del self._failures[key]
        while len(self._failures) >= self.keep:  # still full: the oldest go first
            del self._failures[min(self._failures, key=lambda k: self._failures[k][-1])]


class PasswordCheck:
    """One login check for every way in (the console, `crisis login` through NATS).

    The throttle first (a refused attempt is not even verified), then the same argon2 work
    whether the person exists, is disabled or may not log in here, off the event loop.
    """

    def __init__(
        self,
        people: Callable[[], People],
        *,
        verify: Verifier = verify_password,
        accounts: Throttle | None = None,
        addresses: Throttle | None = None,
    ) -> None:
        self.people = people
        self.verify = verify
        self.accounts = accounts or Throttle(free=5)
        # A whole cell may sit behind one address: more room there than for one account.
        self.addresses = addresses or Throttle(free=20)
        dummy_hash()  # made now, not during the first login of an unknown person

    async def check(
        self,
        ident: str,
        password: str,
        address: str,
        now: datetime,
        *,
        admits: Callable[[Person], bool] = lambda _person: True,
    ) -> Person | Refused:
        """The person whose password this is (and whom `admits`); why not otherwise."""
        account = ident.casefold()
        waits = [
            w for w in (self.accounts.wait(account, now), self.addresses.wait(address, now)) if w
        ]
        if waits:
            return Refused(max(1, math.ceil(max(waits).total_seconds())))
        person = self.people().find(ident)
        if person is not None and not admits(person):
            person = None
        hashed = person.password if person is not None else None
        # Hashing is slow on purpose; off the event loop, so other requests go on meanwhile.
        right = await asyncio.to_thread(self.verify, hashed or dummy_hash(), password)
        if person is None or hashed is None or not right:
            self.accounts.failed(account, now)
            self.addresses.failed(address, now)
            return Refused()
        self.accounts.succeeded(account)
        return person
