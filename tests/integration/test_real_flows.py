"""The flows dialogue on the embedded real model: one message with identity (name + zip), a described item and
the task; code resolves everything and asks for confirmation with exact arguments. Asserts on the store's
facts and the write's arguments, never on wording."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.llm import build_chat_model
from agent.runtime import ConfirmationRequested, SupportRuntime
from tools import RetailStore
from tools.generator import generate_dataset


@pytest.fixture
def flows_shop(settings, base_url, tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(generate_dataset())
    store.close()
    return settings.model_copy(update={"store_db": tmp_path / "store.db", "checkpoint_db": tmp_path / "cp.db",
                                       "llm_base_url": base_url, "today": dt.date(2026, 11, 26),
                                       "dialogue": "flows"})


async def test_return_described_in_one_message_is_resolved_by_code(flows_shop):
    model = build_chat_model(flows_shop)
    text = "Hi, I'm Lucas Smith, zip code 43221. I want to return the jigsaw puzzle I got."
    async with SupportRuntime.open(flows_shop, model=model) as rt:
        outcome = await rt.turn("flows-return", text)
        print("replies:", [e.text for e in outcome.events if hasattr(e, "text")])
        asked = [e for e in outcome.events if isinstance(e, ConfirmationRequested)]
        assert asked, f"no confirmation asked: {outcome.events}"
        print("confirmation:", asked[0].summary)
        assert asked[0].tool == "return_delivered_order_items"
        assert asked[0].arguments == {"order_id": "#W1194268", "item_ids": ["5660479901"],
                                      "payment_method_id": "paypal_3004290"}
        done = [e async for e in rt.answer_confirmation("flows-return", True)]
        print("after yes:", [getattr(e, "text", "") for e in done])
    store = RetailStore.open(flows_shop.store_db)
    assert store.order_record("#W1194268")["status"] == "return requested"
    store.close()
