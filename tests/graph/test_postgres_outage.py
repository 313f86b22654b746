"""The shared PostgreSQL server goes away and comes back (a crash, a restart, a failover): the turn that meets the
outage fails with "try again" within seconds and loses nothing, and once the server is back the same replica
carries the conversation on: its store, lease and journal connections reconnect, the saver's pool replaces broken
ones."""

from __future__ import annotations

import asyncio

from agent.runtime import ErrorEvent, Reply, SupportRuntime
from agent.testing import ScriptedChatModel, tool_call
from tests.graph.api_support import shop_settings
from tests.postgres_server import ThrowawayPostgres

LENA = "lena.moreau5521@example.com"


async def _say(rt: SupportRuntime, text: str) -> list:
    return [event async for event in rt.send("t", text)]


async def test_a_turn_during_an_outage_fails_cleanly_and_the_thread_goes_on_after_it(tmp_path, monkeypatch):
    server = ThrowawayPostgres().start()
    try:
        monkeypatch.setenv("DESKGRAPH_DATABASE_URL", server.new_database())
        settings = shop_settings(tmp_path, sqlite_busy_timeout_ms=500)
        model = ScriptedChatModel(["Hello Lena.", tool_call("get_order_details", order_id="#W1000002"),
                                   "Your order #W1000002 was delivered."])
        async with SupportRuntime.open(settings, model=model) as rt:
            assert [e.text for e in await _say(rt, f"hi, {LENA}") if isinstance(e, Reply)] == ["Hello Lena."]
            server.pause()
            # Within seconds (postgres_checkout.checkout asks the server), not after the pool's 30 s timeout.
            failed = await asyncio.wait_for(_say(rt, "where is #W1000002?"), timeout=20)
            assert isinstance(failed[-1], ErrorEvent) and failed[-1].retryable, failed
            server.resume()
            # The message was kept by the runtime: the retry sends it, on reconnected connections.
            events = [event async for event in rt.retry("t")]
            assert [e.text for e in events if isinstance(e, Reply)] == ["Your order #W1000002 was delivered."], events
            said = [str(m.content) for m in (await rt.view("t")).messages if m.type in ("human", "ai") and m.content]
            assert said == [f"hi, {LENA}", "Hello Lena.", "where is #W1000002?", "Your order #W1000002 was delivered."]
        model.assert_complete()
    finally:
        server.stop()
