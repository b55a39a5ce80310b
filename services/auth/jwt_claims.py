"""The claims of auth callout's JWTs (ADR-26 of nats-io/nats-architecture-and-design)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from services.auth.nkeys import PREFIX_SERVER, KeyPair, NkeyError, decode_jwt, encode_jwt

REQUEST_AUDIENCE = "nats-authorization-request"


class AuthorizationRequest:
    """What nats-server asks about one connecting client."""

    def __init__(self, claims: dict[str, Any]) -> None:
        body = claims.get("nats") or {}
        if claims.get("aud") != REQUEST_AUDIENCE or body.get("type") != "authorization_request":
            raise NkeyError("not an authorization request")
        self.user_nkey: str = str(body.get("user_nkey", ""))
        self.server_id: str = str((body.get("server_id") or {}).get("id", ""))
        self.options: dict[str, Any] = dict(body.get("connect_opts") or {})
        self.address: str = str((body.get("client_info") or {}).get("host", ""))
        if not self.user_nkey or not self.server_id:
            raise NkeyError("an authorization request names its user key and its server")
        expires = claims.get("exp")
        if isinstance(expires, int) and expires < time.time():
            raise NkeyError("an expired authorization request")

    @classmethod
    def read(cls, token: bytes) -> AuthorizationRequest:
        """Check the server's signature and read the request."""
        return cls(decode_jwt(token.decode("ascii", "replace"), issuer_prefix=PREFIX_SERVER))


def user_jwt(
    request: AuthorizationRequest,
    issuer: KeyPair,
    *,
    name: str,
    account: str,
    permissions: dict[str, Any],
    now: datetime,
    expires_at: datetime,
) -> str:
    """The user JWT that places the client in `account` with `permissions` until `expires_at`."""
    claims = {
        "sub": request.user_nkey,
        "aud": account,
        "name": name,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "nats": {
            **permissions,
            "subs": -1,
            "data": -1,
            "payload": -1,
            "type": "user",
            "version": 2,
        },
    }
    return encode_jwt(claims, issuer)


def response(
    request: AuthorizationRequest, issuer: KeyPair, *, jwt: str = "", error: str = "", now: datetime
) -> bytes:
    """The signed authorization response: the user JWT, or an error."""
    claims = {
        "sub": request.user_nkey,
        "aud": request.server_id,
        "iat": int(now.timestamp()),
        "nats": {"jwt": jwt, "error": error, "type": "authorization_response", "version": 2},
    }
    return encode_jwt(claims, issuer).encode()
