"""The product on the embedded real model: identification, an order's status, a model-made tool call.

Asserts on store facts in the replies and on the tool calls made, never on wording.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agent.llm import build_chat_model
from agent.runtime import SupportRuntime, ToolCalled, ToolResult
from tools import RetailStore
from tools.generator import generate_dataset


@pytest.fixture
def shop(settings, base_url, tmp_path):
    """Settings for the embedded server already running, over a fresh generated store."""
    data = generate_dataset(customers=30, seed=7)
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(data)
    store.close()
    s = settings.model_copy(update={"store_db": tmp_path / "store.db", "checkpoint_db": tmp_path / "cp.db",
                                    "llm_base_url": base_url, "today": dt.date(2026, 11, 26)})
    return s, data


def _customer_with(data: dict, status: str) -> tuple[str, dict, str]:
    for user_id, user in data["users"].items():
        for order_id in user["orders"]:
            if data["orders"][order_id]["status"] == status:
                return user_id, user, order_id
    raise AssertionError(f"no {status} order in the generated data")


async def test_identify_by_email_then_order_status(shop):
    settings, data = shop
    user_id, user, order_id = _customer_with(data, "delivered")
    model = build_chat_model(settings)
    async with SupportRuntime.open(settings, model=model) as rt:
        first = await rt.turn("real", f"Hi, my email is {user['email']}.")
        print("turn 1:", first.reply)
        view = await rt.view("real")
        assert view.customer_id == user_id and view.stage == "order_desk"
        second = await rt.turn("real", f"What is the status of my order {order_id}?")
        print("turn 2:", second.reply)
    calls = [(e.name, e.arguments) for e in first.events + second.events if isinstance(e, ToolCalled)]
    assert ("find_user_id_by_email", {"email": user["email"]}) in calls
    assert ("get_order_details", {"order_id": order_id}) in calls
    assert "delivered" in second.reply.lower()
    assert "{" not in second.reply  # never raw JSON to the customer


async def test_model_calls_the_name_and_zip_lookup_itself(shop):
    settings, data = shop
    user_id, user, _ = _customer_with(data, "pending")
    name, zip_code = user["name"], user["address"]["zip"]
    model = build_chat_model(settings)
    async with SupportRuntime.open(settings, model=model) as rt:
        outcome = await rt.turn("zip", f"Hello, I don't remember my email. I am {name['first_name']} "
                                       f"{name['last_name']} and my zip code is {zip_code}.")
        print("reply:", outcome.reply)
        view = await rt.view("zip")
    calls = [e for e in outcome.events if isinstance(e, ToolCalled)]
    results = [e for e in outcome.events if isinstance(e, ToolResult)]
    print("calls:", [(c.name, json.dumps(c.arguments)) for c in calls])
    lookup = next(c for c in calls if c.name == "find_user_id_by_name_zip")
    assert lookup.arguments["zip"] == zip_code
    assert lookup.arguments["first_name"].lower() == name["first_name"].lower()
    assert any(r.result == user_id for r in results)
    assert view.customer_id == user_id and view.stage == "order_desk"
    assert outcome.reply.strip() and "{" not in outcome.reply
