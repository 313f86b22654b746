"""Who uses the web UI: operators log in with the password, customers arrive with the shop's customer token.

Kept free of Chainlit imports (``deskgraph ui`` checks the bind address with it before starting anything).
Operators and customers are different Chainlit users: a customer's identifier is ``customer:<store user id>``
(an operator login never gets that prefix), so the two can never share a thread history.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Literal

from agent.auth import CustomerTokenError, verify_customer_token
from agent.auth.customer import MIN_SECRET_BYTES
from agent.settings import Settings

Role = Literal["operator", "customer"]

#: The identifier prefix of customers (header auth); operator usernames may not start with it.
CUSTOMER_PREFIX = "customer:"


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public interface


def password_login_on(settings: Settings) -> bool:
    """The operator's password login is configured."""
    return settings.ui_auth and bool(settings.ui_password.get_secret_value())


def customer_login_on(settings: Settings) -> bool:
    """Customers can arrive through header auth (the shop's token secret is set and long enough)."""
    return len(settings.customer_token_secret.get_secret_value().encode()) >= MIN_SECRET_BYTES


def startup_problem(settings: Settings, host: str) -> str | None:
    """Why the web UI must not start as configured, or None.

    Beyond loopback a login is required: without one anyone who reaches the port chats with the shop's data
    and reads the tool results. Loopback keeps the no-login local demo.
    """
    secret = settings.customer_token_secret.get_secret_value()
    if secret and not customer_login_on(settings):
        return f"DESKGRAPH_CUSTOMER_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes"
    if settings.ui_auth and not settings.ui_password.get_secret_value():
        return "DESKGRAPH_UI_AUTH is on: set DESKGRAPH_UI_PASSWORD too"
    if settings.ui_username.startswith(CUSTOMER_PREFIX):
        return f"DESKGRAPH_UI_USERNAME may not start with {CUSTOMER_PREFIX!r} (that names customers)"
    if not is_loopback(host) and not (password_login_on(settings) or customer_login_on(settings)):
        return (f"refusing to serve the web chat on {host} without a login. Set DESKGRAPH_UI_AUTH=true and "
                "DESKGRAPH_UI_PASSWORD (operators), and/or DESKGRAPH_CUSTOMER_TOKEN_SECRET (customers arriving "
                "from the shop with a token), or listen on 127.0.0.1 for a local demo without login.")
    return None


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def customer_from_headers(headers: Mapping[str, str], secret: str) -> str | None:
    """The store user id a request's customer token stands for, or None when it proves nothing."""
    token = bearer_token(headers)
    if not token:
        return None
    try:
        return verify_customer_token(token, secret)
    except CustomerTokenError:
        return None


def customer_identifier(customer_id: str) -> str:
    """The Chainlit user identifier of a customer."""
    return CUSTOMER_PREFIX + customer_id


def role_of(identifier: str | None) -> Role | None:
    """The role of a Chainlit user identifier (None: no login, the local demo)."""
    if identifier is None:
        return None
    return "customer" if identifier.startswith(CUSTOMER_PREFIX) else "operator"


def customer_id_of(identifier: str | None) -> str | None:
    """The store user id behind a customer's identifier (None for operators and the local demo)."""
    if identifier is not None and identifier.startswith(CUSTOMER_PREFIX):
        return identifier[len(CUSTOMER_PREFIX):]
    return None

