"""The conversation runtime over the real graph: typed events, confirmations, failures, history and forks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent.runtime import (
    ConfirmationRequested,
    ErrorEvent,
    HandedOver,
    Reply,
    StageChanged,
    SupportRuntime,
    Token,
    ToolCalled,
    ToolResult,
)
from agent.settings import Settings
from agent.testing import ScriptedChatModel, tool_call
from tests.fixtures_data import small_dataset
from tools import RetailStore


@pytest.fixture
def settings(tmp_path: Path, on_both_engines: str) -> Settings:
    """The SQLite files, and (a second run) a PostgreSQL database holding everything."""
    settings = Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "checkpoints.db",
                        today=dt.date(2026, 11, 26), _env_file=None)
    store = RetailStore.open(settings.store_location)
    store.load_json(small_dataset())
    store.close()
    return settings


async def _collect(stream) -> list:
    return [event async for event in stream]


class FlakyModel(ScriptedChatModel):
    """Raises a connection error on the scripted requests marked as failures."""

    def _next(self, messages, tools):
        reply = super()._next(messages, tools)
        if reply.content == "<fail>":
            raise ConnectionError("model server unreachable")
        return reply


async def test_send_streams_tokens_and_reports_stage_and_tools(settings):
    model = ScriptedChatModel(["Welcome Lena! How can I help?",
                               tool_call("get_order_details", order_id="#W1000001"),
                               "Order #W1000001 is pending."])
    async with SupportRuntime.open(settings, model=model) as rt:
        events = await _collect(rt.send("t1", "hi, lena.moreau5521@example.com here"))
        assert [e.name for e in events if isinstance(e, ToolCalled)] == ["find_user_id_by_email"]
        change = next(e for e in events if isinstance(e, StageChanged))
        assert (change.source, change.target) == ("intake", "order_desk")
        tokens = [e for e in events if isinstance(e, Token)]
        reply = next(e for e in events if isinstance(e, Reply))
        assert "".join(t.text for t in tokens) == reply.text and reply.streamed and len(tokens) > 1
        assert reply.stage == "order_desk" and tokens[0].stage == "order_desk"
        events = await _collect(rt.send("t1", "status of my pending order?"))
        result = next(e for e in events if isinstance(e, ToolResult))
        assert result.ok and '"status": "pending"' in result.result
    model.assert_complete()


async def test_confirmation_by_event_and_answer(settings):
    model = ScriptedChatModel(["Hello Lena.",
                               tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed"),
                               "Your order is cancelled."])  # no reason in the text: the model makes the call
    async with SupportRuntime.open(settings, model=model) as rt:
        await _collect(rt.send("t1", "lena.moreau5521@example.com"))
        events = await _collect(rt.send("t1", "cancel #W1000001"))
        request = events[-1]
        assert isinstance(request, ConfirmationRequested) and request.tool == "cancel_pending_order"
        assert (await rt.view("t1")).pending_confirmation["tool_call_id"] == request.tool_call_id
        events = await _collect(rt.answer_confirmation("t1", True))
        assert any(isinstance(e, ToolResult) and '"status": "cancelled"' in e.result for e in events)
        assert rt.store.dump_json()["orders"]["#W1000001"]["status"] == "cancelled"
    model.assert_complete()


async def test_model_failure_keeps_the_thread_and_retry_continues(settings):
    model = FlakyModel(["Hello Lena.", "<fail>", "Your order #W1000002 was delivered."])
    async with SupportRuntime.open(settings, model=model) as rt:
        await _collect(rt.send("t1", "lena.moreau5521@example.com"))
        events = await _collect(rt.send("t1", "where is #W1000002?"))
        error = events[-1]
        assert isinstance(error, ErrorEvent) and error.retryable and "Traceback" not in error.message
        view = await rt.view("t1")
        assert view.failed_turn and view.customer_id == "lena_moreau_3307"
        assert view.messages[-1].content.startswith("Order #W1000002: status delivered.")  # prefetched before the failure
        events = await _collect(rt.retry("t1"))
        assert [e.text for e in events if isinstance(e, Reply)] == ["Your order #W1000002 was delivered."]
        assert not (await rt.view("t1")).failed_turn
        nothing = await _collect(rt.retry("t1"))
        assert isinstance(nothing[0], ErrorEvent) and not nothing[0].retryable
    model.assert_complete()


async def test_history_checkpoints_and_fork(settings):
    model = ScriptedChatModel(["Hello Lena.", "Anything else?", "Forked answer."])
    async with SupportRuntime.open(settings, model=model) as rt:
        await _collect(rt.send("t1", "lena.moreau5521@example.com"))
        await _collect(rt.send("t1", "thanks"))
        rows = await rt.checkpoints("t1")
        assert rows[0].messages > rows[-1].messages and rows[0].next_nodes == ()
        after_first_turn = next(c for c in rows if c.messages == 4 and not c.next_nodes)
        new_thread = await rt.fork("t1", after_first_turn.checkpoint_id, "t1-fork")
        forked = await rt.view(new_thread)
        assert forked.customer_id == "lena_moreau_3307" and len(forked.messages) == 4 and forked.next_nodes == ()
        events = await _collect(rt.send(new_thread, "what about a different question?"))
        assert [e.text for e in events if isinstance(e, Reply)] == ["Forked answer."]
        assert len((await rt.view("t1")).messages) == 6  # the original thread is untouched
        assert set(await rt.threads()) == {"t1", "t1-fork"}
        with pytest.raises(ValueError):
            await rt.fork("t1", after_first_turn.checkpoint_id, "t1-fork")
    model.assert_complete()


async def test_handover_event(settings):
    model = ScriptedChatModel([tool_call("transfer_to_escalation", reason="wants a person"),
                               tool_call("transfer_to_human_agents", summary="Anonymous visitor wants a person.")])
    async with SupportRuntime.open(settings, model=model) as rt:
        events = await _collect(rt.send("t1", "get me a human"))
        handed = next(e for e in events if isinstance(e, HandedOver))
        assert isinstance(events[-1], Reply) and f"#{handed.ticket_id}" in events[-1].text
        events = await _collect(rt.send("t1", "hello?"))
        assert [type(e) for e in events] == [Reply]
    model.assert_complete()


async def test_locked_checkpoint_database_fails_cleanly_and_the_turn_can_be_retried(settings):
    import sqlite3

    settings = settings.model_copy(update={"sqlite_busy_timeout_ms": 100})
    model = ScriptedChatModel(["Hello Lena.", "Your order #W1000002 was delivered."])
    async with SupportRuntime.open(settings, model=model) as rt:
        await _collect(rt.send("t1", "lena.moreau5521@example.com"))
        # An operator's long transaction holds the file (SQLite) or the lease and checkpoint tables (PostgreSQL).
        if settings.database_engine == "postgres":
            import psycopg

            blocker = psycopg.connect(settings.database_url)
            blocker.execute("LOCK TABLE turn_leases, checkpoints, checkpoint_writes IN ACCESS EXCLUSIVE MODE")
        else:
            blocker = sqlite3.connect(settings.checkpoint_db, timeout=0)
            blocker.execute("BEGIN EXCLUSIVE")
        try:
            events = await _collect(rt.send("t1", "where is #W1000002?"))
        finally:
            blocker.rollback()
            blocker.close()
        error = events[-1]
        assert isinstance(error, ErrorEvent) and error.retryable and "busy" in error.message
        view = await rt.view("t1")
        assert view.customer_id == "lena_moreau_3307" and not view.failed_turn  # the message never got in
        events = await _collect(rt.retry("t1"))  # ...but the runtime kept it
        assert [e.text for e in events if isinstance(e, Reply)] == ["Your order #W1000002 was delivered."]
    model.assert_complete()


async def test_developer_stepping_pauses_after_every_node(settings):
    from agent.runtime import StepPaused

    model = ScriptedChatModel(["Hello Lena."])
    async with SupportRuntime.open(settings, model=model) as rt:
        events = await _collect(rt.send("t1", "lena.moreau5521@example.com", step=True))
        assert events[-1] == StepPaused(node="begin_turn", next_nodes=("agent",), state_keys=events[-1].state_keys)
        assert "customer_id" in events[-1].state_keys and not model.requests  # the model has not run yet
        events = await _collect(rt.step("t1"))
        assert [type(e) for e in events if not isinstance(e, Token)] == [Reply]  # agent ran; the turn is over
        assert (await rt.view("t1")).next_nodes == ()
    model.assert_complete()
