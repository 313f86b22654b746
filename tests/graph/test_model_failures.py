"""A conversation survives every way the model server can fail: a real local fake OpenAI-compatible server
answers with each failure, the turn ends with a friendly error event, nothing is lost, and the next attempt
continues the same thread."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.llm import build_chat_model
from agent.runtime import ErrorEvent, Reply, SupportRuntime
from agent.settings import Settings
from tests.fixtures_data import small_dataset
from tests.unit.fake_openai import Fail, FakeOpenAI, text
from tools import RetailStore

FAILURES = {
    "http_500": Fail.http(500),
    "malformed_json": Fail.malformed(),
    "empty_choices": Fail.empty_choices(),
    "timeout": Fail.sleep(3.0),
}


@pytest.fixture
def shop(tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(small_dataset())
    store.close()
    return tmp_path


def _settings(root, base_url: str) -> Settings:
    return Settings(store_db=root / "store.db", checkpoint_db=root / "cp.db", llm_base_url=base_url,
                    llm_model="fake-qwen", llm_timeout=1.0, llm_max_retries=0, today=dt.date(2026, 11, 26),
                    _env_file=None)


async def _collect(stream):
    return [event async for event in stream]


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_conversation_survives_model_failure(shop, failure):
    with FakeOpenAI() as fake:
        settings = _settings(shop, fake.base_url)
        async with SupportRuntime.open(settings, model=build_chat_model(settings)) as rt:
            fake.push(text("Hello Lena, how can I help?"))
            await _collect(rt.send("t", "hi, lena.moreau5521@example.com"))
            fake.push(FAILURES[failure])
            events = await _collect(rt.send("t", "Where is my order #W1000002?"))
            error = events[-1]
            assert isinstance(error, ErrorEvent) and error.retryable, events
            assert "{" not in error.message and "Traceback" not in error.message
            view = await rt.view("t")
            assert view.customer_id == "lena_moreau_3307" and view.failed_turn
            fake.push(text("It was delivered."))
            events = await _collect(rt.retry("t"))
            assert [e.text for e in events if isinstance(e, Reply)] == ["It was delivered."]


async def test_conversation_survives_connection_refused(shop):
    fake = FakeOpenAI().start()
    settings = _settings(shop, fake.base_url)
    async with SupportRuntime.open(settings, model=build_chat_model(settings)) as rt:
        fake.push(text("Hello Lena."))
        await _collect(rt.send("t", "hi, lena.moreau5521@example.com"))
        fake.stop()  # the server goes away
        events = await _collect(rt.send("t", "Where is my order #W1000002?"))
        assert isinstance(events[-1], ErrorEvent) and events[-1].retryable
        assert (await rt.view("t")).failed_turn
        # A new server on the same port takes over; the thread continues where it stopped.
        revived = FakeOpenAI(port=fake.port).start()
        try:
            revived.push(text("It was delivered."))
            events = await _collect(rt.retry("t"))
            assert [e.text for e in events if isinstance(e, Reply)] == ["It was delivered."]
        finally:
            revived.stop()
