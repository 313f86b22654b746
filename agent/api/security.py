"""Who is calling: bearer tokens to principals, role checks, and where the service may listen.

Which Host names it answers and which proxies it believes: agent/web (shared with the web UI).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent.auth import OperatorTokens, Principal, authenticate, is_operator_token
from agent.settings import Settings
from graphs.blocking import off_loop

_bearer = HTTPBearer(auto_error=False, description="An operator token (deskgraph tokens operator NAME) or a "
                                                   "customer token signed with DESKGRAPH_CUSTOMER_TOKEN_SECRET.")
#: With DESKGRAPH_API_AUTH=off (loopback only) every caller is this operator.
LOCAL_OPERATOR = Principal.operator("local")


def is_loopback(host: str) -> bool:
    """True for names and addresses only this machine can reach."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_auth_mode(settings: Settings, bind_host: str) -> None:
    """Refuse to run without authentication on anything but a loopback address."""
    if settings.api_auth == "off" and not is_loopback(bind_host):
        raise SystemExit(f"refusing to serve {bind_host} with DESKGRAPH_API_AUTH=off: without authentication the "
                         "API may only listen on a loopback address (127.0.0.1, ::1, localhost)")


async def principal(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; 401 without valid credentials."""
    settings: Settings = request.app.state.settings
    if settings.api_auth == "off":
        return LOCAL_OPERATOR
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    operators: OperatorTokens = request.app.state.operator_tokens
    token = credentials.credentials
    if is_operator_token(token):  # a lookup in the store: off the loop, on the turns' own executor
        found = await off_loop(authenticate, token, settings, operators)
    else:  # a customer token's signature is checked in microseconds: a thread hop would cost more
        found = authenticate(token, settings, operators)
    if found is None:
        raise HTTPException(401, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    return found


async def operator(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    """An operator caller; 403 for customers."""
    if not caller.is_operator:
        raise HTTPException(403, "operators only")
    return caller


Caller = Annotated[Principal, Depends(principal)]
Operator = Annotated[Principal, Depends(operator)]
