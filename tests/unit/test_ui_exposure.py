"""The web UI's exposure: origins from the setting (never "*"), login required beyond loopback, operators and
customers told apart (ui/origins.py, ui/access.py, `deskgraph ui`)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from typer.testing import CliRunner

from agent.auth import mint_customer_token
from agent.settings import Settings
from ui.access import (
    customer_from_headers,
    customer_id_of,
    customer_identifier,
    is_loopback,
    role_of,
    startup_problem,
)
from ui.origins import OriginError, parse_origins, restrict_origins, socket_origin_check

SECRET = "s" * 32
SHOP = "https://shop.example.com"


# --- origins --------------------------------------------------------------------------------------------
def test_parse_origins():
    assert parse_origins("") == ()
    assert parse_origins(f" {SHOP}, http://LOCALHOST:3000/ {SHOP}") == (SHOP, "http://localhost:3000")
    for bad in ("*", "https://*.example.com", "shop.example.com", "ftp://x.org", "https://x.org/chat",
                "https://u:p@x.org", "https://x.org?q=1"):
        with pytest.raises(OriginError):
            parse_origins(bad)


def test_socket_origin_check_allows_the_page_itself_and_the_configured_origins():
    check = socket_origin_check((SHOP,))
    assert check(SHOP, {"HTTP_HOST": "chat.example.com"})
    assert check("https://chat.example.com", {"HTTP_HOST": "chat.example.com"})
    assert check("http://127.0.0.1:8000", {"HTTP_HOST": "127.0.0.1:8000"})
    # X-Forwarded-Host is agent/web's to apply (from a trusted proxy only): by here it is the Host or it is gone.
    assert not check("https://evil.example", {"HTTP_HOST": "10.0.0.5:8000", "HTTP_X_FORWARDED_HOST": "evil.example"})
    assert not check("https://evil.example", {"HTTP_HOST": "chat.example.com"})
    assert not check("http://127.0.0.1:9999", {"HTTP_HOST": "127.0.0.1:8000"})
    assert not check("https://evil.example", {})


def _chainlit_like_app() -> tuple[FastAPI, SimpleNamespace]:
    """CORS as chainlit/server.py sets it up: allow_origins from the config, credentials on."""
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"],
                       allow_headers=["*"])

    @app.get("/user")
    async def user():
        return {"identifier": "admin"}

    return app, SimpleNamespace(eio=SimpleNamespace(cors_allowed_origins=[]))


async def test_restricted_cors_answers_configured_origins_only():
    app, sio = _chainlit_like_app()
    restrict_origins(app, sio, (SHOP,))
    assert callable(sio.eio.cors_allowed_origins)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui") as client:
        evil = await client.get("/user", headers={"Origin": "https://evil.example", "Cookie": "access_token=x"})
        assert "access-control-allow-origin" not in evil.headers
        preflight = await client.options("/user", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
        shop = await client.get("/user", headers={"Origin": SHOP, "Cookie": "access_token=x"})
        assert shop.headers["access-control-allow-origin"] == SHOP
        assert shop.headers["access-control-allow-credentials"] == "true"


async def test_no_origins_configured_means_same_origin_only():
    app, sio = _chainlit_like_app()
    restrict_origins(app, sio, ())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui") as client:
        response = await client.get("/user", headers={"Origin": SHOP, "Cookie": "access_token=x"})
    assert "access-control-allow-origin" not in response.headers


def test_restrict_origins_fails_loudly_when_chainlit_changes():
    app = FastAPI()
    with pytest.raises(RuntimeError, match="CORS middleware was not found"):
        restrict_origins(app, SimpleNamespace(eio=SimpleNamespace()), ())


def test_config_toml_allows_no_origin_by_itself():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "ui" / ".chainlit" / "config.toml").read_text()
    assert "allow_origins = []" in text and 'allow_origins = ["*"]' not in text


# --- who may start it where --------------------------------------------------------------------------------
@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.1.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("", False), ("192.168.1.4", False), ("chat.example.com", False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_login_is_required_beyond_loopback():
    assert startup_problem(_settings(), "127.0.0.1") is None  # the local demo keeps working without login
    problem = startup_problem(_settings(), "0.0.0.0")
    assert problem and "without a login" in problem and "DESKGRAPH_UI_AUTH" in problem
    assert startup_problem(_settings(ui_auth=True, ui_password="pw"), "0.0.0.0") is None
    assert startup_problem(_settings(customer_token_secret=SECRET), "0.0.0.0") is None
    assert "DESKGRAPH_UI_PASSWORD" in startup_problem(_settings(ui_auth=True), "127.0.0.1")
    assert "32 bytes" in startup_problem(_settings(customer_token_secret="short"), "127.0.0.1")
    assert "customer:" in startup_problem(_settings(ui_auth=True, ui_password="pw", ui_username="customer:x"),
                                          "127.0.0.1")


def test_deskgraph_ui_refuses_before_starting_anything(monkeypatch, tmp_path):
    import agent.llm
    from agent.cli import _register, app
    from agent.settings import get_settings

    def no_model(*args, **kwargs):
        raise AssertionError("the model must not start")

    monkeypatch.setattr(agent.llm, "model_server", no_model)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("DESKGRAPH_UI_AUTH", "DESKGRAPH_UI_PASSWORD", "DESKGRAPH_CUSTOMER_TOKEN_SECRET",
                 "DESKGRAPH_API_ALLOWED_HOSTS", "DESKGRAPH_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    _register()
    try:
        result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--port", "8765"])
        assert result.exit_code == 2
        assert "refusing to serve the web chat on 0.0.0.0 without a login" in result.output
        monkeypatch.setenv("DESKGRAPH_UI_ALLOW_ORIGINS", "*")
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["ui"])
        assert result.exit_code != 0 and "DESKGRAPH_UI_ALLOW_ORIGINS" in result.output
        monkeypatch.delenv("DESKGRAPH_UI_ALLOW_ORIGINS")
        monkeypatch.setenv("DESKGRAPH_TRUSTED_PROXIES", "proxy.internal")
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["ui"])
        assert result.exit_code != 0 and "DESKGRAPH_TRUSTED_PROXIES" in result.output
        monkeypatch.delenv("DESKGRAPH_TRUSTED_PROXIES")
        monkeypatch.setenv("DESKGRAPH_UI_AUTH", "true")
        monkeypatch.setenv("DESKGRAPH_UI_PASSWORD", "pw")
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--port", "8765"])
        assert isinstance(result.exception, AssertionError)  # it got as far as the model
        assert "only localhost, 127.0.0.1, [::1] are answered" in result.output
        assert "DESKGRAPH_API_ALLOWED_HOSTS" in result.output
    finally:
        get_settings.cache_clear()


# --- operators and customers ------------------------------------------------------------------------------
def test_customer_from_headers():
    token = mint_customer_token("lena_moreau_3307", SECRET, ttl_seconds=60)
    assert customer_from_headers({"authorization": f"Bearer {token}"}, SECRET) == "lena_moreau_3307"
    assert customer_from_headers({"authorization": f"bearer   {token} "}, SECRET) == "lena_moreau_3307"
    assert customer_from_headers({"authorization": f"Bearer {token}"}, "t" * 32) is None  # another shop's
    assert customer_from_headers({"authorization": f"Basic {token}"}, SECRET) is None
    assert customer_from_headers({"authorization": "Bearer "}, SECRET) is None
    assert customer_from_headers({}, SECRET) is None


def test_expired_or_unsigned_customer_tokens_are_refused():
    import jwt

    past = int(time.time()) - 120
    expired = jwt.encode({"sub": "lena_moreau_3307", "iat": past, "exp": past + 60}, SECRET, algorithm="HS256")
    unsigned = jwt.encode({"sub": "lena_moreau_3307", "exp": past + 9999}, None, algorithm="none")
    for token in (expired, unsigned):
        assert customer_from_headers({"authorization": f"Bearer {token}"}, SECRET) is None


def test_roles_come_from_the_identifier():
    assert customer_identifier("lena_moreau_3307") == "customer:lena_moreau_3307"
    assert role_of("customer:lena_moreau_3307") == "customer"
    assert customer_id_of("customer:lena_moreau_3307") == "lena_moreau_3307"
    assert role_of("admin") == "operator" and customer_id_of("admin") is None
    assert role_of(None) is None and customer_id_of(None) is None
