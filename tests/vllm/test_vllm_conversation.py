"""A conversation through the real graph (flows dialogue) on a real vLLM server, surviving a server restart.

Identification by email (a stage change, through the email lookup tool), an order's status, then the model server
is stopped: a turn only the model can read fails cleanly (retryable), the server starts again on its port and the
kept message is retried; then a cancellation the customer confirms (a write). Asserts on store facts and events,
never on wording.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from agent.llm import build_chat_model
from agent.runtime import ConfirmationRequested, ErrorEvent, Reply, StageChanged, SupportRuntime, ToolResult
from tests.vllm.conftest import SERVED
from tools import RetailStore
from tools.generator import generate_dataset


@pytest.fixture
def shop(vllm_settings, vllm_url, tmp_path):
    data = generate_dataset(customers=30, seed=7)
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(data)
    store.close()
    settings = vllm_settings.model_copy(update={
        "store_db": tmp_path / "store.db", "checkpoint_db": tmp_path / "cp.db", "llm_base_url": vllm_url,
        "llm_model": SERVED, "today": dt.date(2026, 11, 26), "dialogue": "flows", "llm_max_retries": 0})
    return settings, data


def _customer_with_both(data: dict) -> tuple[str, dict, str, str, str]:
    """A customer with a delivered order (to ask about) and a pending one (to cancel) named by an item that is
    in no other order of theirs."""
    for user_id, user in data["users"].items():
        orders = {o: data["orders"][o] for o in user["orders"]}
        delivered = next((o for o, rec in orders.items() if rec["status"] == "delivered"), None)
        for oid, rec in orders.items():
            item = rec["items"][0]["name"]
            elsewhere = any(item == i["name"] for other, r in orders.items() if other != oid for i in r["items"])
            if delivered and rec["status"] == "pending" and not elsewhere:
                return user_id, user, delivered, oid, item.lower()
    raise AssertionError("no customer with a delivered order and a pending one")


def _prefix_cache_hits(url: str) -> float:
    text = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vllm:prefix_cache_hits_total"))


async def test_conversation_with_read_confirmed_write_stage_change_and_restart(shop, vllm):
    settings, data = shop
    user_id, user, delivered, pending, item = _customer_with_both(data)
    async with SupportRuntime.open(settings, model=build_chat_model(settings)) as rt:
        first = await rt.turn("t", f"Hi, my email is {user['email']}.")
        print("1:", first.reply)
        assert any(isinstance(e, StageChanged) and e.target == "order_desk" for e in first.events)
        assert any(isinstance(e, ToolResult) and e.name == "find_user_id_by_email" and e.result == user_id
                   for e in first.events)

        second = await rt.turn("t", f"What is the status of my order {delivered}?")
        print("2:", second.reply)
        assert delivered in second.reply and "delivered" in second.reply.lower()

        vllm.stop()  # the model server goes away mid-conversation
        # Nothing in it code can read (no id, email, zip, reason): only the model can, so the turn fails, cleanly.
        failed = await rt.turn("t", "Could you tell me which payment methods I have on file?")
        errors = [e for e in failed.events if isinstance(e, ErrorEvent)]
        print("while down:", errors)
        assert errors and errors[0].retryable

        vllm.start()
        retried = [e async for e in rt.retry("t")]
        print("retried after the restart:", retried)
        assert not any(isinstance(e, ErrorEvent) for e in retried)
        assert any(isinstance(e, Reply) and e.text.strip() for e in retried)

        third = await rt.turn("t", f"Please cancel my pending order with the {item}, I ordered it by mistake.")
        asked = [e for e in third.events if isinstance(e, ConfirmationRequested)]
        print("3:", third.events)
        assert asked and asked[0].tool == "cancel_pending_order"
        assert asked[0].arguments == {"order_id": pending, "reason": "ordered by mistake"}
        done = [e async for e in rt.answer_confirmation("t", True)]
        print("after yes:", [getattr(e, "text", "") for e in done])
        assert any(isinstance(e, ToolResult) and e.name == "cancel_pending_order" and e.ok for e in done)
    store = RetailStore.open(settings.store_db)
    assert store.order_record(pending)["status"] == "cancelled"
    store.close()
    assert _prefix_cache_hits(vllm.url) > 0
