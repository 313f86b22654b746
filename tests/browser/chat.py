"""Page helpers for the deskgraph chat (selectors seen working with Chainlit 2.12)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

WELCOME = "Welcome to our store's customer service"
ASSISTANT = '[data-step-type="assistant_message"]'
USER = '[data-step-type="user_message"]'
TOOL = '[data-step-type="tool"]'


def open_chat(page: Page, url: str, username: str | None = None, password: str | None = None) -> None:
    """Open the app, log in when asked, wait for the welcome message (the input re-mounts before it)."""
    page.goto(url, wait_until="domcontentloaded")
    if username is not None:
        page.locator("#email").fill(username)
        page.locator("#password").fill(password or "")
        page.locator('button[type="submit"]').click()
    expect(page.locator(ASSISTANT).filter(has_text=WELCOME)).to_be_visible(timeout=30_000)


def send(page: Page, text: str) -> None:
    """Type a message and send it."""
    box, submit = page.locator("#chat-input"), page.locator("#chat-submit")
    # After the first message the page moves to /thread/<id> and the input can re-mount, dropping typed text:
    # type again until the text stays and the send button is enabled.
    for _ in range(20):
        box.click()
        box.fill(text)
        page.wait_for_timeout(150)
        if box.input_value() == text and submit.is_enabled():
            break
    submit.click()
    expect(page.locator(USER).filter(has_text=text).last).to_be_visible()


def assistant(page: Page, text: str, timeout: float = 30_000):
    """Wait for an assistant message containing ``text``; return its locator."""
    loc = page.locator(ASSISTANT).filter(has_text=text).last
    expect(loc).to_be_visible(timeout=timeout)
    return loc
