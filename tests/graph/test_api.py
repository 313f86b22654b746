"""The HTTP service over the runtime: server-sent events, confirmation, thread views and forks."""

from __future__ import annotations

import pytest

from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, operator_headers, shop_settings
from tests.graph.api_support import events as _events


@pytest.fixture
def settings(tmp_path, on_both_engines):
    return shop_settings(tmp_path)


async def test_conversation_over_http(settings):
    model = ScriptedChatModel(["Hello Lena!", "Cancelled."])
    async with client(settings, model) as c:
        c.headers.update(operator_headers(settings))
        r = await c.post("/threads/h1/messages", json={"text": "lena.moreau5521@example.com"})
        kinds = [e["kind"] for e in _events(r.text)]
        assert r.headers["content-type"].startswith("text/event-stream")
        assert "stage_changed" in kinds and kinds[-1] == "reply"
        r = await c.post("/threads/h1/confirmation", json={"approved": True})
        assert r.status_code == 409  # nothing pending yet
        r = await c.post("/threads/h1/messages", json={"text": "cancel #W1000001, by mistake"})
        assert _events(r.text)[-1]["kind"] == "confirmation_requested"
        r = await c.post("/threads/h1/confirmation", json={"approved": True})
        assert any(e["kind"] == "tool_result" and '"cancelled"' in e["result"] for e in _events(r.text))
        view = (await c.get("/threads/h1")).json()
        assert view["customer_id"] == "lena_moreau_3307" and view["pending_confirmation"] is None
        checkpoints = (await c.get("/threads/h1/checkpoints")).json()
        forked = await c.post("/threads/h1/fork", json={"checkpoint_id": checkpoints[-3]["checkpoint_id"],
                                                             "new_thread_id": "h2"})
        assert forked.json() == {"thread_id": "h2"}
        assert set((await c.get("/threads")).json()) == {"h1", "h2"}
        assert (await c.get("/threads/nope")).status_code == 404
        assert (await c.post("/threads/h1/messages", json={"text": ""})).status_code == 422
    model.assert_complete()
