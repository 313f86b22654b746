"""The web UI answers only the Host names of the allowlist, and believes X-Forwarded-* only from a trusted proxy.

Against Chainlit's real ASGI app with deskgraph's ``ui/app.py`` loaded, in-process (no server, no browser):
a DNS-rebinding page sends a foreign ``Host`` with a matching ``Origin``; the page, socket.io (polling and the
websocket upgrade) and the auth routes must answer 400 without a CORS header naming that origin.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient, WebSocketDenialResponse

from agent.settings import get_settings

UI_DIR = Path(__file__).resolve().parents[2] / "ui"
EVIL, EVIL_ORIGIN = "evil.example:8000", "http://evil.example:8000"
POLL = "/ws/socket.io/?EIO=4&transport=polling"
WEBSOCKET = "/ws/socket.io/?EIO=4&transport=websocket"
UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade"}
PROXY_NET, PROXY = "10.9.9.0/24", "10.9.9.9"
MAX_FAILURES = 2


@pytest.fixture(scope="module")
def ui_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chainlit's app with ui/app.py imported, as `chainlit run ui/app.py` builds it on 127.0.0.1 (no lifespan:
    Chainlit's shutdown ends the process)."""
    saved = dict(os.environ)
    root = tmp_path_factory.mktemp("ui-hosts")
    # Chainlit writes translations and an upload folder under its app root: a copy keeps them out of ui/.
    app_root = root / "ui"
    shutil.copytree(UI_DIR, app_root, ignore=shutil.ignore_patterns("*.py", "__pycache__", ".files", "translations"))
    os.environ.update({
        "CHAINLIT_APP_ROOT": str(app_root),  # read when chainlit is first imported
        "CHAINLIT_AUTH_SECRET": "ui-hosts-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DESKGRAPH_STORE_DB": str(root / "store.db"),
        "DESKGRAPH_CHECKPOINT_DB": str(root / "checkpoints.db"),
        "DESKGRAPH_UI_DB": str(root / "chainlit.db"),
        "DESKGRAPH_UI_AUTH": "true",
        "DESKGRAPH_UI_PASSWORD": "right-password",
        "DESKGRAPH_CUSTOMER_TOKEN_SECRET": "s" * 32,
        "DESKGRAPH_UI_LOGIN_FAILURES_PER_MINUTE": str(MAX_FAILURES),
        "DESKGRAPH_TRUSTED_PROXIES": PROXY_NET,
    })
    for name in ("DESKGRAPH_API_ALLOWED_HOSTS", "DESKGRAPH_UI_ALLOW_ORIGINS", "FORWARDED_ALLOW_IPS"):
        os.environ.pop(name, None)
    get_settings.cache_clear()
    try:
        from chainlit.server import app

        import ui.app  # noqa: F401 - registers deskgraph's handlers and middleware on Chainlit's app

        yield app
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def _client(app: Any, peer: str = "127.0.0.1") -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8000", client=(peer, 50000))


def _served_as_chainlit_does(app: Any) -> Any:
    """The ASGI app uvicorn runs under `chainlit run`: chainlit/cli builds ``uvicorn.Config(app, host, port, ...)``
    without proxy options, so uvicorn's own proxy-header handling is whatever its defaults and env say."""
    config = uvicorn.Config(app, log_config=None)
    config.load()
    return config.loaded_app


# --- a foreign Host ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/"), ("GET", POLL), ("POST", POLL), ("GET", "/auth/config"), ("POST", "/login"),
    ("POST", "/auth/header"), ("GET", "/user"), ("POST", "/logout"), ("OPTIONS", "/project/threads"),
])
def test_a_foreign_host_gets_400_and_no_cors_answer(ui_app, method, path):
    headers = {"Host": EVIL, "Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"}
    response = _client(ui_app).request(method, path, headers=headers)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_foreign_host_cannot_open_the_websocket(ui_app):
    upgrade = _client(ui_app).websocket_connect(WEBSOCKET, headers={"Host": EVIL, "Origin": EVIL_ORIGIN, **UPGRADE})
    with pytest.raises(WebSocketDenialResponse) as denied, upgrade:
        pass
    assert denied.value.status_code == 400


