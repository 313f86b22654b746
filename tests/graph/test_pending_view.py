"""Issue 15's bug: while a task flow waits for a confirmation inside its subgraph, every surface reports the
pending write (tool, arguments, summary): the runtime's view, `GET /threads/{id}`, `threads show` and stepping."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from agent.runtime import SupportRuntime
from agent.settings import Settings
from agent.testing import PerfectUnderstandingModel
from tests.graph.api_support import client, events, operator_headers
from tools import RetailStore
from tools.generator import generate_dataset

ASK = "Hi, Lucas Smith, zip 43221. Please cancel my order with the dumbbells, I ordered it by mistake."
READING = {"tasks": ["cancel"], "first_name": "Lucas", "last_name": "Smith", "zip": "43221",
           "items": [{"item": "dumbbells"}], "reason": "ordered by mistake"}
WRITE = {"order_id": "#W4744902", "reason": "ordered by mistake"}


@pytest.fixture
def settings(tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(generate_dataset())
    store.close()
    return Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "cp.db", today=dt.date(2026, 11, 26),
                    dialogue="flows", _env_file=None)


def _model() -> PerfectUnderstandingModel:
    return PerfectUnderstandingModel({ASK: READING})


async def _collect(turn) -> list:
    return [event async for event in turn]


async def test_the_runtime_view_and_the_api_report_the_flows_pending_write(settings):
    async with client(settings.model_copy(update={"api_auth": "off"}), _model()) as c:
        r = await c.post("/threads/t1/messages", json={"text": ASK})
        asked = [e for e in events(r.text) if e["kind"] == "confirmation_requested"]
        assert asked and asked[0]["arguments"] == WRITE
        view = await c.app.state.runtime.view("t1")
        assert view.pending_confirmation["tool"] == "cancel_pending_order"
        assert view.pending_confirmation["arguments"] == WRITE and view.pending_confirmation["summary"]
        shown = (await c.get("/threads/t1", headers=operator_headers(settings))).json()["pending_confirmation"]
        assert shown["tool"] == "cancel_pending_order" and shown["arguments"] == WRITE
        assert shown["tool_call_id"] == asked[0]["tool_call_id"]
        r = await c.post("/threads/t1/confirmation", json={"approved": True})
        assert r.status_code == 200
        assert (await c.app.state.runtime.view("t1")).pending_confirmation is None


async def test_stepping_reports_the_write_a_flow_is_about_to_ask_for(settings):
    async with SupportRuntime.open(settings, model=_model()) as rt:
        await _collect(await rt.begin_message("t2", ASK, step=True))
        seen = None
        for _ in range(40):  # node by node, parent and subgraph, until the flow asks
            view = await rt.view("t2")
            if view.pending_confirmation:
                seen = view.pending_confirmation
                break
            if not view.next_nodes:
                break
            await _collect(await rt.begin_step("t2"))
        assert seen is not None and seen["tool"] == "cancel_pending_order" and seen["arguments"] == WRITE


def test_threads_show_reports_the_flows_pending_write(settings, monkeypatch):
    import asyncio

    async def start() -> None:
        async with SupportRuntime.open(settings, model=_model()) as rt:
            await _collect(await rt.begin_message("t3", ASK))

    asyncio.run(start())
    from agent.cli import _register, app
    from agent.settings import get_settings

    monkeypatch.setenv("DESKGRAPH_STORE_DB", str(settings.store_db))
    monkeypatch.setenv("DESKGRAPH_CHECKPOINT_DB", str(settings.checkpoint_db))
    monkeypatch.setenv("DESKGRAPH_DIALOGUE", "flows")
    get_settings.cache_clear()
    _register()
    try:
        result = CliRunner().invoke(app, ["threads", "show", "t3", "--json"])
        text = CliRunner().invoke(app, ["threads", "show", "t3"]).output
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    pending = json.loads(result.output)["pending_confirmation"]
    assert pending["tool"] == "cancel_pending_order" and pending["arguments"] == WRITE
    assert "waiting for confirmation" in text
