"""The web UI beyond loopback: login required, CORS to the configured origins only, login attempts limited,
customers arriving from the shop with a token (header auth) identified from their first turn, seeing only their
own threads and never a raw tool result."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from agent.auth import mint_customer_token
from tests.browser.chat import ASSISTANT, TOOL, assistant, open_chat, send
from tests.browser.conftest import (
    PASSWORD,
    USERNAME,
    UIServer,
    _local_only,
    deskgraph_exe,
    seeded_root,
    shot,
    start_ui,
    stop_ui,
)
from tests.browser.test_chat_ui import _thread_id, _view
from tests.unit.fake_openai import FakeOpenAI, text

SECRET = "shop-signing-secret-0123456789-abcdefghij"
SHOP = "https://shop.example.com"
LENA, OMAR = "lena_moreau_3307", "omar_haddad_1234"
MAX_FAILURES = 3


@pytest.fixture(scope="module")
def exposed(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    """`deskgraph ui --host 0.0.0.0` with the operator's password and the shop's customer-token secret."""
    server = start_ui(seeded_root(tmp_path_factory, "deskgraph-ui-exposed"), {
        "DESKGRAPH_LLM_BASE_URL": fake.base_url,
        "DESKGRAPH_LLM_MODEL": "fake-qwen",
        "DESKGRAPH_LLM_MAX_RETRIES": "0",
        "CHAINLIT_AUTH_SECRET": "browser-tests-secret-exposed-0123456789-abcdefghijklmnop",
        "DESKGRAPH_CUSTOMER_TOKEN_SECRET": SECRET,
        "DESKGRAPH_UI_ALLOW_ORIGINS": SHOP,
        "DESKGRAPH_UI_LOGIN_FAILURES_PER_MINUTE": str(MAX_FAILURES),
    }, host="0.0.0.0")
    yield server
    stop_ui(server)


def _customer_page(browser, user_id: str):
    """A page as a shop's proxy would serve it: every request carries the customer's token."""
    token = mint_customer_token(user_id, SECRET, ttl_seconds=600)
    context = browser.new_context(viewport={"width": 1280, "height": 860},
                                  extra_http_headers={"Authorization": f"Bearer {token}"})
    context.route("**/*", _local_only)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def test_no_login_beyond_loopback_refuses_to_start(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DESKGRAPH_UI_AUTH": "false",
           "DESKGRAPH_LLM_BASE_URL": "http://127.0.0.1:9/v1"}  # never contacted: it refuses first
    done = subprocess.run([deskgraph_exe(), "ui", "--host", "0.0.0.0", "--port", "8799"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to serve the web chat on 0.0.0.0 without a login" in done.stderr


def test_bound_beyond_loopback_asks_for_login(page, exposed):
    page.goto(exposed.url, wait_until="domcontentloaded")
    expect(page.locator("#email")).to_be_visible()
    expect(page.locator(ASSISTANT)).to_have_count(0)
    shot(page, "20-login-required-beyond-loopback")
    assert httpx.get(exposed.url + "/user").status_code == 401


def test_cors_and_websocket_answer_configured_origins_only(exposed):
    evil = "https://evil.example"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    refused = httpx.options(exposed.url + "/project/threads", headers={"Origin": evil, **preflight})
    assert "access-control-allow-origin" not in refused.headers
    allowed = httpx.options(exposed.url + "/project/threads", headers={"Origin": SHOP, **preflight})
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    poll = exposed.url + "/ws/socket.io/?EIO=4&transport=polling"
    assert httpx.get(poll, headers={"Origin": evil}).status_code == 400
    assert httpx.get(poll, headers={"Origin": SHOP}).status_code == 200
    assert httpx.get(poll, headers={"Origin": exposed.url}).status_code == 200  # the page itself


def test_customer_from_the_shop_is_identified_from_the_first_turn(browser, exposed, fake):
    context, page = _customer_page(browser, LENA)
    try:
        open_chat(page, exposed.url)  # header auth: no login form, straight to the chat
        expect(page.locator("#email")).to_have_count(0)
        shot(page, "21-customer-header-auth")

        fake.push(text("Your order #W1000002 was delivered."))
        send(page, "where is my order #W1000002?")
        assistant(page, "Your order #W1000002 was delivered.")
        thread_id = _thread_id(page)
        expect(page.locator("#deskgraph-stage")).to_have_text("Stage: Order desk")  # identified before turn one
        # The graph looked the order up itself; the customer sees that it happened and that it worked, no more.
        step = page.locator(TOOL).filter(has_text="get_order_details").last
        expect(step).to_contain_text("Used get_order_details")
        page.locator("#step-get_order_details").last.click()
        expect(step).to_contain_text("ok")
        for raw in ("Items", "Desk Fan", "order_id", "status delivered"):
            expect(step).not_to_contain_text(raw)
        shot(page, "22-customer-tool-step-ok-only")

        view = _view(exposed, thread_id)
        assert (view.customer_id, view.verified_by) == (LENA, "token")
        asked = fake.requests[-1]
        offered = {t["function"]["name"] for t in asked.get("tools", [])}
        assert "find_user_id_by_email" not in offered and LENA in asked["messages"][0]["content"]
    finally:
        context.close()

    # Another customer never sees Lena's thread: not in the sidebar, not by its address.
    context, page = _customer_page(browser, OMAR)
    try:
        open_chat(page, exposed.url)
        expect(page.locator("#thread-history")).to_be_visible()
        expect(page.locator(f"li#thread-{thread_id}")).to_have_count(0)
        page.goto(f"{exposed.url}/thread/{thread_id}", wait_until="domcontentloaded")
        page.wait_for_timeout(1500)
        expect(page.get_by_text("Your order #W1000002 was delivered.")).to_have_count(0)
        shot(page, "23-other-customer-sees-nothing")
    finally:
        context.close()

    # Lena does, and the thread continues as hers.
    context, page = _customer_page(browser, LENA)
    try:
        open_chat(page, exposed.url)
        page.locator(f"li#thread-{thread_id}").click()
        assistant(page, "Your order #W1000002 was delivered.")
        fake.push(text("You're welcome, Lena!"))
        send(page, "thanks!")
        assistant(page, "You're welcome, Lena!")
        assert _view(exposed, thread_id).owner == LENA
        shot(page, "24-customer-resumed-own-thread")
    finally:
        context.close()


def test_operator_sees_tool_results_customer_threads_stay_theirs(page, exposed, fake):
    open_chat(page, exposed.url, USERNAME, PASSWORD)
    expect(page.locator("li[id^='thread-']")).to_have_count(0)  # the customers' threads are not the operator's
    fake.push(text("Hello Omar, how can I help?"))
    send(page, "hi, omar.haddad@example.com")
    assistant(page, "Hello Omar")
    page.locator("#step-find_user_id_by_email").last.click()
    expect(page.locator(TOOL).filter(has_text="find_user_id_by_email").last).to_contain_text(OMAR)
    shot(page, "25-operator-tool-result")


def test_login_attempts_are_rate_limited(page, exposed):
    """Last in this file: it uses up the login budget of 127.0.0.1 on this server."""
    page.goto(exposed.url, wait_until="domcontentloaded")
    for attempt in range(MAX_FAILURES + 1):
        page.locator("#email").fill(USERNAME)
        page.locator("#password").fill(f"wrong-{attempt}")
        with page.expect_response(re.compile(r"/login$")) as answer:
            page.locator('button[type="submit"]').click()
        assert answer.value.status == (401 if attempt < MAX_FAILURES else 429)
    shot(page, "26-login-rate-limited")
    # Now even the right password waits: the budget is per username and per address.
    refused = httpx.post(exposed.url + "/login", data={"username": USERNAME, "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    expect(page.locator(ASSISTANT)).to_have_count(0)
