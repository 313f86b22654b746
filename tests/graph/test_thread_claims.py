"""Issue 14, the retry leak: a thread is its first sender's before anything can fail, and a message kept for
retry is retried only for its sender. Every route that acts on a thread, for a thread that exists only in memory
(a kept message), only in the lease table (a turn running, nothing checkpointed) or only in the checkpointer."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest

from agent.runtime.claims import NO_CUSTOMER
from agent.testing import ScriptedChatModel
from tests.graph.api_support import (
    LENA,
    OMAR,
    client,
    customer_headers,
    events,
    operator_headers,
    shop_settings,
)


@pytest.fixture
def settings(tmp_path):
    # A short busy timeout: the locked checkpoint file fails the turn at once instead of after 5 s.
    return shop_settings(tmp_path, sqlite_busy_timeout_ms=100)


@contextmanager
def locked(path):
    """Another process's long transaction holds the checkpoint file."""
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        blocker.rollback()
        blocker.close()


def claims_of(settings) -> dict[str, str]:
    with sqlite3.connect(settings.checkpoint_db) as conn:
        return dict(conn.execute("SELECT thread_id, owner FROM thread_claims"))


async def _refused_everywhere(c, thread: str, headers: dict[str, str]) -> None:
    """What another customer gets on each route of the thread: nothing that says it exists."""
    assert (await c.get(f"/threads/{thread}", headers=headers)).status_code == 404
    assert (await c.post(f"/threads/{thread}/retry", headers=headers)).status_code == 404
    assert (await c.post(f"/threads/{thread}/confirmation", json={"approved": True},
                         headers=headers)).status_code == 404
    r = await c.post(f"/threads/{thread}/messages", json={"text": "where is #W1000002?"}, headers=headers)
    assert r.status_code == 404 and "W1000002" not in r.text
    # Operator routes stay operator routes.
    assert (await c.get(f"/threads/{thread}/checkpoints", headers=headers)).status_code == 403
    assert (await c.post(f"/threads/{thread}/replay", json={"checkpoint_id": "x"}, headers=headers)).status_code == 403
    assert (await c.post(f"/threads/{thread}/fork", json={"checkpoint_id": "x"}, headers=headers)).status_code == 403


async def test_a_kept_message_is_retried_only_for_its_sender(settings):
    # The probe's reproduction: Lena's first message fails while the checkpoint file is locked; Omar then
    # retries her thread. He must get 404, and the thread stays Lena's.
    model = ScriptedChatModel(["Your order #W1000002 was delivered."])
    async with client(settings, model) as c:
        lena, omar = customer_headers(LENA), customer_headers(OMAR)
        with locked(settings.checkpoint_db):
            r = await c.post("/threads/lena-1/messages", json={"text": "where is #W1000002?"}, headers=lena)
        assert r.status_code == 200 and events(r.text)[-1]["kind"] == "error" and events(r.text)[-1]["retryable"]
        # The thread exists only in memory now (nothing in the checkpointer, no lease).
        await _refused_everywhere(c, "lena-1", omar)
        op = operator_headers(settings)
        assert (await c.post("/threads/lena-1/retry", headers=op)).status_code == 404  # not the sender either
        assert (await c.get("/threads/lena-1/checkpoints", headers=op)).status_code == 404
        assert (await c.post("/threads/lena-1/replay", json={"checkpoint_id": "x"}, headers=op)).status_code == 404
        assert (await c.post("/threads/lena-1/fork", json={"checkpoint_id": "x"}, headers=op)).status_code == 404
        # Lena's own retry runs her message, as hers.
        r = await c.post("/threads/lena-1/retry", headers=lena)
        assert r.status_code == 200 and events(r.text)[-1]["text"] == "Your order #W1000002 was delivered."
        assert (await c.get("/threads/lena-1", headers=lena)).json()["customer_id"] == LENA
        await _refused_everywhere(c, "lena-1", omar)
        assert claims_of(settings) == {"lena-1": LENA}
    model.assert_complete()


async def test_a_first_message_claims_its_thread_before_it_can_fail(settings):
    # The model fails on Lena's first turn: the thread is checkpointed with a failed turn and is hers; and even
    # before that, its claim row (written with the lease) says so.
    def down(messages, tools):
        raise ConnectionError("model server down")

    model = ScriptedChatModel([down, "Hello Lena."])
    async with client(settings, model) as c:
        lena, omar = customer_headers(LENA), customer_headers(OMAR)
        r = await c.post("/threads/lena-2/messages", json={"text": "hi"}, headers=lena)
        assert events(r.text)[-1]["kind"] == "error"
        assert claims_of(settings) == {"lena-2": LENA}
        await _refused_everywhere(c, "lena-2", omar)
        r = await c.post("/threads/lena-2/retry", headers=lena)
        assert events(r.text)[-1]["text"] == "Hello Lena."
    model.assert_complete()


