"""The API's Host allowlist: DNS rebinding and forwarded headers from a peer that is not a trusted proxy."""

from __future__ import annotations

from .shared import (
    call,
    check,
)


def probe_api_hosts(base, op):
    """Loopback names pass, every other Host is 400, and forwarded headers from an untrusted peer count for nothing."""
    kind = "Host allowlist (API)"
    port = base.rsplit(":", 1)[1]
    for host, exp in (("127.0.0.1", 200), (f"127.0.0.1:{port}", 200), ("localhost", 200), (f"localhost:{port}", 200),
                      ("[::1]", 200), (f"[::1]:{port}", 200), ("evil.example", 400), (f"evil.example:{port}", 400),
                      ("127.0.0.1.evil.example", 400), ("localhost.evil.example", 400), ("::1", 400),
                      ("[2001:db8::1]", 400), ("0.0.0.0", 400), ("", 400), ("127.0.0.1@evil.example", 400)):
        a = call(base, "GET", "/threads", op, headers={"Host": host})
        check(kind, f"Host {host!r}", a.status == exp, f"{a.status} (expected {exp})")
    a = call(base, "GET", "/threads", op, headers={"Host": "evil.example", "X-Forwarded-Host": "localhost"})
    check(kind, "foreign Host with X-Forwarded-Host: localhost from an untrusted peer", a.status == 400, f"{a.status}")
    a = call(base, "GET", "/threads", op, headers={"X-Forwarded-Host": "evil.example"})
    check(kind, "X-Forwarded-Host: evil from an untrusted peer is ignored", a.status == 200, f"{a.status}")
    a = call(base, "GET", "/threads", op, headers={"Host": "evil.example", "Origin": "http://evil.example"})
    check(kind, "foreign Host + matching Origin: no CORS header",
          a.status == 400 and "access-control-allow-origin" not in a.headers, f"{a.status} {a.headers}")
