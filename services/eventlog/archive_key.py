"""The ed25519 key that signs archives: kept in a private file, named by its fingerprint.

Signatures and keys come from `cryptography`; nothing here is hand-made crypto. What is signed
is a domain-separated, canonical text of a JSON object (`signed_text`), so a signature made for
one kind of line (a checkpoint) is never valid for another (a header).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.runtime.files import write_private

_DOMAIN = b"crisis-cell archive signature v1\n"


class ArchiveKeyError(ValueError):
    """A key file that cannot be used, with the reason."""


def key_id(public: bytes) -> str:
    """The fingerprint of a raw public key: `ed25519:` and the first 32 hex digits of its
    SHA-256 (128 bits), what an operator compares."""
    return "ed25519:" + hashlib.sha256(public).hexdigest()[:32]


def signed_text(kind: str, body: dict[str, Any]) -> bytes:
    """What a signature covers: the domain, the kind of line, and the body's canonical JSON."""
    return _DOMAIN + kind.encode() + b"\n" + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key that signs archives, with its raw public key and fingerprint."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        """The public key's fingerprint."""
        return key_id(self.public)

    def sign(self, kind: str, body: dict[str, Any]) -> str:
        """The base64 signature of a line's body."""
        return base64.b64encode(self.private.sign(signed_text(kind, body))).decode()

    def public_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo), for `--public-key`."""
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate())


def load_or_create(path: Path) -> tuple[SigningKey, bool]:
    """The key kept at `path` (PEM, PKCS #8), created there (0600) when there is none; and
    whether it was created."""
    if path.exists():
        return load(path), False
    key = SigningKey.generate()
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem.decode(), 0o600)
    return key, True


def load(path: Path) -> SigningKey:
    """The signing key kept at `path`."""
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ArchiveKeyError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ArchiveKeyError(f"{path}: not an ed25519 key")
    return SigningKey(private)


def public_from_text(text: str) -> bytes:
    """A raw public key from a PEM public key (`crisis log key --out`) or the base64 of the
    32 raw bytes (as an archive's header carries it)."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            public = serialization.load_pem_public_key(stripped.encode())
        except ValueError as exc:
            raise ArchiveKeyError(f"not a PEM public key ({exc})") from None
        if not isinstance(public, Ed25519PublicKey):
            raise ArchiveKeyError("not an ed25519 public key")
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(stripped, validate=True)
    except binascii.Error:
        raise ArchiveKeyError("neither a PEM public key nor base64") from None
    if len(raw) != 32:
        raise ArchiveKeyError(f"an ed25519 public key is 32 bytes, not {len(raw)}")
    return raw


def signature_holds(public: bytes, kind: str, body: dict[str, Any], signature: object) -> bool:
    """Whether `signature` (base64) is `public`'s signature of the line's body."""
    if not isinstance(signature, str):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(raw, signed_text(kind, body))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
