"""Login attempts are limited per username and per client IP (ui/login_limit.py), also when sent all at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from ui.login_limit import LoginLimiter, LoginRateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_then_wait_until_the_oldest_ages_out():
    clock = Clock()
    limiter = LoginLimiter(5, 60.0, clock=clock)
    for _ in range(5):
        assert limiter.attempt(["user:a"]) == 0.0
        clock.now += 1
    assert limiter.attempt(["user:a"]) == pytest.approx(55.0)  # the first failure, at t=1000, ages out at 1060
    clock.now = 1060.0
    assert limiter.attempt(["user:a"]) == 0.0
    assert limiter.attempt(["user:a"]) > 0  # the second failure (t=1001) still counts with the 3 others and this


def test_refused_attempts_are_not_counted():
    clock = Clock()
    limiter = LoginLimiter(2, 60.0, clock=clock)
    limiter.attempt(["k"]), limiter.attempt(["k"])
    for _ in range(100):
        assert limiter.attempt(["k"]) > 0
    clock.now += 60
    assert limiter.attempt(["k"]) == 0.0


def test_any_key_over_the_limit_refuses_and_nothing_is_counted_then():
    limiter = LoginLimiter(2, 60.0, clock=Clock())
    limiter.attempt(["ip:1", "user:a"]), limiter.attempt(["ip:1", "user:b"])
    assert limiter.attempt(["ip:1", "user:c"]) > 0  # the IP is used up, whichever username
    assert limiter.attempt(["ip:2", "user:c"]) == 0.0  # user:c was not charged for the refusal
    assert limiter.attempt(["ip:3", "user:a"]) == 0.0
    assert limiter.attempt(["ip:4", "user:a"]) > 0  # user:a is used up, whichever IP


def test_success_gives_the_attempt_back_and_resets_the_username():
    limiter = LoginLimiter(3, 60.0, clock=Clock())
    for _ in range(2):
        limiter.attempt(["user:a", "ip:1"])
    limiter.attempt(["user:a", "ip:1"])
    limiter.succeeded(["user:a", "ip:1"], reset=["user:a"])
    assert limiter.attempt(["user:a", "ip:1"]) == 0.0  # ip:1 holds 2 failures + this one
    assert limiter.attempt(["user:a", "ip:1"]) > 0


def test_memory_is_bounded():
    limiter = LoginLimiter(5, 60.0, clock=Clock(), max_keys=100)
    for i in range(1000):
        limiter.attempt([f"user:{i}"])
    assert len(limiter._attempts) == 100


# --- the middleware in front of a login route shaped like Chainlit's --------------------------------------
def _app(max_failures: int = 5) -> FastAPI:
    app = FastAPI()

    @app.post("/login")
    async def login(form: OAuth2PasswordRequestForm = Depends()):  # noqa: B008 - FastAPI's idiom
        if (form.username, form.password) != ("admin", "right"):
            raise HTTPException(status_code=401, detail="credentialssignin")
        return {"success": True}

    @app.post("/auth/header")
    async def header(request: Request):
        if request.headers.get("authorization") != "Bearer good":
            raise HTTPException(status_code=401, detail="credentialssignin")
        return {"success": True}

    @app.post("/other")
    async def other():
        return {"ok": True}

    app.add_middleware(LoginRateLimit, limiter=LoginLimiter(max_failures, 60.0))
    return app


def _client(app: FastAPI, ip: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://ui")


async def _login(client: httpx.AsyncClient, username: str, password: str, multipart: bool = True) -> httpx.Response:
    data = {"username": username, "password": password}
    if multipart:  # Chainlit's login page posts FormData
        return await client.post("/login", files={k: (None, v) for k, v in data.items()})
    return await client.post("/login", data=data)


async def test_sixth_wrong_login_gets_429_with_retry_after():
    app = _app()
    async with _client(app) as client:
        codes = [(await _login(client, "admin", f"wrong{i}", multipart=i % 2 == 0)).status_code for i in range(5)]
        assert codes == [401] * 5
        refused = await _login(client, "admin", "right")
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        assert "Too many login attempts" in refused.json()["detail"]
        assert (await client.post("/other")).status_code == 200  # other routes are untouched


async def test_limits_per_username_across_ips_and_per_ip_across_usernames():
    app = _app()
    for i in range(5):
        async with _client(app, ip=f"10.0.1.{i}") as client:
            assert (await _login(client, "Admin", "wrong")).status_code == 401
    async with _client(app, ip="10.0.2.1") as client:
        assert (await _login(client, "admin", "right")).status_code == 429  # usernames compare case-blind
    async with _client(app, ip="10.0.3.1") as client:
        for i in range(5):
            assert (await _login(client, f"user{i}", "wrong")).status_code == 401
        assert (await _login(client, "someone-else", "x")).status_code == 429


async def test_a_good_login_is_not_held_against_anyone():
    app = _app()
    async with _client(app) as client:
        for _ in range(4):
            await _login(client, "admin", "wrong")
        assert (await _login(client, "admin", "right")).status_code == 200
        assert (await _login(client, "admin", "wrong")).status_code == 401  # still under the IP's five


async def test_fifty_wrong_logins_at_once_reach_the_app_five_times():
    app = _app()
    async with _client(app) as client:
        responses = await asyncio.gather(*(_login(client, "admin", f"guess{i}") for i in range(50)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(401) == 5 and codes.count(429) == 45


async def test_header_auth_counts_only_requests_with_a_token():
    app = _app(max_failures=2)
    async with _client(app) as client:
        for _ in range(10):  # the login page asks once per load, without a token: never limited
            assert (await client.post("/auth/header")).status_code == 401
        bad = {"Authorization": "Bearer forged"}
        assert [(await client.post("/auth/header", headers=bad)).status_code for _ in range(3)] == [401, 401, 429]
        assert (await _login(client, "admin", "right")).status_code == 200  # a separate budget from passwords


async def test_oversized_login_body_is_refused_unread():
    app = _app()
    async with _client(app) as client:
        response = await client.post("/login", content=b"username=" + b"a" * 100_000,
                                     headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
