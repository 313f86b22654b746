"""The checks in front of deskgraph's servers, installed the same way on the API and on Chainlit's app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware

from agent.settings import Settings
from agent.web.hosts import allowed_hosts
from agent.web.proxies import ForwardedHeaders, parse_proxies


def guard(app: Starlette, settings: Settings, bind_host: str) -> None:
    """Answer only allowed Host names (400 otherwise), believing X-Forwarded-* only from trusted proxies.

    Call it after every other ``add_middleware``: Starlette runs the middleware added last first, and these must
    run before CORS, the login limit and the routes, so that a foreign Host gets its 400 before any CORS header is
    written and the proxy headers are settled before anything reads the client address or the Host.
    Raises ``ProxyError`` for a malformed DESKGRAPH_TRUSTED_PROXIES.
    """
    trusted = parse_proxies(settings.trusted_proxies)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings, bind_host))
    app.add_middleware(ForwardedHeaders, trusted=trusted)  # outermost: the Host it settles is the one checked
