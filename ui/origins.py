"""Which web origins may talk to the web UI: the page's own, plus the ones configured (a shop embedding the chat).

Chainlit 2.12 builds its CORS middleware from ``allow_origins`` in ``.chainlit/config.toml`` with
``allow_credentials=True`` (so ``["*"]`` let any site read answers with the visitor's login cookie), and its
socket.io server checks no origin at all (``cors_allowed_origins=[]``). ``restrict_origins`` replaces both with
``DESKGRAPH_UI_ALLOW_ORIGINS``: the listed origins, and the page's own host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware


class OriginError(ValueError):
    """A configured origin is not of the form scheme://host[:port]."""


def parse_origins(text: str) -> tuple[str, ...]:
    """The origins of the setting (comma- or space-separated), normalised; raises ``OriginError``."""
    origins: list[str] = []
    for item in text.replace(",", " ").split():
        if item == "*" or "*" in item:
            raise OriginError("'*' is not allowed: the UI answers with the visitor's login, name each origin")
        parts = urlsplit(item)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise OriginError(f"{item!r} is not an origin like https://shop.example.com")
        if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
            raise OriginError(f"{item!r}: an origin has no path, query or user (https://shop.example.com)")
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def same_host(origin: str, host_header: str | None) -> bool:
    """Whether the ``Origin`` names the host the request was sent to (the page's own origin).

    The scheme is not compared: behind TLS termination the server sees http while the page is https.
    """
    if not host_header:
        return False
    return urlsplit(origin).netloc.lower() == host_header.split(",")[0].strip().lower()


def socket_origin_check(allowed: tuple[str, ...]) -> Callable[[str, dict[str, Any]], bool]:
    """The ``cors_allowed_origins`` callable for python-engineio: configured origins and the page's own host."""

    def check(origin: str, environ: dict[str, Any]) -> bool:
        # The Host is already settled and allowed (agent/web): from a trusted proxy it is the X-Forwarded-Host,
        # and X-Forwarded-Host from anyone else never gets this far.
        return origin in allowed or same_host(origin, environ.get("HTTP_HOST"))

    return check


def restrict_origins(app: Any, sio: Any, allowed: tuple[str, ...]) -> None:
    """Point Chainlit's CORS middleware and its socket.io server at ``allowed`` (before the server starts)."""
    if getattr(app, "middleware_stack", None) is not None:
        raise RuntimeError("the web server already started: origins must be set before")
    replaced = False
    for index, entry in enumerate(app.user_middleware):
        if entry.cls is CORSMiddleware:
            app.user_middleware[index] = Middleware(CORSMiddleware, *entry.args,
                                                    **{**entry.kwargs, "allow_origins": list(allowed)})
            replaced = True
    if not replaced:  # a Chainlit upgrade moved it: fail loudly rather than run with "*"
        raise RuntimeError("Chainlit's CORS middleware was not found; check ui/origins.py against chainlit")
    sio.eio.cors_allowed_origins = socket_origin_check(allowed)
