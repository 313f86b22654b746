"""The shared PostgreSQL server goes away and comes back (a crash, a restart, a failover), or stops answering (a
frozen machine, a cut network): the turn that meets it fails with "try again" within seconds and loses nothing,
and once the server is back the same replica carries the conversation on: its store, lease and journal
connections reconnect, the saver's pool replaces broken ones."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from agent.runtime import ErrorEvent, Reply, SupportRuntime
from agent.testing import ScriptedChatModel, tool_call
from tests.graph.api_support import shop_settings, small_dataset
from tools import RetailStore
from tools.db import silence

LENA = "lena.moreau5521@example.com"
ORDER_REPLY = "Your order #W1000002 was delivered."


async def _say(rt: SupportRuntime, text: str) -> list:
    return [event async for event in rt.send("t", text)]


def _greeting_then_order() -> ScriptedChatModel:
    return ScriptedChatModel(["Hello Lena.", tool_call("get_order_details", order_id="#W1000002"), ORDER_REPLY])


async def _greeted(rt: SupportRuntime) -> None:
    assert [e.text for e in await _say(rt, f"hi, {LENA}") if isinstance(e, Reply)] == ["Hello Lena."]


async def _retried(rt: SupportRuntime) -> None:
    """The message kept by the runtime, sent again: on reconnected connections, the order's reply."""
    events = [event async for event in rt.retry("t")]
    assert [e.text for e in events if isinstance(e, Reply)] == [ORDER_REPLY], events


async def test_a_turn_during_an_outage_fails_cleanly_and_the_thread_goes_on_after_it(own_postgres_server, tmp_path,
                                                                                     monkeypatch):
    server = own_postgres_server
    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", server.new_database())
    settings = shop_settings(tmp_path, sqlite_busy_timeout_ms=500)
    model = _greeting_then_order()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _greeted(rt)
        server.pause()
        # Within seconds (postgres_checkout.checkout asks the server), not after the pool's 30 s timeout.
        failed = await asyncio.wait_for(_say(rt, "where is #W1000002?"), timeout=20)
        assert isinstance(failed[-1], ErrorEvent) and failed[-1].retryable, failed
        server.resume()
        await _retried(rt)
        said = [str(m.content) for m in (await rt.view("t")).messages if m.type in ("human", "ai") and m.content]
        assert said == [f"hi, {LENA}", "Hello Lena.", "where is #W1000002?", ORDER_REPLY]
    model.assert_complete()


async def test_a_server_that_stops_answering_fails_the_turn_within_seconds(own_postgres_server, tmp_path,
                                                                           monkeypatch):
    """The server stops where it stands (a frozen machine, a cut network): its connections stay open, nothing
    answers on them and nothing refuses. The turn's statement gives the server up after the lock timeout and a
    margin (1.5 s here), the turn says "try again", and once the server answers again the retry goes through."""
    server = own_postgres_server
    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", server.new_database())
    monkeypatch.setattr(silence, "ANSWER_MARGIN_SECONDS", 1.0)
    settings = shop_settings(tmp_path, sqlite_busy_timeout_ms=500)
    model = _greeting_then_order()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _greeted(rt)
        server.freeze()
        try:
            failed = await asyncio.wait_for(_say(rt, "where is #W1000002?"), timeout=20)
        finally:
            server.thaw()
        assert isinstance(failed[-1], ErrorEvent) and failed[-1].retryable, failed
        assert "did not answer" in failed[-1].detail or "cannot be reached" in failed[-1].detail, failed
        # The lease statement given up may have run after the thaw, for a lease no turn holds: taken over here.
        await _retried(rt)
    model.assert_complete()


def _gives_up_while_frozen(server, read) -> None:  # noqa: ANN001 - the test server, a store read
    """``read`` on the frozen server fails with ServerSilentError within seconds (not sent again: it may yet run)."""
    server.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(silence.ServerSilentError):
            read()
        assert time.monotonic() - started < 10
    finally:
        server.thaw()


def test_a_store_statement_gives_a_silent_server_up_and_the_next_one_reconnects(own_postgres_server):
    """The service's store (its limit set as the runtime sets it): a tool's read on a frozen server fails with
    ServerSilentError after the limit and is not sent again on a new session (it may yet run), a write
    transaction too; once the server goes on, the next read reconnects."""
    server = own_postgres_server
    store = RetailStore.open(server.new_database(), busy_timeout_ms=500)
    try:
        store.load_json(small_dataset())
        store.limit_server_answers(1.5)
        assert store.find_user_id_by_email(LENA)
        _gives_up_while_frozen(server, lambda: store.find_user_id_by_email(LENA))
        customer = store.find_user_id_by_email(LENA)
        # A record's queries sent together (one pipeline) give up as one statement does.
        _gives_up_while_frozen(server, lambda: store.customer_records(customer))
        assert store.customer_records(customer)[0]["email"] == LENA
        # Inside a write transaction: it fails as fast, with nothing to roll back on a new session (which
        # would wait out the connect timeout, 10 s, on the frozen server).
        started = time.monotonic()
        try:
            with pytest.raises(silence.ServerSilentError), store.transaction():
                server.freeze()
                store.db.execute("UPDATE users SET zip = zip WHERE user_id = ?", ["nobody"])
        finally:
            server.thaw()
        assert time.monotonic() - started < 8
        assert store.find_user_id_by_email(LENA)
    finally:
        store.close()


def test_the_apis_operator_tokens_give_a_silent_server_up(own_postgres_server, tmp_path, monkeypatch):
    """An operator's request checks its token in the database: on a frozen server it fails within seconds too."""
    from agent.api import create_app
    from agent.auth.operators import OperatorTokenError

    server = own_postgres_server
    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", server.new_database())
    monkeypatch.setattr(silence, "ANSWER_MARGIN_SECONDS", 1.0)
    tokens = create_app(shop_settings(tmp_path, sqlite_busy_timeout_ms=500),
                        model=ScriptedChatModel()).state.operator_tokens
    try:
        token = tokens.issue("alice")
        assert tokens.verify(token) == "alice"
        server.freeze()
        try:
            started = time.monotonic()
            with pytest.raises((psycopg.OperationalError, OperatorTokenError)):
                tokens.verify(token)
            assert time.monotonic() - started < 8
        finally:
            server.thaw()
        assert tokens.verify(token) == "alice"
    finally:
        tokens.close()
