"""X-Forwarded-For, -Host and -Proto are believed only from a configured proxy (DESKGRAPH_TRUSTED_PROXIES).

Anyone can send these headers: believed from any peer, they let a client pick the address the per-IP login
limit counts, or the host name the Host allowlist and the socket.io origin check compare. ``ForwardedHeaders``
runs first: from a trusted peer it moves what the headers say into the request (client address, scheme, Host);
from any other peer it removes them, so nothing further in (Chainlit, python-engineio) can read them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED = {b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto"}
_SCHEMES = {"http", "https", "ws", "wss"}


class ProxyError(ValueError):
    """DESKGRAPH_TRUSTED_PROXIES names something that is not an IP address or network."""


def parse_proxies(text: str) -> tuple[Network, ...]:
    """The networks of the setting (comma-separated IPs or CIDRs); raises ``ProxyError``."""
    networks: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item)  # strict: 10.0.0.1/8 is a typo, not a network
        except ValueError as exc:
            raise ProxyError(f"DESKGRAPH_TRUSTED_PROXIES: {item!r} is not an IP address or network") from exc
        if network.prefixlen == 0:
            raise ProxyError(f"DESKGRAPH_TRUSTED_PROXIES: {item!r} would let every client name its own address")
        networks.append(network)
    return tuple(networks)


def _address(entry: str) -> str:
    """The address of one X-Forwarded-For entry (``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:80``)."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        return entry[1:entry.index("]")]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    """Every comma-separated value of a header, over all its lines, in order."""
    return [part.strip() for key, value in headers if key.lower() == name
            for part in value.decode("latin-1").split(",") if part.strip()]


class ForwardedHeaders:
    """ASGI middleware: X-Forwarded-* applied from a trusted peer, removed from any other."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of the configured proxies."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # "unknown", a unix socket: never a proxy of ours
        return any(ip in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", []))
        if not any(key.lower() in _FORWARDED for key, _ in headers):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        if peer and self.trusts(str(peer[0])):
            scope = self._applied(scope, headers)
        else:
            scope = {**scope, "headers": [(k, v) for k, v in headers if k.lower() not in _FORWARDED]}
        await self.app(scope, receive, send)

    def _applied(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> Scope:
        scope = dict(scope)
        chain = [_address(entry) for entry in _values(headers, b"x-forwarded-for")]
        if chain:
            # Each proxy appends the peer it saw: walking back from the right, the first address that is not one of
            # our proxies is the client; entries further left were written by the client itself.
            client = next((a for a in reversed(chain) if not self.trusts(a)), chain[0])
            scope["client"] = (client, 0)
        # For -Proto and -Host the right-most value is the one our nearest proxy wrote.
        if (proto := _values(headers, b"x-forwarded-proto")) and proto[-1].lower() in _SCHEMES:
            scheme = proto[-1].lower()
            scope["scheme"] = scheme.replace("http", "ws") if scope["type"] == "websocket" else scheme
        if host := _values(headers, b"x-forwarded-host"):
            # The allowlist then checks the name the client asked the proxy for.
            headers = [(k, v) for k, v in headers if k.lower() != b"host"] + [(b"host", host[-1].encode("latin-1"))]
            scope["headers"] = headers
        return scope
