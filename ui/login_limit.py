"""Login attempts rate-limited per username and per client IP, in front of Chainlit's login routes.

``LoginLimiter`` is the bookkeeping (pure, clock injected); ``LoginRateLimit`` is the ASGI middleware on Chainlit's
FastAPI app that consults it for ``POST /login`` (password) and ``POST /auth/header`` (customer token) and answers
429 with ``Retry-After`` once a key has used its attempts. Every attempt is counted when it starts and given back
when it succeeds, so fifty wrong logins sent at once are limited like fifty sent one after another.

    limiter = LoginLimiter(max_failures=5, window_s=60)
    limiter.attempt(["user:admin", "ip:10.0.0.7"])     # 0.0: go ahead (counted)
    limiter.succeeded(["user:admin", "ip:10.0.0.7"])   # the attempt is given back, the username starts afresh
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: A login form is a few hundred bytes; anything larger is refused before it is read further.
MAX_LOGIN_BODY = 16 * 1024


class LoginLimiter:
    """At most ``max_failures`` unsuccessful attempts per key in any ``window_s`` seconds."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys  # a flood of made-up usernames must not grow memory without bound
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()

    def attempt(self, keys: Iterable[str]) -> float:
        """Count one attempt against every key and return 0.0, or the seconds to wait (nothing counted)."""
        keys = list(keys)
        now = self._clock()
        wait = max((self._wait(key, now) for key in keys), default=0.0)
        if wait > 0:
            return wait
        for key in keys:
            self._attempts.setdefault(key, deque()).append(now)
            self._attempts.move_to_end(key)
        while len(self._attempts) > self._max_keys:
            self._attempts.popitem(last=False)
        return 0.0

    def succeeded(self, keys: Iterable[str], *, reset: Iterable[str] = ()) -> None:
        """The attempt worked: it does not count; the ``reset`` keys (the username) start afresh."""
        for key in keys:
            stamps = self._attempts.get(key)
            if stamps:
                stamps.pop()
        for key in reset:
            self._attempts.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        stamps = self._attempts.get(key)
        if not stamps:
            return 0.0
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        if len(stamps) < self.max_failures:
            return 0.0
        return stamps[len(stamps) - self.max_failures] + self.window_s - now


class LoginRateLimit:
    """ASGI middleware: ``POST`` to the login paths goes through the limiter; everything else passes untouched."""

    def __init__(self, app: ASGIApp, limiter: LoginLimiter, *, password_path: str = "/login",
                 header_path: str = "/auth/header") -> None:
        self.app = app
        self.limiter = limiter
        self.password_path = password_path
        self.header_path = header_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == self.password_path:
            await self._password_login(scope, receive, send)
        elif path == self.header_path and _header(scope, b"authorization"):
            # Only a request that carries a token is an attempt: the login page asks once per load without one.
            await self._limited(scope, receive, send, [f"header-ip:{_client_ip(scope)}"], reset=[])
        else:
            await self.app(scope, receive, send)

    async def _password_login(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive, MAX_LOGIN_BODY)
        if body is None:
            await _answer(send, 413, {"detail": "request too large"})
            return
        user_key = f"user:{(await _form_username(scope, body)).strip().lower()}"
        keys = [user_key, f"ip:{_client_ip(scope)}"]
        await self._limited(scope, _replay(body), send, keys, reset=[user_key])

    async def _limited(self, scope: Scope, receive: Receive, send: Send, keys: list[str], reset: list[str]) -> None:
        wait = self.limiter.attempt(keys)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await _answer(send, 429, {"detail": f"Too many login attempts. Try again in {seconds} seconds."},
                          headers=[(b"retry-after", str(seconds).encode())])
            return
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, watch)
        if status and 200 <= status[0] < 300:
            self.limiter.succeeded(keys, reset=reset)


def _client_ip(scope: Scope) -> str:
    """The client address: the peer, or the client a trusted proxy names.

    Never read from X-Forwarded-For here: agent/web's guard runs first and has already put the address a
    trusted proxy vouches for into the scope, or dropped the header of an untrusted peer (who could pick any
    address).
    """
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope.get("headers", []) if k.lower() == name), None)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _form_username(scope: Scope, body: bytes) -> str:
    """The ``username`` field of the login form (Chainlit's page posts multipart, other clients urlencoded)."""
    try:
        form = await Request(scope, _replay(body)).form()
        value: Any = form.get("username")
        return value if isinstance(value, str) else ""
    except Exception:  # noqa: BLE001 - a malformed form is Chainlit's to refuse; it still counts per IP
        return ""


async def _answer(send: Send, status: int, payload: dict[str, Any],
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