async def test_a_thread_only_in_the_lease_table_is_not_found_for_others(settings):
    # Lena's first turn is running (its lease and claim are written; nothing is checkpointed yet): Omar gets 404
    # on every route, not 409, which would tell him a turn runs there. Lena herself gets 409.
    model = ScriptedChatModel(["Hello."])
    async with client(settings, model) as c:
        runtime = c.app.state.runtime
        op = operator_headers(settings)
        assert (await c.post("/threads/src/messages", json={"text": "hello"}, headers=op)).status_code == 200
        source = (await c.get("/threads/src/checkpoints", headers=op)).json()[0]["checkpoint_id"]
        lease = await runtime.leases.acquire("lena-3", claim_for=LENA)
        assert lease is not None
        try:
            await _refused_everywhere(c, "lena-3", customer_headers(OMAR))
            r = await c.post("/threads/lena-3/messages", json={"text": "hi"}, headers=customer_headers(LENA))
            assert r.status_code == 409
            assert (await c.get("/threads/lena-3/checkpoints", headers=op)).status_code == 404
            # A fork may not take a thread id that is already someone's, checkpointed or not.
            r = await c.post("/threads/src/fork", json={"checkpoint_id": source, "new_thread_id": "lena-3"},
                             headers=op)
            assert r.status_code == 409
        finally:
            await runtime.leases.release("lena-3", lease)
    model.assert_complete()


async def test_a_thread_only_in_the_checkpointer_is_decided_by_its_state(settings):
    # A thread checkpointed before claims existed (or a fork) has no claim row: the state says whose it is, and a
    # claim written by someone else's attempt changes nothing.
    model = ScriptedChatModel(["Hello Lena.", "Hello again."])
    async with client(settings, model) as c:
        lena, omar, op = customer_headers(LENA), customer_headers(OMAR), operator_headers(settings)
        assert (await c.post("/threads/lena-4/messages", json={"text": "hi"}, headers=lena)).status_code == 200
        with sqlite3.connect(settings.checkpoint_db) as conn:
            conn.execute("DELETE FROM thread_claims")
        await _refused_everywhere(c, "lena-4", omar)
        r = await c.post("/threads/lena-4/messages", json={"text": "hi again"}, headers=lena)
        assert r.status_code == 200 and events(r.text)[-1]["text"] == "Hello again."
        checkpoint = (await c.get("/threads/lena-4/checkpoints", headers=op)).json()[0]["checkpoint_id"]
        r = await c.post("/threads/lena-4/fork", json={"checkpoint_id": checkpoint, "new_thread_id": "lena-4b"},
                         headers=op)
        assert r.status_code == 200
        await _refused_everywhere(c, "lena-4b", omar)
        assert (await c.get("/threads/lena-4b", headers=lena)).json()["customer_id"] == LENA
    model.assert_complete()


async def test_a_thread_started_without_a_customer_token_is_no_customers(settings):
    # The anonymous front end's (or an operator's) first message fails: no customer may take the thread over.
    model = ScriptedChatModel(["Hello."])
    async with client(settings, model) as c:
        op = operator_headers(settings)
        with locked(settings.checkpoint_db):
            r = await c.post("/threads/anon-1/messages", json={"text": "hello"}, headers=op)
        assert events(r.text)[-1]["kind"] == "error"
        r = await c.post("/threads/anon-1/retry", headers=op)
        assert events(r.text)[-1]["text"] == "Hello."
        assert claims_of(settings) == {"anon-1": NO_CUSTOMER}
        await _refused_everywhere(c, "anon-1", customer_headers(OMAR))
    model.assert_complete()


async def test_unsent_messages_are_bounded_and_kept_per_sender():
    from agent.runtime.unsent import UnsentMessage, UnsentMessages

    kept = UnsentMessages(limit=2)
    for n in range(3):
        kept.keep(f"t{n}", UnsentMessage(f"m{n}", None, "a"))
    assert "t0" not in kept and "t2" in kept  # the oldest went first
    assert kept.take("t1", "b") is None and "t1" in kept  # another sender takes nothing, and removes nothing
    assert kept.take("t1", "a") == UnsentMessage("m1", None, "a") and "t1" not in kept
