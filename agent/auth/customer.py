"""Customer tokens: HS256 JWTs signed with the shop's secret; ``sub`` is the store's user id."""

from __future__ import annotations

import math
import time
from typing import Any

import jwt

#: Only this algorithm is accepted on verification: a token cannot pick its own (e.g. ``none``).
ALGORITHM = "HS256"
#: HS256 with a short key is brute-forceable offline; the shop's secret must be at least this long.
MIN_SECRET_BYTES = 32
#: The dates a token must carry; ``nbf`` is optional and honoured when present.
_REQUIRED_DATES = ("iat", "exp")


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
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", *_REQUIRED_DATES]})
    except jwt.ExpiredSignatureError as exc:
        raise CustomerTokenError("customer token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise CustomerTokenError(f"invalid customer token: {exc}") from exc
    for name in (*_REQUIRED_DATES, "nbf"):
        if name in claims and not _numeric_date(claims[name]):
            raise CustomerTokenError(f"invalid customer token: {name} is not a NumericDate")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise CustomerTokenError("invalid customer token: no subject")
    return sub


def _numeric_date(value: Any) -> bool:
    """RFC 7519 NumericDate: a JSON number of seconds.

    PyJWT checks the dates through ``int(value)``, which also takes the string "9999999999" (a token that never
    expires) and ``true``; only a finite number is a date the shop could have minted.
    """
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
