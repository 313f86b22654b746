"""The Host allowlist shared by the API and the web UI (agent/web/hosts.py): one list, IPv6 names as sent."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agent.settings import Settings
from agent.web import guard
from agent.web.hosts import allowed_hosts


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_loopback_names_are_written_as_a_host_header_carries_them():
    assert allowed_hosts(_settings(), "127.0.0.1") == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts(_settings(), "::1") == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts(_settings(), "[::1]") == ["localhost", "127.0.0.1", "[::1]"]


def test_bind_host_and_configured_names_join_wildcards_do_not():
    hosts = allowed_hosts(_settings(api_allowed_hosts=" Chat.Example.com, 2001:DB8::5 ,[2001:db8::6],*.shop.test"),
                          "192.168.1.4")
    assert hosts == ["localhost", "127.0.0.1", "[::1]", "chat.example.com", "[2001:db8::5]", "[2001:db8::6]",
                     "*.shop.test", "192.168.1.4"]
    for wildcard in ("0.0.0.0", "::", "[::]", ""):
        assert allowed_hosts(_settings(), wildcard) == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts(_settings(), "fe80::1") == ["localhost", "127.0.0.1", "[::1]", "[fe80::1]"]


def _app(bind_host: str = "127.0.0.1", **settings: object) -> Starlette:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    guard(app, _settings(**settings), bind_host)
    return app


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1:8000", 200), ("localhost", 200), ("LOCALHOST:1", 200), ("[::1]", 200), ("[::1]:8000", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("[2001:db8::1]:8000", 400), ("::1", 400),
    ("127.0.0.1.evil.example", 400),
])
async def test_the_guard_answers_allowed_hosts_only(host, status):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://127.0.0.1") as client:
        response = await client.get("/", headers={"Host": host})
    assert response.status_code == status


async def test_configured_ipv6_and_wildcard_names():
    app = _app("0.0.0.0", api_allowed_hosts="2001:db8::5, *.shop.test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        for host, status in (("[2001:db8::5]:8000", 200), ("chat.shop.test", 200), ("0.0.0.0:8000", 400)):
            assert (await client.get("/", headers={"Host": host})).status_code == status
