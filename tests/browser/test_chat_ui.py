"""The web chat in a real browser: streaming, tool steps, confirmation buttons, errors, thread resume."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re

from playwright.sync_api import expect

from tests.browser.chat import ASSISTANT, TOOL, assistant, open_chat, send
from tests.browser.conftest import PASSWORD, USERNAME, shot
from tests.unit.fake_openai import Fail, text, tool_calls

LOGIN = "lena.moreau5521@example.com"


def _thread_id(page) -> str:
    page.wait_for_url(re.compile(r"/thread/[0-9a-f-]{36}"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def _view(server, thread_id: str):
    """The LangGraph thread as the runtime sees it (read from the checkpoint file, no model)."""
    from agent.runtime import SupportRuntime
    from agent.runtime.conversation import NoModel
    from agent.settings import Settings

    settings = Settings(store_db=server.store_db, checkpoint_db=server.checkpoint_db, _env_file=None)

    async def read():
        async with SupportRuntime.open(settings, model=NoModel()) as rt:
            return await rt.view(thread_id)

    # Playwright's sync API keeps an event loop running in this thread: read on another one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result(30)


def test_login_stream_tool_step_and_confirmation(page, ui_server, fake):
    open_chat(page, ui_server.url, USERNAME, PASSWORD)
    shot(page, "01-welcome")

    fake.push(text("Welcome back, Lena! How can I help you today?", token_delay=0.02))
    send(page, f"hi, {LOGIN} here")
    reply = assistant(page, "Welcome back, Lena!")
    expect(reply).to_contain_text("How can I help you today?")
    expect(page.get_by_text("Moved to the order desk")).to_be_visible()
    expect(page.locator("#deskgraph-stage")).to_have_text("Stage: Order desk")
    shot(page, "02-streamed-reply")

    fake.push(tool_calls(("get_order_details", {"order_id": "#W1000001"})),
              text("Order #W1000001 is pending: a desk fan and a yoga block."))
    send(page, "what is the status of my pending order?")
    assistant(page, "Order #W1000001 is pending")
    step = page.locator(TOOL).filter(has_text="get_order_details").last
    expect(step).to_contain_text("Used get_order_details")
    expect(step).not_to_contain_text('"status": "pending"')  # collapsed by default
    page.locator("#step-get_order_details").last.click()
    expect(step).to_contain_text('"status": "pending"')  # the tool's result
    expect(step).to_contain_text('"order_id": "#W1000001"')
    shot(page, "03-tool-step")
    page.locator("#step-get_order_details").last.click()

    fake.push(tool_calls(("cancel_pending_order", {"order_id": "#W1000001", "reason": "no longer needed"})),
              text("Your order #W1000001 is cancelled."))
    send(page, "please cancel #W1000001")  # no reason given: the model makes the call
    yes = page.get_by_role("button", name="Yes")
    expect(yes).to_be_visible()
    expect(page.get_by_role("button", name="No")).to_be_visible()
    expect(page.locator(ASSISTANT).filter(has_text="Please confirm").last).to_contain_text("W1000001")
    assert ui_server.order_status("#W1000001") == "pending"
    shot(page, "04-confirmation")

    yes.click()
    assistant(page, "Your order #W1000001 is cancelled.")
    expect(page.get_by_role("button", name="Yes")).to_have_count(0)
    assert ui_server.order_status("#W1000001") == "cancelled"
    shot(page, "05-confirmed")


def test_model_error_shows_retry_and_retry_continues(page, ui_server, fake):
    open_chat(page, ui_server.url, USERNAME, PASSWORD)
    fake.push(Fail.http(500))
    send(page, "hello, can you help me with an order?")
    notice = assistant(page, "trouble answering")
    expect(notice).not_to_contain_text("Traceback")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    shot(page, "06-error-retry")
    thread_id = _thread_id(page)
    assert _view(ui_server, thread_id).failed_turn

    # The failed turn survives leaving the page: the resumed thread offers Retry again.
    open_chat(page, ui_server.url)
    page.locator(f"li#thread-{thread_id}").click()
    assistant(page, "trouble answering")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    fake.push(text("Of course! Please tell me the email address on your account."))
    retry.click()
    assistant(page, "Please tell me the email address on your account.")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    view = _view(ui_server, _thread_id(page))
    assert not view.failed_turn and view.messages[-1].content.startswith("Of course!")
    shot(page, "07-retried")


def test_persona_setting_and_thread_resume(page, ui_server, fake):
    open_chat(page, ui_server.url, USERNAME, PASSWORD)
    page.locator("#chat-settings-open-modal").click()
    page.locator("#persona").click()
    page.get_by_role("option", name="formal").click()
    shot(page, "08-settings")
    page.get_by_role("button", name="Confirm").click()

    fake.push(text("Good day, Ms Moreau. How may I assist you?"))
    send(page, f"hello, I am {LOGIN}")
    assistant(page, "How may I assist you?")
    thread_id = _thread_id(page)
    view = _view(ui_server, thread_id)
    assert view.persona == "formal" and view.customer_id == "lena_moreau_3307"

    # A fresh page load starts a new chat; the old thread is in the sidebar and resumes where it stopped.
    open_chat(page, ui_server.url)
    item = page.locator(f"li#thread-{thread_id}")
    expect(item).to_be_visible()
    item.click()
    assistant(page, "How may I assist you?")
    expect(page.locator(ASSISTANT).filter(has_text="Welcome to our store").first).to_be_visible()
    expect(page.locator("#deskgraph-stage")).to_have_text("Stage: Order desk")
    expect(page.locator(TOOL).filter(has_text="Used find_user_id_by_email")).to_be_visible()
    shot(page, "09-resumed")

    fake.push(text("Certainly. Your order #W1000002 was delivered."))
    send(page, "was my order #W1000002 delivered?")
    assistant(page, "Your order #W1000002 was delivered.")
    assert _thread_id(page) == thread_id
    view = _view(ui_server, thread_id)
    humans = [m.content for m in view.messages if m.type == "human"]
    assert humans == [f"hello, I am {LOGIN}", "was my order #W1000002 delivered?"]
    assert view.persona == "formal"
    # The persona came back with the thread.
    page.locator("#chat-settings-open-modal").click()
    expect(page.locator("#persona")).to_contain_text("formal")
    shot(page, "10-resumed-settings")


def test_local_demo_without_login(page, fake, tmp_path):
    """Auth off (the default): no login page, the chat works; history is not listed without a user."""
    from tests.browser.conftest import start_ui, stop_ui
    from tests.fixtures_data import small_dataset
    from tools import RetailStore

    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(small_dataset())
    store.close()
    server = start_ui(tmp_path, {"DESKGRAPH_UI_AUTH": "false", "DESKGRAPH_LLM_BASE_URL": fake.base_url,
                                 "DESKGRAPH_LLM_MODEL": "fake-qwen", "DESKGRAPH_LLM_MAX_RETRIES": "0"})
    try:
        open_chat(page, server.url)
        expect(page.locator("#email")).to_have_count(0)
        fake.push(text("Hello! What can I do for you?", token_delay=0.01))
        send(page, "hi there")
        assistant(page, "What can I do for you?")
        expect(page.locator("#deskgraph-stage")).to_have_text("Stage: Intake")
        shot(page, "12-no-login")
    finally:
        stop_ui(server)


def test_escalation_shows_ticket_and_acknowledges(page, ui_server, fake):
    open_chat(page, ui_server.url, USERNAME, PASSWORD)
    fake.push(tool_calls(("transfer_to_escalation", {"reason": "wants a person"})),
              tool_calls(("transfer_to_human_agents", {"summary": "Anonymous visitor wants a person."})))
    send(page, "get me a human please")
    notice = assistant(page, "A person will take over")
    ticket = re.search(r"ticket #(\d+)", notice.inner_text()).group(1)
    expect(page.locator("#deskgraph-stage")).to_have_text("Stage: Escalation")
    shot(page, "13-escalated")

    send(page, "hello? anyone there?")  # no model call: the runtime acknowledges on the ticket
    assistant(page, f"added your message to ticket #{ticket}")


def test_resumed_thread_keeps_its_pending_confirmation(page, ui_server, fake):
    open_chat(page, ui_server.url, USERNAME, PASSWORD)
    fake.push(text("Hello Omar, how can I help?"))
    send(page, "hi, omar.haddad@example.com")
    assistant(page, "Hello Omar")
    thread_id = _thread_id(page)
    fake.push(tool_calls(("cancel_pending_order", {"order_id": "#W2000001", "reason": "ordered by mistake"})))
    send(page, "cancel #W2000001")  # no reason given: the model makes the call
    expect(page.get_by_role("button", name="Yes")).to_be_visible()

    open_chat(page, ui_server.url)  # leave, come back through the sidebar
    page.locator(f"li#thread-{thread_id}").click()
    assistant(page, "Please confirm")
    yes = page.get_by_role("button", name="Yes")
    expect(yes).to_be_visible()
    shot(page, "14-resumed-confirmation")
    fake.push(text("Done: order #W2000001 is cancelled."))
    yes.click()
    assistant(page, "Done: order #W2000001 is cancelled.")
    assert ui_server.order_status("#W2000001") == "cancelled"