# --- the allowed names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "127.0.0.1", "[::1]:8000", "[::1]"])
def test_loopback_names_reach_the_page_and_socketio(ui_app, host):
    client = _client(ui_app)
    assert client.get("/", headers={"Host": host}).status_code == 200
    poll = client.get(POLL, headers={"Host": host, "Origin": f"http://{host}"})
    assert poll.status_code == 200 and poll.text.startswith("0{")
    assert poll.headers["access-control-allow-origin"] == f"http://{host}"


def test_an_allowed_host_opens_the_websocket(ui_app):
    headers = {"Host": "[::1]:8000", "Origin": "http://[::1]:8000", **UPGRADE}
    with _client(ui_app).websocket_connect(WEBSOCKET, headers=headers) as socket:
        assert socket.receive_text().startswith("0{")


# --- X-Forwarded-* -------------------------------------------------------------------------------------
def test_x_forwarded_host_is_ignored_without_a_trusted_proxy(ui_app):
    client = _client(_served_as_chainlit_does(ui_app))  # from 127.0.0.1, which uvicorn trusts by default
    refused = client.get(POLL, headers={"Host": EVIL, "X-Forwarded-Host": "127.0.0.1:8000", "Origin": EVIL_ORIGIN})
    assert refused.status_code == 400
    # Before: socket.io took the forwarded name for the page's own and welcomed the foreign origin.
    spoofed = client.get(POLL, headers={"Host": "127.0.0.1:8000", "X-Forwarded-Host": EVIL, "Origin": EVIL_ORIGIN,
                                        "X-Forwarded-Proto": "http"})
    assert spoofed.status_code != 200
    assert spoofed.headers.get("access-control-allow-origin") != EVIL_ORIGIN


def test_x_forwarded_host_from_a_trusted_proxy_must_be_allowed_too(ui_app):
    client = _client(_served_as_chainlit_does(ui_app), peer=PROXY)
    assert client.get("/", headers={"Host": "127.0.0.1:8000", "X-Forwarded-Host": EVIL}).status_code == 400
    public = client.get(POLL, headers={"Host": "127.0.0.1:8000", "X-Forwarded-Host": "localhost",
                                       "X-Forwarded-Proto": "https", "Origin": "https://localhost"})
    assert public.status_code == 200 and public.headers["access-control-allow-origin"] == "https://localhost"


def _wrong_login(client: TestClient, username: str, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/login", data={"username": username, "password": "wrong"}, headers=headers).status_code


def test_the_per_ip_login_limit_ignores_x_forwarded_for_from_an_untrusted_peer(ui_app):
    # A DNS-rebinding page is same-origin after the rebind and may set X-Forwarded-For itself.
    client = _client(_served_as_chainlit_does(ui_app), peer="127.0.0.1")
    codes = [_wrong_login(client, f"local-{i}", f"198.51.100.{i}") for i in range(MAX_FAILURES + 1)]
    assert codes == [401] * MAX_FAILURES + [429]


def test_the_per_ip_login_limit_uses_the_client_a_trusted_proxy_names(ui_app):
    client = _client(_served_as_chainlit_does(ui_app), peer=PROXY)
    # The right-most address the proxies did not add is the client; what it wrote to the left is its own claim.
    codes = [_wrong_login(client, f"proxied-{i}", f"192.0.2.{i}, 203.0.113.5, 10.9.9.8")
             for i in range(MAX_FAILURES + 1)]
    assert codes == [401] * MAX_FAILURES + [429]
    assert _wrong_login(client, "proxied-other", "203.0.113.6") == 401  # another client: its own budget
    assert _wrong_login(client, "proxied-none", None) == 401  # the proxy itself: its own budget too
