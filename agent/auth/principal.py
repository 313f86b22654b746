"""The principal: who a request acts for, resolved from a bearer token."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from agent.auth.customer import CustomerTokenError, verify_customer_token
from agent.auth.operators import PREFIX, OperatorTokens
from agent.settings import Settings

log = logging.getLogger(__name__)

Role = Literal["operator", "customer"]


@dataclass(frozen=True)
class Principal:
    """An operator (by name) or a customer (by the store's user id)."""

    role: Role
    name: str

    @property
    def is_operator(self) -> bool:
        """Operators see and act on every thread."""
        return self.role == "operator"

    @property
    def customer_id(self) -> str | None:
        """The store user id a customer principal stands for (None for operators)."""
        return self.name if self.role == "customer" else None

    @classmethod
    def operator(cls, name: str) -> Principal:
        """An operator principal."""
        return cls("operator", name)

    @classmethod
    def customer(cls, user_id: str) -> Principal:
        """A customer principal."""
        return cls("customer", user_id)


def is_operator_token(token: str) -> bool:
    """Whether the token claims to be an operator's (checking it reads the store; a customer token's does not)."""
    return token.strip().startswith(PREFIX)


def authenticate(token: str, settings: Settings, operators: OperatorTokens | None = None) -> Principal | None:
    """The principal a bearer token stands for, or None when it proves nothing."""
    token = token.strip()
    if not token:
        return None
    if is_operator_token(token):
        name = (operators or OperatorTokens(settings.store_location, settings.sqlite_busy_timeout_ms)).verify(token)
        return Principal.operator(name) if name else None
    secret = settings.customer_token_secret.get_secret_value()
    if not secret:
        return None  # customer tokens are off until the shop configures its secret
    try:
        return Principal.customer(verify_customer_token(token, secret))
    except CustomerTokenError as exc:
        log.info("customer token refused: %s", exc)
        return None
