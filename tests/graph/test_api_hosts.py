"""The HTTP service's Host allowlist: bracketed IPv6 loopback accepted."""

from __future__ import annotations

import pytest

from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, shop_settings


@pytest.fixture
def settings(tmp_path):
    return shop_settings(tmp_path)


async def test_ipv6_loopback_host_is_accepted(settings):
    async with client(settings, ScriptedChatModel()) as c:
        for host in ("[::1]", "[::1]:8080", "localhost:8080", "127.0.0.1"):
            assert (await c.get("/health", headers={"Host": host})).status_code == 200, host
        for host in ("evil.example", "[2001:db8::1]:8080", "::1"):
            assert (await c.get("/health", headers={"Host": host})).status_code == 400, host

