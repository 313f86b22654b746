"""Issue 10, kill -9 in the middle of a turn: no committed turn is lost and no confirmed write runs twice.

A real server process (``tests/graph/crash_server.py``: the real app, a scripted model the test steers) holds
the conversation in SQLite files, or in PostgreSQL (where the app that carries on is another replica); the test kills it with SIGKILL at a known point of a turn (it polls for that
point, no fixed sleeps), then reopens the same files in a fresh app and carries on as a client would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from agent.settings import Settings
from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, events, operator_headers, shop_settings
from tests.graph.crash_server import LEASE_SECONDS
from tests.graph.server_process import free_ports, start_server, wait_healthy
from tests.graph.test_turn_lease import _history_is_linear
from tools import RetailStore

REPO = Path(__file__).resolve().parents[2]
# On SQLite files, and on PostgreSQL: there the restarted app is another replica of the killed one.
pytestmark = pytest.mark.usefixtures("on_both_engines")
EMAIL = "lena.moreau5521@example.com"
HELLO = f"Hi, my email is {EMAIL}"
CANCEL = "please cancel order W1000001"


@asynccontextmanager
async def _server(root: Path, headers: dict) -> AsyncIterator[tuple[httpx.AsyncClient, subprocess.Popen]]:
    """The crash server on ``root`` and an operator's client for it; the process is gone on exit."""
    [port] = free_ports(1)
    log = root / f"server-{port}.log"
    proc = start_server("tests.graph.crash_server", str(root), str(port), log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, proc, log)
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as c:
            yield c, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


async def _until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _kill_when(proc: subprocess.Popen, pending: asyncio.Task, condition: Callable[[], bool], what: str) -> None:
    """SIGKILL the server once ``condition`` holds (no finally, no lease release, no fsync); the client's
    request in flight breaks off."""
    await _until(condition, what)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    with pytest.raises(httpx.TransportError):
        await pending


def _turn_events(r: httpx.Response) -> list[dict]:
    """A turn that went through: 200, no error event, the stream ended with ``done``."""
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.text.rstrip().endswith("event: done\ndata: {}"), r.text[-300:]
    found = events(r.text)
    assert not [e for e in found if e["kind"] == "error"], found
    return found


async def _post_after_lease(c: httpx.AsyncClient, path: str, body: dict | None = None) -> list[dict]:
    """Post as a client would after a crash: 409 while the dead process's lease lives, then it goes through."""
    deadline = time.monotonic() + LEASE_SECONDS + 10
    while (r := await c.post(path, json=body)).status_code == 409:
        assert time.monotonic() < deadline, "the killed process's lease never expired"
        await asyncio.sleep(0.1)
    return _turn_events(r)


def _reply(found: list[dict]) -> str:
    return [e["text"] for e in found if e["kind"] == "reply"][-1]


def _settings(root: Path) -> Settings:
    return shop_settings(root, turn_lease_seconds=LEASE_SECONDS)


async def test_kill_mid_turn_loses_no_committed_turn_and_the_thread_goes_on(tmp_path):
    settings = _settings(tmp_path)
    headers = operator_headers(settings)
    async with _server(tmp_path, headers) as (c, proc):
        assert _reply(_turn_events(await c.post("/threads/t/messages", json={"text": HELLO}))) == f"Answered: {HELLO}"
        (tmp_path / "slow").touch()
        second = asyncio.create_task(c.post("/threads/t/messages", json={"text": "Is #W1000002 delivered?"}))
        await _kill_when(proc, second, (tmp_path / "thinking").exists, "the model to start thinking")

    model = ScriptedChatModel(["Yes, #W1000002 was delivered.", "You're welcome."])
    async with client(settings, model) as c:
        c.headers.update(headers)
        thread = (await c.get("/threads/t")).json()
        # The completed turn and the interrupted turn's message are there; the turn stopped half-way.
        said = [line for line in thread["transcript"] if line.startswith(("customer: ", "agent: "))]
        assert said == [f"customer: {HELLO}", f"agent: Answered: {HELLO}", "customer: Is #W1000002 delivered?"]
        assert thread["customer_id"] == "lena_moreau_3307" and thread["failed_turn"], thread
        assert _reply(await _post_after_lease(c, "/threads/t/retry")) == "Yes, #W1000002 was delivered."
        assert _reply(_turn_events(await c.post("/threads/t/messages", json={"text": "thanks"}))) == "You're welcome."
    texts = [m.content for m in await _history_is_linear(settings, "t") if m.type in ("human", "ai") and m.content]
    assert texts == [HELLO, f"Answered: {HELLO}", "Is #W1000002 delivered?", "Yes, #W1000002 was delivered.",
                     "thanks", "You're welcome."]
    model.assert_complete()


