"""The HTTP service's Host allowlist: bracketed IPv6 loopback accepted, X-Forwarded-Host only from a trusted proxy."""

from __future__ import annotations

import pytest

from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, run_cli, shop_settings


@pytest.fixture
def settings(tmp_path):
    return shop_settings(tmp_path)


async def test_ipv6_loopback_host_is_accepted(settings):
    async with client(settings, ScriptedChatModel()) as c:
        for host in ("[::1]", "[::1]:8080", "localhost:8080", "127.0.0.1"):
            assert (await c.get("/health", headers={"Host": host})).status_code == 200, host
        for host in ("evil.example", "[2001:db8::1]:8080", "::1"):
            assert (await c.get("/health", headers={"Host": host})).status_code == 400, host


async def test_x_forwarded_host_is_ignored_without_a_trusted_proxy(settings):
    async with client(settings, ScriptedChatModel()) as c:  # the in-process client is 127.0.0.1
        assert (await c.get("/health", headers={"Host": "evil.example",
                                                "X-Forwarded-Host": "localhost"})).status_code == 400
        assert (await c.get("/health", headers={"X-Forwarded-Host": "evil.example"})).status_code == 200


async def test_x_forwarded_host_from_a_trusted_proxy_must_be_allowed(settings):
    trusting = settings.model_copy(update={"trusted_proxies": "127.0.0.1", "api_allowed_hosts": "api.example.com"})
    async with client(trusting, ScriptedChatModel()) as c:
        assert (await c.get("/health", headers={"X-Forwarded-Host": "evil.example"})).status_code == 400
        assert (await c.get("/health", headers={"X-Forwarded-Host": "api.example.com"})).status_code == 200


def test_serve_refuses_a_malformed_proxy_setting_before_starting(monkeypatch, tmp_path):
    import uvicorn

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", no_server)
    monkeypatch.setenv("DESKGRAPH_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    result = run_cli(monkeypatch, tmp_path, "serve")
    assert result.exit_code != 0 and "DESKGRAPH_TRUSTED_PROXIES" in result.output
