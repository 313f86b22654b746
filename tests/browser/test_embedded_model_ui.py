"""Smoke test: `deskgraph ui` with no model server configured starts the embedded model and answers, in the
product's default (flows) dialogue: the model reads the message, code identifies the customer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from agent.llm.pull import MODEL_SPECS
from agent.settings import Settings
from tests.browser.chat import ASSISTANT, WELCOME, open_chat, send
from tests.browser.conftest import PASSWORD, USERNAME, shot, start_ui, stop_ui
from tests.fixtures_data import small_dataset
from tools import RetailStore


def _cached_model() -> Path | None:
    """The GGUF `deskgraph model pull` left in the cache (or DESKGRAPH_MODEL_PATH), without downloading."""
    settings = Settings(_env_file=None)
    if settings.model_path:
        return settings.model_path if Path(settings.model_path).is_file() else None
    spec = MODEL_SPECS[settings.embedded_model]
    cache = Path(settings.model_cache_dir).expanduser()
    return next((cache / name for name in spec.cache_names() if (cache / name).is_file()), None)


pytestmark = [
    pytest.mark.browser,
    pytest.mark.model,
    pytest.mark.skipif(_cached_model() is None,
                       reason="embedded model file absent: run `deskgraph model pull` first (no download in tests)"),
]


@pytest.fixture(scope="module")
def embedded_ui(tmp_path_factory):
    root = tmp_path_factory.mktemp("deskgraph-ui-embedded")
    store = RetailStore.open(root / "store.db")
    store.load_json(small_dataset())
    store.close()
    server = start_ui(root, {
        "DESKGRAPH_EMBEDDED_THREADS": str(max(2, min(8, os.cpu_count() or 2))),
        "DESKGRAPH_LLM_TIMEOUT": "240",
        "DESKGRAPH_DIALOGUE": "flows",
        "CHAINLIT_AUTH_SECRET": "browser-tests-secret-embedded-0123456789-abcdefghijklmnop",
    }, startup_timeout=300)
    yield server
    stop_ui(server)


def test_hello_on_the_embedded_model(page, embedded_ui):
    assert "DESKGRAPH_LLM_BASE_URL" not in embedded_ui.env
    open_chat(page, embedded_ui.url, USERNAME, PASSWORD)
    send(page, "Hi, I'm Omar Haddad, zip 10001. What's the status of my order?")
    reply = page.locator(ASSISTANT).filter(has_not_text=WELCOME).filter(has_text="a").last
    expect(reply).to_be_visible(timeout=240_000)
    # Wait for the streamed reply to finish (the copy button appears when the message is complete).
    page.wait_for_function(
        """() => { const m = [...document.querySelectorAll('[data-step-type="assistant_message"]')];
                  const last = m[m.length - 1];
                  return last && !last.textContent.includes("Welcome to our store") && last.innerText.trim().length > 0
                         && !!last.querySelector('.lucide-copy'); }""", timeout=240_000)
    text = page.locator(ASSISTANT).last.inner_text().strip()
    assert text and "trouble answering" not in text, text
    # Identified by name + zip, and the one order's status answered from the store.
    page.get_by_text("Thank you, Omar, I found your account.").wait_for(timeout=10_000)
    shot(page, "11-embedded-model")
