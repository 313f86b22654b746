"""The web UI's data layer over the runtime: thread lists per web user, resumed threads built from the
checkpoints (what a customer may see of tools, a person's name on their messages, the checkpointed message ids),
ratings stored on the right message, deletion of the conversation itself. No browser: the Chainlit data-layer
calls are made directly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Importing chainlit writes .chainlit/ into its app root (default: the cwd): point it at ui/.
os.environ.setdefault("CHAINLIT_APP_ROOT", str(Path(__file__).resolve().parents[2] / "ui"))

from chainlit.types import Feedback, Pagination, ThreadFilter

from agent.runtime import SupportRuntime
from agent.testing import ScriptedChatModel
from tests.graph.api_support import LENA, shop_settings
from ui.data_layer import CheckpointDataLayer

LENA_WEB, OMAR_WEB, TESTER = f"customer:{LENA}", "customer:omar_haddad_1234", "tester"


@pytest.fixture
async def layer(tmp_path):
    settings = shop_settings(tmp_path, dialogue="flows")
    async with SupportRuntime.open(settings, model=ScriptedChatModel(["{}"] * 30)) as runtime:
        async def get() -> SupportRuntime:
            return runtime

        data = CheckpointDataLayer(get)
        # Lena (shop token) asks for a person; Alice claims the case, replies and proposes a cancellation.
        await runtime.turn("w1", "I want to talk to a human", customer_id=LENA)
        ticket = (await runtime.view("w1")).ticket["id"]
        await runtime.claim_ticket(ticket, "alice")
        await runtime.operator_reply("w1", "alice", "Hello Lena, Alice here.")
        await runtime.propose_write(ticket, "alice", "cancel_pending_order",
                                    {"order_id": "#W1000001", "reason": "no longer needed"})
        # An operator's own test chat, started in the web UI.
        await data.update_thread("w2", user_id=TESTER)
        await runtime.turn("w2", "hello, my email is lena.moreau5521@example.com")
        await data.update_thread("w3", user_id=TESTER)  # a chat that never got a message: no conversation
        yield data, runtime


async def _ids(data: CheckpointDataLayer, user: str) -> list[str]:
    page = await data.list_threads(Pagination(first=20), ThreadFilter(userId=user))
    return [t["id"] for t in page.data]


async def test_each_web_user_lists_their_own_threads(layer):
    data, _ = layer
    assert await _ids(data, LENA_WEB) == ["w1"]  # started through the shop's token, not in the web UI
    assert await _ids(data, TESTER) == ["w2"]
    assert await _ids(data, OMAR_WEB) == []
    page = await data.list_threads(Pagination(first=20), ThreadFilter(userId=LENA_WEB, search="HUMAN"))
    assert [t["name"] for t in page.data] == ["I want to talk to a human"]
    assert (await data.list_threads(Pagination(first=20), ThreadFilter(userId=LENA_WEB, search="refund"))).data == []
    assert await data.get_thread_author("w1") == LENA_WEB and await data.get_thread_author("w2") == TESTER
    assert await data.get_thread("w3") is None and await data.get_thread("nope") is None


async def test_a_resumed_thread_is_its_checkpointed_conversation(layer):
    data, runtime = layer
    view = await runtime.view("w1")
    thread = await data.get_thread("w1")
    assert thread["userIdentifier"] == LENA_WEB
    steps = thread["steps"]
    said = [s["output"] for s in steps if s["type"] == "user_message"]
    assert said == [str(m.content) for m in view.messages if m.type == "human"]
    written = {m.id: str(m.content) for m in view.messages if m.type == "ai" and m.content}
    replies = {s["id"]: s["output"] for s in steps if s["id"] in written}
    assert set(replies) == set(written)  # every reply, under its checkpointed id
    assert replies[next(i for i, t in written.items() if t.startswith("Hello Lena"))] == (
        "**alice:** Hello Lena, Alice here.")
    tool = next(s for s in steps if s["type"] == "tool")
    assert tool["name"] == "transfer_to_human_agents" and tool["input"] == "" and tool["output"] == "ok"
    assert steps[-1]["name"] == "Confirmation" and "Cancel order #W1000001" in steps[-1]["output"]
    assert any(s["output"].startswith("Moved to escalation") for s in steps)
    assert [s["createdAt"] for s in steps] == sorted(s["createdAt"] for s in steps)
    # An operator's own thread shows tool arguments and results.
    operator_tool = next(s for s in (await data.get_thread("w2"))["steps"] if s["type"] == "tool")
    assert "lena.moreau5521@example.com" in operator_tool["input"] and LENA in operator_tool["output"]


async def test_ratings_land_on_the_checkpointed_message(layer):
    data, runtime = layer
    reply = next(m for m in (await runtime.view("w1")).messages if m.type == "ai" and m.content)
    rating = await data.upsert_feedback(Feedback(forId=reply.id, value=0, threadId="w1", comment="slow"))
    [stored] = runtime.feedback.for_thread("w1")
    assert (stored.id, stored.message_id, stored.value, stored.author) == (rating, reply.id, "down", LENA_WEB)
    # A live turn is rated on its run step, which stands for the turn's last reply.
    await data.rated_step("run-1", "w1", reply.id)
    assert await data.upsert_feedback(Feedback(forId="run-1", value=1, threadId="w1")) == rating
    assert runtime.feedback.for_thread("w1")[0].value == "up"
    thread = await data.get_thread("w1")
    assert next(s for s in thread["steps"] if s["id"] == reply.id)["feedback"]["value"] == 1
    with pytest.raises(ValueError, match="Only the assistant's messages"):
        await data.upsert_feedback(Feedback(forId="not-a-message", value=1, threadId="w1"))
    with pytest.raises(ValueError, match="Only the assistant's messages"):
        await data.upsert_feedback(Feedback(forId=reply.id, value=1, threadId="desk-session"))
    assert await data.delete_feedback(rating) and runtime.feedback.for_thread("w1") == []


async def test_deleting_a_thread_deletes_the_conversation(layer):
    data, runtime = layer
    await data.delete_thread("w2")
    assert not (await runtime.view("w2")).exists and await _ids(data, TESTER) == []
    await data.delete_thread("w3")  # never checkpointed: only its author row goes
    assert await data.get_thread_author("w3") == ""
