"""The Chainlit UI: Host/Origin checks (also on socket.io and CORS preflights) and the per-IP login budget,
which a forged X-Forwarded-For must not reset."""

from __future__ import annotations

import base64
import os
import time

from .shared import (
    INFO,
    call,
    check,
    jwt,
)


def foreign_token(sub):
    """A well-formed customer token signed with a secret the UI does not know: a failed login attempt."""
    now = int(time.time())
    return jwt({"sub": sub, "iat": now, "exp": now + 60}, "wrong-secret-" + "y" * 30)


def probe_ui(ctx, root, env):
    """Host/Origin checks on an open UI, then the login budget on fresh UI processes (fresh counters each)."""
    kind = "web UI Host/Origin/proxy"
    ui = ctx.server("ui-open", root, env, kind="ui")
    base, port = ui.url, ui.port
    evil = {"Host": "evil.example", "Origin": "http://evil.example"}
    evil_p = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    sio = "/ws/socket.io/?EIO=4&transport=polling"
    for path in ("/", sio, "/auth/config", "/project/settings?language=en-US", "/user", "/login", "/auth/header"):
        for hdrs in (evil, evil_p):
            method = "POST" if path in ("/login", "/auth/header") else "GET"
            a = call(base, method, path, headers=hdrs)
            check(kind, f"{method} {path} with Host {hdrs['Host']}",
                  a.status == 400 and "access-control-allow-origin" not in {k.lower() for k in a.headers},
                  f"{a.status} ACAO={a.headers.get('access-control-allow-origin')}")
    # websocket upgrade with a foreign Host
    ws_h = {"Host": "evil.example", "Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    a = call(base, "GET", "/ws/socket.io/?EIO=4&transport=websocket", headers=ws_h)
    check(kind, "socket.io websocket upgrade with a foreign Host", a.status == 400, f"{a.status}")
    for host, exp in (("127.0.0.1", 200), (f"localhost:{port}", 200), (f"[::1]:{port}", 200), ("[::1]", 200)):
        a = call(base, "GET", "/", headers={"Host": host})
        check(kind, f"page with Host {host}", a.status == exp, f"{a.status}")
    a = call(base, "GET", sio, headers={"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"})
    check(kind, "socket.io polling handshake, own Host and Origin (control)", a.status == 200 and '"sid"' in a.text,
          f"{a.status} {a.text[:80]!r}")
    a = call(base, "GET", sio, headers={"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"})
    check(kind, "socket.io with own Host, foreign Origin: refused, no CORS for it",
          a.status in (400, 403) and a.headers.get("access-control-allow-origin") != "http://evil.example",
          f"{a.status} ACAO={a.headers.get('access-control-allow-origin')}")
    a = call(base, "GET", sio, headers={"Host": "evil.example", "X-Forwarded-Host": f"127.0.0.1:{port}",
                                        "Origin": "http://evil.example"})
    check(kind, "foreign Host + X-Forwarded-Host: loopback from an untrusted peer", a.status == 400, f"{a.status}")
    a = call(base, "GET", "/", headers={"Host": f"127.0.0.1:{port}", "X-Forwarded-Host": "evil.example"})
    check(kind, "X-Forwarded-Host: evil from an untrusted peer is ignored", a.status == 200, f"{a.status}")
    a = call(base, "OPTIONS", "/auth/config", headers={**evil, "Access-Control-Request-Method": "GET"})
    check(kind, "CORS preflight with foreign Host", a.status == 400 and "access-control-allow-origin" not in a.headers,
          f"{a.status} {a.headers.get('access-control-allow-origin')}")
    ui.stop()

    # login limit: per IP, X-Forwarded-For ignored from an untrusted peer
    kind = "web UI login limit"
    env2 = dict(env, DESKGRAPH_UI_AUTH="true", DESKGRAPH_UI_PASSWORD="correct horse battery",
                DESKGRAPH_UI_LOGIN_FAILURES_PER_MINUTE="5")
    ui2 = ctx.server("ui-auth", root, env2, kind="ui")
    statuses = []
    for i in range(8):
        a = call(ui2.url, "POST", "/login", headers={"X-Forwarded-For": f"203.0.113.{i + 1}",
                                                    "Content-Type": "application/x-www-form-urlencoded"},
                 raw=f"username=user{i}&password=wrong".encode())
        statuses.append(a.status)
    check(kind, "8 wrong passwords, each a new username and a new X-Forwarded-For: 429 after 5",
          statuses[:5] == [401] * 5 and all(s == 429 for s in statuses[5:]), str(statuses))
    a = call(ui2.url, "POST", "/login", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                "X-Forwarded-For": "198.51.100.9", "X-Real-IP": "198.51.100.9"},
             raw=b"username=admin&password=correct+horse+battery")
    check(kind, "the right password from a locked IP is still 429 (the limit is the IP's)", a.status == 429,
          f"{a.status}")
    ui2.stop()
    # header auth: bad customer tokens, each with a new X-Forwarded-For (fresh process, fresh counters)
    ui3 = ctx.server("ui-auth-2", root, env2, kind="ui")
    statuses = []
    for i in range(8):
        bad = foreign_token(f"nobody_{i}")
        a = call(ui3.url, "POST", "/auth/header", headers={"Authorization": f"Bearer {bad}",
                                                          "X-Forwarded-For": f"192.0.2.{i + 1}"})
        statuses.append(a.status)
    check(kind, "8 bad customer tokens on /auth/header, each a new X-Forwarded-For: 429 after 5",
          all(s_ == 429 for s_ in statuses[5:]), str(statuses))
    ui3.stop()
    ui4 = ctx.server("ui-auth-3", root, env2, kind="ui")
    for i in range(5):
        call(ui4.url, "POST", "/login", headers={"Content-Type": "application/x-www-form-urlencoded"},
             raw=f"username=u{i}&password=wrong".encode())
    bad = foreign_token("x")
    a = call(ui4.url, "POST", "/auth/header", headers={"Authorization": f"Bearer {bad}", "X-Forwarded-For": "192.0.2.7"})
    INFO.append(f"web UI: after 5 failed POST /login from one IP, POST /auth/header from it answers {a.status} "
                "(429 would mean one budget per IP for both routes; 401: each route has its own 5)")
    ui4.stop()
