"""The operator desk over HTTP, route by route and role by role: the queue, claim, a person's replies, internal
notes, reads and proposals for the customer, hand-back, close, the thread's live desk feed and message ratings.

The real app in-process (lifespan included) over a real SQLite store and checkpoints; the model is scripted
(its reading of every message is empty, so the dialogue's code reads "a human" and questions itself).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from agent.runtime import transcript_lines
from agent.testing import ScriptedChatModel
from tests.graph.api_support import LENA, OMAR, client, customer_headers, operator_headers, shop_settings
from tests.graph.api_support import events as sse_events
from tools import RetailStore

SUMMARY = "Cancelled #W1000001 for the customer; a refund question may follow."


@pytest.fixture
def settings(tmp_path, on_both_engines):
    # The product's default dialogue; on the SQLite files and on PostgreSQL (where replicas share the desk's log).
    return shop_settings(tmp_path, dialogue="flows")


def _feed(text: str) -> list[dict]:
    """The desk events of a feed answer (the final ``idle`` left out), each with its ``id``."""
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "desk":
            found.append(json.loads(lines["data"]) | {"id": int(lines["id"])})
    assert text.rstrip().endswith("event: idle\ndata: {}")
    return found


async def _escalate(c, thread: str = "d1") -> tuple[int, str]:
    """Lena asks for a person; (the ticket's id, the id of the agent's hand-over message)."""
    r = await c.post(f"/threads/{thread}/messages", json={"text": "I want to talk to a human"},
                     headers=customer_headers(LENA))
    got = sse_events(r.text)
    assert any(e["kind"] == "handed_over" for e in got), r.text
    handed = next(e for e in got if e["kind"] == "handed_over")
    reply = next(e for e in got if e["kind"] == "reply")
    return handed["ticket_id"], reply["message_id"]


async def test_a_person_takes_the_case_and_gives_it_back(settings):
    model = ScriptedChatModel(["{}"] * 40)
    alice, bob, lena = operator_headers(settings, "alice"), operator_headers(settings, "bob"), customer_headers(LENA)
    async with client(settings, model) as c:
        ticket_id, _ = await _escalate(c)

        # The queue: operators only; the ticket waits, unclaimed.
        assert (await c.get("/tickets", headers=lena)).status_code == 403
        queue = (await c.get("/tickets", params={"status": "active"}, headers=alice)).json()
        assert [(t["id"], t["status"], t["customer"], t["claimed_by"]) for t in queue] == [
            (ticket_id, "open", LENA, None)]
        assert queue[0]["reason"] and queue[0]["summary"] and queue[0]["waiting_seconds"] >= 0

        # Nobody writes before claiming; one claim at a time; claiming one's own claim again is harmless.
        r = await c.post("/threads/d1/operator-messages", json={"text": "Hello"}, headers=alice)
        assert r.status_code == 409 and "claim it first" in r.json()["detail"]
        assert (await c.post(f"/tickets/{ticket_id}/claim", headers=lena)).status_code == 403
        claimed = await c.post(f"/tickets/{ticket_id}/claim", headers=alice)
        assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "alice"
        assert claimed.json()["status"] == "claimed"
        assert (await c.post(f"/tickets/{ticket_id}/claim", headers=bob)).status_code == 409
        assert (await c.post(f"/tickets/{ticket_id}/claim", headers=alice)).status_code == 200
        assert (await c.post("/tickets/999/claim", headers=alice)).status_code == 404

        # The customer's stream, already following, receives the person's reply live.
        follower = asyncio.create_task(c.get("/threads/d1/events", params={"idle": 1.5}, headers=lena))
        await asyncio.sleep(0.3)
        assert (await c.post("/threads/d1/operator-messages", json={"text": "Hi"}, headers=bob)).status_code == 409
        sent = await c.post("/threads/d1/operator-messages", json={"text": "Hi Lena, Alice here."}, headers=alice)
        assert sent.status_code == 200 and sent.json()["action"] == "operator_message"
        live = _feed((await follower).text)
        assert [(e["action"], e["author"], e["text"]) for e in live] == [
            ("operator_message", "alice", "Hi Lena, Alice here.")]
        assert live[0]["message_id"] == sent.json()["message_id"]
        assert (await c.post("/threads/d1/operator-messages", json={"text": "Hi"}, headers=lena)).status_code == 403
        assert (await c.post("/threads/nope/operator-messages", json={"text": "Hi"},
                             headers=alice)).status_code == 404

        # While a person has the case the agent stays quiet: the customer's message is theirs.
        r = await c.post("/threads/d1/messages", json={"text": "Thanks, it's about my desk fan order"}, headers=lena)
        assert not [e for e in sse_events(r.text) if e["kind"] == "reply"]

        # Internal notes and reads stay on the desk.
        note = await c.post(f"/tickets/{ticket_id}/notes", json={"text": "Wants the fan order gone."}, headers=alice)
        assert note.status_code == 200
        assert (await c.post(f"/tickets/{ticket_id}/notes", json={"text": "x"}, headers=lena)).status_code == 403
        assert (await c.post("/tickets/999/notes", json={"text": "x"}, headers=alice)).status_code == 404
        read = await c.post(f"/tickets/{ticket_id}/reads", headers=alice,
                            json={"tool": "get_order_details", "arguments": {"order_id": "#W1000001"}})
        assert read.status_code == 200 and read.json()["ok"] and '"status": "pending"' in read.json()["result"]
        others = await c.post(f"/tickets/{ticket_id}/reads", headers=alice,
                              json={"tool": "get_order_details", "arguments": {"order_id": "#W2000001"}})
        assert others.status_code == 200 and not others.json()["ok"] and OMAR not in others.json()["result"]
        for tool in ("cancel_pending_order", "find_user_id_by_email", "no_such_tool"):
            r = await c.post(f"/tickets/{ticket_id}/reads", json={"tool": tool, "arguments": {}}, headers=alice)
            assert r.status_code == 422, tool
        assert (await c.post(f"/tickets/{ticket_id}/reads", json={"tool": "get_order_details"},
                             headers=lena)).status_code == 403

        # A proposal waits for the customer's yes, then runs once through the ledger.
        cancel = {"tool": "cancel_pending_order", "arguments": {"order_id": "#W1000001", "reason": "no longer needed"}}
        assert (await c.post(f"/tickets/{ticket_id}/proposals", json=cancel, headers=bob)).status_code == 409
        assert (await c.post(f"/tickets/{ticket_id}/proposals", json=cancel, headers=lena)).status_code == 403
        wrong = {"tool": "cancel_pending_order", "arguments": {"order_id": "#W1000002", "reason": "no longer needed"}}
        assert (await c.post(f"/tickets/{ticket_id}/proposals", json=wrong, headers=alice)).status_code == 422
        proposed = await c.post(f"/tickets/{ticket_id}/proposals", json=cancel, headers=alice)
        assert proposed.status_code == 200 and "Cancel order #W1000001" in proposed.json()["text"]
        assert (await c.post(f"/tickets/{ticket_id}/proposals", json=cancel, headers=alice)).status_code == 409
        view = (await c.get("/threads/d1", headers=lena)).json()
        assert view["pending_confirmation"]["tool"] == "cancel_pending_order"
        assert view["pending_confirmation"]["arguments"] is None  # customers never see arguments
        done = await c.post("/threads/d1/confirmation", json={"approved": True}, headers=lena)
        assert any(e["kind"] == "tool_result" and e["ok"] for e in sse_events(done.text))
        store = RetailStore.open(settings.store_location)
        try:
            assert json.loads(store.get_order_details("#W1000001"))["status"] == "cancelled"
        finally:
            store.close()

        # The customer's feed from the start carries only what they may see.
        customer_feed = _feed((await c.get("/threads/d1/events", params={"after": 0, "idle": 0.2},
                                           headers=lena)).text)
        assert [e["action"] for e in customer_feed] == ["claimed", "operator_message", "proposal"]
        operator_feed = _feed((await c.get("/threads/d1/events", params={"after": 0, "idle": 0.2},
                                           headers=alice)).text)
        assert {"internal_note", "operator_read", "customer_message", "proposal_answered"} <= {
            e["action"] for e in operator_feed}
        resumed = _feed((await c.get("/threads/d1/events", params={"idle": 0.2}, headers={
            **lena, "Last-Event-ID": str(customer_feed[1]["id"])})).text)
        assert [e["action"] for e in resumed] == ["proposal"]
        assert (await c.get("/threads/d1/events", params={"idle": 0.2},
                            headers=customer_headers(OMAR))).status_code == 404

        # Hand-back: only by the claimer, with a summary the agent is given from then on.
        assert (await c.post(f"/tickets/{ticket_id}/hand-back", json={"summary": SUMMARY},
                             headers=bob)).status_code == 409
        assert (await c.post(f"/tickets/{ticket_id}/hand-back", json={"summary": SUMMARY},
                             headers=lena)).status_code == 403
        back = await c.post(f"/tickets/{ticket_id}/hand-back", json={"summary": SUMMARY}, headers=alice)
        assert back.status_code == 200 and back.json()["status"] == "handed_back"
        assert back.json()["hand_back_summary"] == SUMMARY
        view = (await c.get("/threads/d1", headers=alice)).json()
        assert view["stage"] == "order_desk" and view["ticket"] is None
        assert "operator (alice): Hi Lena, Alice here." in view["transcript"]
        assert (await c.post(f"/tickets/{ticket_id}/hand-back", json={"summary": SUMMARY},
                             headers=alice)).status_code == 409
        r = await c.post("/threads/d1/messages", json={"text": "Did your colleague sort everything out?"}, headers=lena)
        assert [e for e in sse_events(r.text) if e["kind"] == "reply"]
        system_prompts = [str(messages[0].content) for messages, _ in model.requests]
        assert any(SUMMARY in prompt and "alice" in prompt for prompt in system_prompts)
        assert (await c.get("/tickets", params={"status": "active"}, headers=alice)).json() == []


async def test_close_releases_the_thread_and_is_idempotent(settings):
    model = ScriptedChatModel(["{}"] * 20)
    alice, bob, lena = operator_headers(settings, "alice"), operator_headers(settings, "bob"), customer_headers(LENA)
    async with client(settings, model) as c:
        ticket_id, _ = await _escalate(c, "d2")
        assert (await c.post(f"/tickets/{ticket_id}/close", headers=lena)).status_code == 403
        assert (await c.post("/tickets/999/close", headers=alice)).status_code == 404
        await c.post(f"/tickets/{ticket_id}/claim", headers=alice)
        assert (await c.post(f"/tickets/{ticket_id}/close", headers=bob)).status_code == 409
        closed = await c.post(f"/tickets/{ticket_id}/close", json={"note": "Solved by phone."}, headers=alice)
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert closed.json()["close_note"] == "Solved by phone."
        again = await c.post(f"/tickets/{ticket_id}/close", headers=alice)
        assert again.status_code == 200 and again.json()["closed"] == closed.json()["closed"]
        view = (await c.get("/threads/d2", headers=lena)).json()
        assert view["ticket"] is None and view["transcript"][-1].startswith(f"agent: Your case (ticket #{ticket_id})")
        assert (await c.post(f"/tickets/{ticket_id}/claim", headers=alice)).status_code == 409
        # An open ticket nobody claimed can be closed by any operator.
        second, _ = await _escalate(c, "d3")
        assert (await c.post(f"/tickets/{second}/close", headers=bob)).json()["status"] == "closed"


async def test_ratings_of_agent_messages(settings):
    model = ScriptedChatModel(["{}"] * 20)
    alice, lena, omar = operator_headers(settings, "alice"), customer_headers(LENA), customer_headers(OMAR)
    async with client(settings, model) as c:
        ticket_id, message_id = await _escalate(c, "d4")
        r = await c.post("/threads/d4/feedback", json={"message_id": message_id, "value": "down"}, headers=lena)
        assert r.status_code == 200
        again = await c.post("/threads/d4/feedback", json={"message_id": message_id, "value": "up",
                                                           "comment": "quick"}, headers=lena)
        assert again.json()["id"] == r.json()["id"]  # rating again replaces the rating
        assert (await c.post("/threads/d4/feedback", json={"message_id": "nope", "value": "up"},
                             headers=lena)).status_code == 404
        assert (await c.post("/threads/d4/feedback", json={"message_id": message_id, "value": "up"},
                             headers=omar)).status_code == 404
        assert (await c.post("/threads/d4/feedback", json={"message_id": message_id, "value": "meh"},
                             headers=lena)).status_code == 422
        await c.post("/threads/d4/feedback", json={"message_id": message_id, "value": "down"}, headers=alice)
        mine = (await c.get("/threads/d4", headers=lena)).json()["feedback"]
        assert [(f["value"], f["comment"], f["author"]) for f in mine] == [("up", "quick", f"customer:{LENA}")]
        assert len((await c.get("/threads/d4", headers=alice)).json()["feedback"]) == 2
        ticket = (await c.get(f"/tickets/{ticket_id}", headers=alice)).json()
        assert (ticket["feedback_up"], ticket["feedback_down"]) == (1, 1)
        metrics = (await c.get("/metrics", headers=alice)).text
        assert 'deskgraph_feedback_total{value="up"}' in metrics and 'deskgraph_feedback_total{value="down"}' in metrics


async def test_a_desk_action_cut_short_completes_when_done_again(settings, monkeypatch):
    """The conversation is changed first and the ticket committed after: if the second write fails, doing the
    action again completes it without repeating the first."""
    import sqlite3

    from agent.runtime import SupportRuntime

    async with SupportRuntime.open(settings, model=ScriptedChatModel(["{}"] * 10)) as rt:
        await rt.turn("d5", "I want to talk to a human", customer_id=LENA)
        ticket_id = (await rt.view("d5")).ticket["id"]
        real_claim, real_back = rt.desk.claim, rt.desk.hand_back
        broken = {"claim": True, "hand_back": True}

        def once(name, real):
            def call(*args, **kwargs):
                # The refusal check (no ``said``) passes through; the committing call fails once.
                if broken[name] and (name != "claim" or len(args) > 2):
                    broken[name] = False
                    raise sqlite3.OperationalError("database is locked")
                return real(*args, **kwargs)
            return call

        monkeypatch.setattr(rt.desk, "claim", once("claim", real_claim))
        monkeypatch.setattr(rt.desk, "hand_back", once("hand_back", real_back))
        with pytest.raises(sqlite3.OperationalError):
            await rt.claim_ticket(ticket_id, "alice")
        assert rt.ticket(ticket_id).status == "open" and (await rt.view("d5")).ticket["status"] == "claimed"
        assert (await rt.claim_ticket(ticket_id, "alice")).claimed_by == "alice"
        with pytest.raises(sqlite3.OperationalError):
            await rt.hand_back(ticket_id, "alice", SUMMARY)
        assert rt.ticket(ticket_id).status == "claimed" and (await rt.view("d5")).ticket is None
        assert (await rt.hand_back(ticket_id, "alice", SUMMARY)).status == "handed_back"
        lines = transcript_lines((await rt.view("d5")).messages)
        assert sum("from our team has joined" in line for line in lines) == 1
        assert sum("handed you back" in line for line in lines) == 1