def _write_record(root: Path, call_id: str) -> tuple[str, int, int]:
    """The order's status, its refunds and the write ledger's rows for the call, read from the store."""
    store = RetailStore.open(_settings(root).store_location)
    try:
        order = store.order_record("#W1000001")
        rows = store.db.execute("SELECT count(*) FROM write_ledger WHERE tool_call_id = ?", [call_id]).fetchone()[0]
    finally:
        store.close()
    refunds = sum(h["transaction_type"] == "refund" for h in order["payment_history"])
    return order["status"], refunds, rows


async def _confirm_then_kill(root: Path, headers: dict, trigger: str, reached: str) -> str:
    """Identify, ask for the cancel, then answer yes with ``trigger`` set and kill once ``reached`` appears;
    the cancel's tool call id."""
    async with _server(root, headers) as (c, proc):
        _turn_events(await c.post("/threads/t/messages", json={"text": HELLO}))
        asked = _turn_events(await c.post("/threads/t/messages", json={"text": CANCEL}))
        request = next(e for e in asked if e["kind"] == "confirmation_requested")
        assert request["tool"] == "cancel_pending_order"  # the model's call
        assert _write_record(root, request["tool_call_id"]) == ("pending", 0, 0)
        (root / trigger).touch()
        answer = asyncio.create_task(c.post("/threads/t/confirmation", json={"approved": True}))
        await _kill_when(proc, answer, (root / reached).exists, reached)
    # The write committed before the kill: store change and ledger row together.
    assert _write_record(root, request["tool_call_id"]) == ("cancelled", 1, 1)
    return request["tool_call_id"]


async def _killed_after_confirming(tmp_path, mode: str, marker: str):
    """A cancel confirmed, the server killed at ``marker``; then the settings, headers, the write's call id and
    the model that words the answer after the restart."""
    settings = _settings(tmp_path)
    headers = operator_headers(settings)
    call_id = await _confirm_then_kill(tmp_path, headers, mode, marker)
    return settings, headers, call_id, ScriptedChatModel(["Order #W1000001 is cancelled; the refund goes back to your card."])


async def test_write_committed_before_a_kill_mid_reply_runs_once(tmp_path):
    # Killed while the model words the answer to the executed write: the write's step was checkpointed.
    settings, headers, call_id, model = await _killed_after_confirming(tmp_path, "slow", "thinking")
    async with client(settings, model) as c:
        c.headers.update(headers)
        thread = (await c.get("/threads/t")).json()
        assert thread["failed_turn"] and thread["pending_confirmation"] is None, thread
        found = await _post_after_lease(c, "/threads/t/retry")
        assert _reply(found).startswith("Order #W1000001 is cancelled")
        assert not [e for e in found if e["kind"] == "tool_result"]  # the retry did not run the write again
    assert _write_record(tmp_path, call_id) == ("cancelled", 1, 1)
    model.assert_complete()


@pytest.mark.parametrize("approved", [True, False], ids=["yes-again", "no-now"])
async def test_write_committed_just_before_its_step_was_checkpointed_runs_once(tmp_path, approved):
    # Killed between the write's commit and the checkpoint of the step that ran it: after the restart the
    # thread still shows the confirmation (the step never finished), the step runs again when it is answered,
    # and the write ledger answers it with the first run's result instead of writing twice. A "no" now cannot
    # deny the write the customer already confirmed either.
    settings, headers, call_id, model = await _killed_after_confirming(tmp_path, "hang_after_write", "wrote")
    async with client(settings, model) as c:
        c.headers.update(headers)
        thread = (await c.get("/threads/t")).json()
        assert thread["pending_confirmation"]["tool_call_id"] == call_id and thread["next"] == ["confirm_write"]
        found = await _post_after_lease(c, "/threads/t/confirmation", {"approved": approved})
        result = next(e for e in found if e["kind"] == "tool_result")
        assert result["call_id"] == call_id and result["ok"] and "cancelled" in result["result"], result
        assert _reply(found).startswith("Order #W1000001 is cancelled")
        assert (await c.get("/threads/t")).json()["pending_confirmation"] is None
    assert _write_record(tmp_path, call_id) == ("cancelled", 1, 1)
    model.assert_complete()
