"""The auth callout's pure parts: nkeys and JWTs, principals' subjects, the gate's decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.auth.callout import (
    Admitted,
    Gate,
    Turned,
    inbox_prefix,
    login_subject,
    logout_subject,
    person_permissions,
)
from services.auth.nkeys import (
    PREFIX_ACCOUNT,
    PREFIX_SERVER,
    PREFIX_USER,
    KeyPair,
    NkeyError,
    decode_jwt,
    encode_jwt,
)
from services.auth.passwords import dummy_hash
from services.auth.principals import Kind, Principal, act_subject, ident_of, subject_token
from services.cell.people import People, Person, Role, hash_password

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_a_seed_gives_back_its_key_and_public_keys_name_their_kind() -> None:
    account = KeyPair.generate(PREFIX_ACCOUNT)
    again = KeyPair.from_seed(account.seed)
    assert again.public_key == account.public_key
    assert account.seed.startswith("SA")
    assert account.public_key.startswith("A")
    assert KeyPair.generate(PREFIX_USER).public_key.startswith("U")
    assert KeyPair.generate(PREFIX_SERVER).public_key.startswith("N")


def test_a_damaged_seed_is_refused_by_its_checksum() -> None:
    seed = KeyPair.generate(PREFIX_ACCOUNT).seed
    damaged = seed[:10] + ("A" if seed[10] != "A" else "B") + seed[11:]
    with pytest.raises(NkeyError):
        KeyPair.from_seed(damaged)


def test_a_jwt_holds_only_for_its_issuers_signature() -> None:
    issuer = KeyPair.generate(PREFIX_ACCOUNT)
    token = encode_jwt({"sub": "someone", "nats": {"pub": {"allow": ["a"]}}}, issuer)
    claims = decode_jwt(token, issuer_prefix=PREFIX_ACCOUNT)
    assert claims["iss"] == issuer.public_key
    assert claims["sub"] == "someone"
    header, _payload, signature = token.split(".")
    # Widening the permissions after signing breaks the signature.
    forged = encode_jwt({"sub": "someone", "nats": {"pub": {"allow": [">"]}}}, issuer)
    with pytest.raises(NkeyError, match="signature"):
        decode_jwt(f"{header}.{forged.split('.')[1]}.{signature}")
    with pytest.raises(NkeyError, match="kind"):
        decode_jwt(token, issuer_prefix=PREFIX_SERVER)


@given(st.text(min_size=1, max_size=40))
def test_every_identity_has_one_subject_token_that_gives_it_back(ident: str) -> None:
    token = subject_token(ident)
    assert ident_of(token) == ident
    assert not any(c in token for c in ".*> \t\n")


def test_two_identities_never_share_a_token() -> None:
    assert subject_token("op.martin") != subject_token("op_martin")
    assert subject_token("op.martin") != subject_token("op-martin")


def test_a_person_may_publish_only_their_own_acts_and_read_only_their_own_inbox() -> None:
    rules = person_permissions(Principal("op.martin", Role.OPERATOR))
    assert act_subject("op.martin") in rules["pub"]["allow"]
    assert not any(s.startswith("crisis.") for s in rules["pub"]["allow"])
    assert all(s not in {"cell.act.*", "cell.act.>"} for s in rules["pub"]["allow"])
    # No JetStream API: a consumer's creator picks where it is delivered, and could replace
    # the event log's durable.
    assert not any(s.startswith("$JS") for s in rules["pub"]["allow"])
    assert rules["sub"]["allow"] == [f"{inbox_prefix('op.martin')}.>", "crisis.>"]
    # A feed's principal reads nothing.
    feed = person_permissions(Principal("capteur", Role.FEED, Kind.FEED))
    assert feed["sub"]["allow"] == [f"{inbox_prefix('capteur')}.>"]


def test_only_a_password_connection_may_open_a_session() -> None:
    principal = Principal("dircab", Role.DIRECTOR)
    by_token = person_permissions(principal)["pub"]["allow"]
    by_password = person_permissions(principal, by_password=True)["pub"]["allow"]
    assert login_subject("dircab") not in by_token
    assert login_subject("dircab") in by_password
    assert logout_subject("dircab") in by_token


class _Verifier:
    """The argon2 check, counted: the gate must do the same work for everyone."""

    def __init__(self) -> None:
        self.hashes: list[str] = []

    def __call__(self, hashed: str, password: str) -> bool:
        self.hashes.append(hashed)
        return hashed != dummy_hash() and password == PASSWORD


@pytest.fixture(scope="module")
def people() -> People:
    hashed = hash_password(PASSWORD)
    return People(
        {
            "dircab": Person("dircab", Role.DIRECTOR, password=hashed),
            "ancien": Person("ancien", Role.OPERATOR, enabled=False, password=hashed),
        }
    )


async def _no_session(_token: str) -> None:
    return None


def _gate(people: People, verifier: _Verifier) -> Gate:
    return Gate(lambda: people, _no_session, verify=verifier)


async def test_the_right_password_admits_the_person_for_a_short_connection(people: People) -> None:
    verifier = _Verifier()
    verdict = await _gate(people, verifier).decide(
        {"user": "dircab", "pass": PASSWORD}, "10.0.0.1", NOW
    )
    assert isinstance(verdict, Admitted)
    assert verdict.principal == Principal("dircab", Role.DIRECTOR)
    assert verdict.by_password
    assert verdict.expires_at - NOW <= timedelta(minutes=5)


async def test_unknown_and_disabled_people_cost_the_same_argon2_check(people: People) -> None:
    verifier = _Verifier()
    gate = _gate(people, verifier)
    for ident in ("dircab", "personne", "ancien"):
        verdict = await gate.decide({"user": ident, "pass": "wrong password"}, "10.0.0.1", NOW)
        assert isinstance(verdict, Turned)
    assert len(verifier.hashes) == 3
    assert verifier.hashes[1] == dummy_hash()
    # A disabled person is not even checked against their own hash.
    assert verifier.hashes[2] == dummy_hash()


async def test_after_five_wrong_passwords_even_the_right_one_waits(people: People) -> None:
    verifier = _Verifier()
    gate = _gate(people, verifier)
    for _ in range(5):
        await gate.decide({"user": "dircab", "pass": "guess"}, "10.0.0.9", NOW)
    checked = len(verifier.hashes)
    verdict = await gate.decide({"user": "DIRCAB", "pass": PASSWORD}, "10.0.0.8", NOW)
    assert isinstance(verdict, Turned)
    assert "too many" in verdict.reason
    assert len(verifier.hashes) == checked  # refused before any check
    later = await gate.decide(
        {"user": "dircab", "pass": PASSWORD}, "10.0.0.8", NOW + timedelta(hours=1)
    )
    assert isinstance(later, Admitted)


async def test_a_session_token_admits_until_the_connection_is_due_again(people: People) -> None:
    principal = Principal("dircab", Role.DIRECTOR)

    async def sessions(token: str) -> tuple[Principal, datetime] | None:
        return (principal, NOW + timedelta(hours=8)) if token == "ccs_good" else None

    gate = Gate(lambda: people, sessions, connection=timedelta(minutes=10))
    admitted = await gate.decide({"auth_token": "ccs_good"}, "10.0.0.1", NOW)
    assert admitted == Admitted(principal, NOW + timedelta(minutes=10), by_password=False)
    turned = await gate.decide({"auth_token": "ccs_revoked"}, "10.0.0.1", NOW)
    assert isinstance(turned, Turned)
    assert isinstance(await gate.decide({}, "10.0.0.1", NOW), Turned)
