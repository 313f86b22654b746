"""The HTTP service over the runtime: server-sent events, confirmation, thread views and forks."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from agent.api import create_app
from agent.settings import Settings
from agent.testing import ScriptedChatModel
from tests.fixtures_data import small_dataset
from tools import RetailStore


def _events(text: str) -> list[dict]:
    return [json.loads(block.split("data: ", 1)[1]) for block in text.strip().split("\n\n")
            if "data: " in block and not block.startswith("event: done")]


@pytest.fixture
def settings(tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(small_dataset())
    store.close()
    return Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "cp.db", today=dt.date(2026, 11, 26),
                    _env_file=None)


async def test_conversation_over_http(settings):
    model = ScriptedChatModel(["Hello Lena!", "Cancelled."])
    app = create_app(settings, model=model)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.post("/threads/h1/messages", json={"text": "lena.moreau5521@example.com"})
            kinds = [e["kind"] for e in _events(r.text)]
            assert r.headers["content-type"].startswith("text/event-stream")
            assert "stage_changed" in kinds and kinds[-1] == "reply"
            r = await client.post("/threads/h1/confirmation", json={"approved": True})
            assert r.status_code == 409  # nothing pending yet
            r = await client.post("/threads/h1/messages", json={"text": "cancel #W1000001, by mistake"})
            assert _events(r.text)[-1]["kind"] == "confirmation_requested"
            r = await client.post("/threads/h1/confirmation", json={"approved": True})
            assert any(e["kind"] == "tool_result" and '"cancelled"' in e["result"] for e in _events(r.text))
            view = (await client.get("/threads/h1")).json()
            assert view["customer_id"] == "lena_moreau_3307" and view["pending_confirmation"] is None
            checkpoints = (await client.get("/threads/h1/checkpoints")).json()
            forked = await client.post("/threads/h1/fork", json={"checkpoint_id": checkpoints[-3]["checkpoint_id"],
                                                                 "new_thread_id": "h2"})
            assert forked.json() == {"thread_id": "h2"}
            assert set((await client.get("/threads")).json()) == {"h1", "h2"}
            assert (await client.get("/threads/nope")).status_code == 404
            assert (await client.post("/threads/h1/messages", json={"text": ""})).status_code == 422
    model.assert_complete()
