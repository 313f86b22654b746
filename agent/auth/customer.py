"""Customer tokens: HS256 JWTs signed with the shop's secret; ``sub`` is the store's user id."""

from __future__ import annotations

import time

import jwt

#: Only this algorithm is accepted on verification: a token cannot pick its own (e.g. ``none``).
ALGORITHM = "HS256"
#: HS256 with a short key is brute-forceable offline; the shop's secret must be at least this long.
MIN_SECRET_BYTES = 32


class CustomerTokenError(ValueError):
    """The customer token is missing, malformed, expired, or not signed with the shop's secret."""


def _key(secret: str) -> bytes:
    key = secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise CustomerTokenError(
            f"DESKGRAPH_CUSTOMER_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes (customer tokens are off)"
        )
    return key


def mint_customer_token(user_id: str, secret: str, ttl_seconds: int = 3600) -> str:
    """A token saying "this is customer ``user_id``", valid for ``ttl_seconds``."""
    if not user_id:
        raise CustomerTokenError("a customer token needs a user id")
    if ttl_seconds <= 0:
        raise CustomerTokenError("ttl_seconds must be positive")
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + int(ttl_seconds)}, _key(secret), algorithm=ALGORITHM)


def verify_customer_token(token: str, secret: str) -> str:
    """The user id the token was minted for; raises ``CustomerTokenError`` for anything else."""
    key = _key(secret)
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise CustomerTokenError("customer token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise CustomerTokenError(f"invalid customer token: {exc}") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise CustomerTokenError("invalid customer token: no subject")
    return sub
