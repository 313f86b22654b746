"""The Host names deskgraph's servers answer: one list for the API and the web UI.

A page on a foreign name that resolves to this machine (DNS rebinding) is "same origin" to the browser; only the
Host header still names the foreign site, so a server that answers any Host lets that page use it.
"""

from __future__ import annotations

import ipaddress

from agent.settings import Settings

#: Names only this machine reaches; IPv6 literals are bracketed because that is how a Host header carries them.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: Binds that listen everywhere: no client sends them as a name.
_WILDCARD_BINDS = {"0.0.0.0", "[::]", ""}


def host_name(name: str) -> str:
    """A name as Starlette's TrustedHostMiddleware compares a Host header: lower case, IPv6 in brackets."""
    name = name.strip().lower()
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name  # a DNS name, or a pattern like *.example.com
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def allowed_hosts(settings: Settings, bind_host: str) -> list[str]:
    """Host header values answered: loopback names, the bind host, and DESKGRAPH_API_ALLOWED_HOSTS (``*``: any)."""
    extra = [host_name(h) for h in settings.api_allowed_hosts.split(",") if h.strip()]
    hosts = [*LOOPBACK_NAMES, *extra]
    if (bind := host_name(bind_host)) not in _WILDCARD_BINDS:
        hosts.append(bind)
    return list(dict.fromkeys(hosts))
