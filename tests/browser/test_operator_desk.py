"""The operator desk in the browser, two people at once: a customer (Lena, arriving from the shop with her token)
asks for a person; an operator (password login, "Operator desk" profile) sees the ticket, claims it and replies,
and Lena sees it live; the operator proposes a change Lena confirms, hands the conversation back, and the agent
goes on with the operator's summary in front of it. Then the server restarts, and the thread Lena resumes from the
sidebar shows exactly the checkpointed conversation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from agent.auth import mint_customer_token
from tests.browser.chat import ASSISTANT, USER, assistant, open_chat, send
from tests.browser.conftest import (
    PASSWORD,
    USERNAME,
    UIServer,
    _local_only,
    seeded_root,
    shot,
    start_ui,
    stop_ui,
)
from tests.browser.test_chat_ui import _thread_id, _view
from tests.unit.fake_openai import FakeOpenAI, text, tool_calls
from tools import RetailStore

SECRET = "shop-signing-secret-desk-0123456789-abcdefghij"
LENA = "lena_moreau_3307"
SUMMARY = "Cancelled order #W1000001 (desk fan) at the customer's request; nothing else is open."


def _env(fake: FakeOpenAI) -> dict[str, str]:
    return {"DESKGRAPH_LLM_BASE_URL": fake.base_url, "DESKGRAPH_LLM_MODEL": "fake-qwen",
            "DESKGRAPH_LLM_MAX_RETRIES": "0",
            "CHAINLIT_AUTH_SECRET": "browser-tests-secret-desk-0123456789-abcdefghijklmnop",
            "DESKGRAPH_CUSTOMER_TOKEN_SECRET": SECRET}


@pytest.fixture(scope="module")
def desk_server(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    server = start_ui(seeded_root(tmp_path_factory, "deskgraph-ui-desk"), _env(fake))
    yield server
    stop_ui(server)


def _new_page(browser, headers: dict[str, str] | None = None):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, extra_http_headers=headers or {})
    context.route("**/*", _local_only)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def _customer(browser):
    token = mint_customer_token(LENA, SECRET, ttl_seconds=900)
    return _new_page(browser, {"Authorization": f"Bearer {token}"})


def _desk(browser, url: str):
    context, page = _new_page(browser)
    open_chat(page, url, USERNAME, PASSWORD)
    page.locator("#chat-profiles").click()
    page.get_by_role("option", name="Operator desk").click()
    expect(page.locator(ASSISTANT).filter(has_text="Ticket queue").last).to_be_visible()
    return context, page


def _texts(page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def test_a_person_takes_the_hand_over_and_gives_it_back(browser, desk_server, fake):
    lena_context, lena = _customer(browser)
    desk_context, desk = None, None
    try:
        # Lena asks for a person; the agent hands the case over.
        open_chat(lena, desk_server.url)
        fake.push(tool_calls(("transfer_to_escalation", {"reason": "wants a person"})),
                  tool_calls(("transfer_to_human_agents", {"summary": "Lena wants a person about her desk fan."})))
        send(lena, "I'd like to talk to a person about my desk fan order")
        handed = assistant(lena, "A person will take over")
        ticket = re.search(r"ticket #(\d+)", handed.inner_text()).group(1)
        thread_id = _thread_id(lena)

        # The operator sees it in the queue, opens it (the whole conversation), claims it.
        desk_context, desk = _desk(browser, desk_server.url)
        queue = desk.locator(ASSISTANT).filter(has_text="Ticket queue").last
        expect(queue).to_contain_text("wants a person")
        expect(queue).to_contain_text(LENA)
        shot(desk, "40-desk-queue")
        desk.get_by_role("button", name=f"Open #{ticket}").click()
        conversation = desk.locator(ASSISTANT).filter(has_text=f"(thread {thread_id})").last
        expect(conversation).to_contain_text("customer: I'd like to talk to a person about my desk fan order")
        expect(conversation).to_contain_text("-> transfer_to_human_agents")
        expect(conversation).to_contain_text("stage: order_desk -> escalation")
        desk.get_by_role("button", name="Claim").click()
        assistant(desk, f"You have claimed ticket #{ticket}")
        assistant(lena, f"{USERNAME} from our team has joined the conversation.")

        # The operator's reply reaches Lena live, under the operator's name; an internal note never does.
        send(desk, "/note Long-time customer, be quick.")
        assistant(desk, "Note added")
        send(desk, "Hi Lena, I can help with the desk fan. Do you want to cancel that order?")
        reply = assistant(lena, "Hi Lena, I can help with the desk fan.")
        expect(reply).to_contain_text(f"{USERNAME}: Hi Lena")  # the person's name on their message
        shot(lena, "41-customer-sees-operator-reply")

        # Lena answers: the message is the person's (the desk shows it live), the agent stays quiet.
        send(lena, "Yes please, cancel it, I no longer need it.")
        assistant(desk, "Customer: Yes please, cancel it, I no longer need it.")
        expect(lena.get_by_text("Long-time customer")).to_have_count(0)

        # A read for the customer, then a proposal Lena confirms with the usual buttons.
        send(desk, '/read get_order_details {"order_id": "#W1000001"}')
        expect(desk.locator(ASSISTANT).filter(has_text="get_order_details ok").last).to_contain_text("pending")
        send(desk, '/propose cancel_pending_order {"order_id": "#W1000001", "reason": "no longer needed"}')
        assistant(desk, "Proposed; it runs when the customer says yes.")
        assistant(lena, "Please confirm")
        shot(lena, "42-customer-confirms-operator-proposal")
        lena.get_by_role("button", name="Yes").click()
        assistant(lena, "Done, the change is made.")
        assert desk_server.order_status("#W1000001") == "cancelled"
        assistant(desk, "The customer answered the proposal")

        # Hand-back: the agent has the conversation again, with the operator's summary.
        desk.get_by_role("button", name="Hand back").last.click()  # asks for the summary the agent will read
        assistant(desk, "What did you do for the customer?")
        send(desk, SUMMARY)
        assistant(desk, f"Ticket #{ticket} is handed back to the assistant.")
        assistant(lena, f"{USERNAME} has handed you back to me")
        shot(desk, "43-desk-handed-back")
        fake.push(text("Your desk fan order is cancelled and refunded. Anything else I can do?"))
        send(lena, "Great, thanks. Is everything sorted now?")
        assistant(lena, "Your desk fan order is cancelled and refunded.")
        system = fake.requests[-1]["messages"][0]["content"]
        assert SUMMARY in system and USERNAME in system
        view = _view(desk_server, thread_id)
        assert view.stage == "order_desk" and view.ticket is None
        shot(lena, "44-agent-continues")

        # A thumb on the agent's reply is stored with the thread and the checkpointed message.
        last = lena.locator(ASSISTANT).filter(has_text="Your desk fan order is cancelled").last
        last.locator("button:has(svg.lucide-thumbs-up)").click()
        dialog = lena.get_by_role("dialog")
        dialog.locator("textarea").fill("Quick and kind.")
        dialog.get_by_role("button", name="Submit feedback").click()
        expect(dialog).to_have_count(0)
        shot(lena, "46-thumbs-up")
        rated = _ratings(desk_server, thread_id)
        reply_id = next(m.id for m in reversed(view.messages) if m.type == "ai" and m.content)
        assert [(r.message_id, r.value, r.comment, r.author) for r in rated] == [
            (reply_id, "up", "Quick and kind.", f"customer:{LENA}")]
    finally:
        lena_context.close()
        if desk_context is not None:
            desk_context.close()

    # After a restart, the thread Lena resumes shows exactly its checkpointed conversation.
    stop_ui(desk_server)
    restarted = start_ui(desk_server.root, _env(fake))
    desk_server.url, desk_server.proc = restarted.url, restarted.proc
    lena_context, lena = _customer(browser)
    try:
        open_chat(lena, desk_server.url)
        lena.locator(f"li#thread-{thread_id}").click()
        assistant(lena, "Your desk fan order is cancelled and refunded.")
        view = _view(desk_server, thread_id)
        said = [str(m.content) for m in view.messages if m.type == "human"]
        written = [str(m.content) for m in view.messages if m.type == "ai" and m.content]
        assert _texts(lena, USER) == said
        shown = [t for t in _texts(lena, ASSISTANT)
                 if not t.startswith(("Moved to", "Please confirm")) and "Welcome to our store" not in t]
        # A person's messages carry their name in front, as they did live.
        assert len(shown) == len(written), json.dumps(shown, indent=1)
        for on_page, checkpointed in zip(shown, written, strict=True):
            assert _plain(on_page) in (_plain(checkpointed), f"{USERNAME}: {_plain(checkpointed)}")
        shot(lena, "45-resumed-after-restart")
    finally:
        lena_context.close()


def _ratings(server: UIServer, thread_id: str) -> list:
    from agent.runtime.feedback import FeedbackBook

    store = RetailStore.open(server.store_db)
    try:
        return FeedbackBook(store).for_thread(thread_id)
    finally:
        store.close()


def _plain(text: str) -> str:
    """A message's words, without how Markdown drew them."""
    return " ".join(text.replace("*", "").split())
