"""Threads started with a customer token: identified from the first turn, and nobody else's."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.runtime import InvalidInputError, Reply, SupportRuntime, ThreadNotFoundError, ToolCalled
from agent.settings import Settings
from agent.testing import ScriptedChatModel
from tests.fixtures_data import small_dataset
from tools import RetailStore


@pytest.fixture
def settings(tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(small_dataset())
    store.close()
    return Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "cp.db", today=dt.date(2026, 11, 26),
                    _env_file=None)


async def _collect(stream) -> list:
    return [event async for event in stream]


async def test_token_thread_starts_identified_at_the_order_desk(settings):
    model = ScriptedChatModel(["Hello Lena, your order #W1000002 was delivered."])
    async with SupportRuntime.open(settings, model=model) as rt:
        events = await _collect(rt.send("c1", "where is #W1000002?", customer_id="lena_moreau_3307"))
        assert not any(isinstance(e, ToolCalled) and e.name.startswith("find_user") for e in events)
        assert [e.text for e in events if isinstance(e, Reply)] == ["Hello Lena, your order #W1000002 was delivered."]
        assert {e.stage for e in events if isinstance(e, Reply | ToolCalled)} == {"order_desk"}  # the UI's badge
        view = await rt.view("c1")
        assert (view.customer_id, view.verified_by, view.stage, view.owner) == (
            "lena_moreau_3307", "token", "order_desk", "lena_moreau_3307")
        # The model was asked at the order desk, with the customer already identified in its prompt.
        messages, tools = model.requests[0]
        assert "find_user_id_by_email" not in tools and "lena_moreau_3307" in messages[0].content
    model.assert_complete()


async def test_another_customers_thread_does_not_exist(settings):
    model = ScriptedChatModel(["Hello Lena."])
    async with SupportRuntime.open(settings, model=model) as rt:
        await _collect(rt.send("c1", "hi", customer_id="lena_moreau_3307"))
        with pytest.raises(ThreadNotFoundError):
            await _collect(rt.send("c1", "cancel #W1000001", customer_id="omar_haddad_1234"))
        with pytest.raises(ThreadNotFoundError):
            await _collect(rt.answer_confirmation("c1", True, customer_id="omar_haddad_1234"))
        with pytest.raises(ThreadNotFoundError):
            await _collect(rt.retry("c1", customer_id="omar_haddad_1234"))
        # A thread identified in chat (by email) belongs to no token holder either.
        model.extend(["Hello again."])
        await _collect(rt.send("anon", "lena.moreau5521@example.com"))
        with pytest.raises(ThreadNotFoundError):
            await rt.check_access("anon", "lena_moreau_3307")
        await rt.check_access("c1", None)  # operators reach every thread
        with pytest.raises(InvalidInputError):
            await _collect(rt.send("c2", "hi", customer_id="nobody_0000"))
        assert len((await rt.view("c1")).messages) == 2
    model.assert_complete()
