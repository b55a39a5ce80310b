"""NATS nkeys and JWTs: ed25519 keys in NATS's text form, and the JWTs auth callout exchanges.

nats-server's auth callout sends an authorization request as a JWT it signed, and takes back an
authorization response (holding a user JWT) signed by the issuer account's key. Both are
`header.claims.signature`, base64url without padding, signed with ed25519 ("ed25519-nkey").
Keys are written as NATS does: a prefix byte naming the kind of key, the 32 key bytes and a
CRC-16 (XMODEM), in base32 without padding; a seed (the private part) starts with `S`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX_SEED = 18 << 3
PREFIX_ACCOUNT = 0
PREFIX_SERVER = 13 << 3
PREFIX_USER = 20 << 3


class NkeyError(ValueError):
    """A key or a JWT that cannot be read or whose signature does not hold."""


def _crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0)  # CRC-16/XMODEM, as nkeys computes it


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise NkeyError("not an nkey: bad base32") from None


def _checked(text: str) -> bytes:
    raw = _unb32(text)
    if len(raw) < 3 or _crc16(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
        raise NkeyError("not an nkey: bad checksum")
    return raw[:-2]


def encode_public(prefix: int, key: bytes) -> str:
    """A public key (account `A…`, user `U…`, server `N…`) in NATS's text form."""
    body = bytes([prefix]) + key
    return _b32(body + _crc16(body).to_bytes(2, "little"))


def decode_public(text: str) -> tuple[int, bytes]:
    """The prefix and the 32 key bytes of a public nkey."""
    raw = _checked(text)
    if len(raw) != 33:
        raise NkeyError("not a public nkey")
    return raw[0], raw[1:]


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An ed25519 key pair of one kind (its prefix)."""

    prefix: int
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, prefix: int) -> KeyPair:
        """A new random key pair."""
        return cls(prefix, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: str) -> KeyPair:
        """The key pair of a seed (`SA…` for an account, `SU…` for a user)."""
        raw = _checked(seed)
        if len(raw) != 34 or raw[0] & 0xF8 != PREFIX_SEED:
            raise NkeyError("not an nkey seed")
        prefix = ((raw[0] & 7) << 5) | (raw[1] >> 3)
        return cls(prefix, Ed25519PrivateKey.from_private_bytes(raw[2:]))

    @property
    def seed(self) -> str:
        """The seed, NATS's text form of the private key: a secret."""
        body = bytes([PREFIX_SEED | (self.prefix >> 5), (self.prefix & 31) << 3])
        body += self.private.private_bytes_raw()
        return _b32(body + _crc16(body).to_bytes(2, "little"))

    @property
    def public_key(self) -> str:
        """The public key in text form."""
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return encode_public(self.prefix, raw)

    def sign(self, data: bytes) -> bytes:
        """The ed25519 signature of `data`."""
        return self.private.sign(data)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise NkeyError("not a JWT: bad base64") from None


_HEADER = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}, separators=(",", ":")).encode())


def encode_jwt(claims: dict[str, Any], issuer: KeyPair) -> str:
    """`claims` signed by `issuer` (its public key set as `iss`, and a `jti` of the claims)."""
    body = {**claims, "iss": issuer.public_key, "jti": ""}
    compact = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    body["jti"] = _b32(hashlib.sha256(compact).digest())
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{_HEADER}.{payload}"
    return f"{signed}.{_b64(issuer.sign(signed.encode()))}"


def decode_jwt(token: str, *, issuer_prefix: int | None = None) -> dict[str, Any]:
    """The claims of a JWT whose signature holds for the public key in its `iss`."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise NkeyError("not a JWT")
    try:
        claims = json.loads(_unb64(parts[1]))
        header = json.loads(_unb64(parts[0]))
    except ValueError:
        raise NkeyError("not a JWT: bad JSON") from None
    if not isinstance(claims, dict) or header.get("alg") != "ed25519-nkey":
        raise NkeyError("not a NATS JWT")
    prefix, key = decode_public(str(claims.get("iss", "")))
    if issuer_prefix is not None and prefix != issuer_prefix:
        raise NkeyError("the JWT's issuer is not of the expected kind")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            _unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode()
        )
    except InvalidSignature:
        raise NkeyError("the JWT's signature does not hold") from None
    return claims
