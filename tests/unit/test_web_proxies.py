"""X-Forwarded-For/-Host/-Proto count only from a trusted proxy (agent/web/proxies.py), in the API and the web UI."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.settings import Settings
from agent.web import guard
from agent.web.proxies import ForwardedHeaders, ProxyError, parse_proxies

PROXY = "10.0.0.2"


def test_parse_proxies():
    assert parse_proxies("") == ()
    assert [str(n) for n in parse_proxies(" 10.0.0.2, 192.168.0.0/16 ,::1,")] == [
        "10.0.0.2/32", "192.168.0.0/16", "::1/128"]
    for bad in ("*", "proxy.internal", "10.0.0.0/33", "10.0.0.1/8", "0.0.0.0/0"):
        with pytest.raises(ProxyError):
            parse_proxies(bad)


async def _echo(request: Request) -> JSONResponse:
    forwarded = {k: v for k, v in request.headers.items() if k.startswith("x-forwarded-")}
    return JSONResponse({"client": request.client.host if request.client else None, "scheme": request.url.scheme,
                         "host": request.headers.get("host"), "forwarded": forwarded})


def _client(app: object, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 4000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


def _app(trusted: str) -> ForwardedHeaders:
    return ForwardedHeaders(Starlette(routes=[Route("/", _echo)]), trusted=parse_proxies(trusted))


SPOOF = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/24"])
async def test_an_untrusted_peer_cannot_speak_for_anyone(trusted):
    async with _client(_app(trusted), peer="192.168.7.7") as client:
        seen = (await client.get("/", headers=SPOOF)).json()
    assert seen == {"client": "192.168.7.7", "scheme": "http", "host": "127.0.0.1:8080", "forwarded": {}}


async def test_a_trusted_proxy_names_the_client_scheme_and_host():
    async with _client(_app("10.0.0.0/24"), peer=PROXY) as client:
        seen = (await client.get("/", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.3",
                                               "X-Forwarded-Host": "chat.example.com",
                                               "X-Forwarded-Proto": "https"})).json()
        # The right-most address no trusted proxy wrote: what the client put to its left is its own claim.
        assert seen["client"] == "203.0.113.9"
        assert (seen["scheme"], seen["host"]) == ("https", "chat.example.com")
        only_proxies = (await client.get("/", headers={"X-Forwarded-For": "10.0.0.4, 10.0.0.3"})).json()
        assert only_proxies["client"] == "10.0.0.4"  # a chain of our own proxies: the first one is the client
        chained = (await client.get("/", headers=[("X-Forwarded-Host", "evil.example, chat.example.com"),
                                                  ("X-Forwarded-Proto", "http, https"),
                                                  ("X-Forwarded-For", "[2001:db8::7]:5555"),
                                                  ("X-Forwarded-For", "198.51.100.2:80")])).json()
        assert (chained["host"], chained["scheme"]) == ("chat.example.com", "https")
        assert chained["client"] == "198.51.100.2"
        odd = (await client.get("/", headers={"X-Forwarded-Proto": "gopher"})).json()
        assert (odd["client"], odd["scheme"]) == (PROXY, "http")


def _guarded(**settings: object) -> Starlette:
    app = Starlette(routes=[Route("/", _echo)])
    guard(app, Settings(_env_file=None, **settings), "127.0.0.1")  # type: ignore[arg-type]
    return app


async def test_the_forwarded_host_is_checked_against_the_allowlist():
    app = _guarded(trusted_proxies=PROXY, api_allowed_hosts="chat.example.com")
    async with _client(app, peer=PROXY) as client:
        assert (await client.get("/", headers={"X-Forwarded-Host": "evil.example"})).status_code == 400
        assert (await client.get("/", headers={"X-Forwarded-Host": "chat.example.com"})).status_code == 200
    async with _client(app, peer="192.168.7.7") as client:  # not the proxy: its X-Forwarded-Host is dropped
        assert (await client.get("/", headers={"X-Forwarded-Host": "chat.example.com",
                                               "Host": "evil.example"})).status_code == 400
        assert (await client.get("/", headers={"X-Forwarded-Host": "evil.example"})).status_code == 200


def test_a_malformed_proxy_setting_stops_the_start():
    with pytest.raises(ProxyError, match="DESKGRAPH_TRUSTED_PROXIES"):
        _guarded(trusted_proxies="proxy.internal")
