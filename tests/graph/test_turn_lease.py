"""Issue 10, one turn at a time per thread: five messages at once to one thread, through one process and
through two processes on one database, give one 200 and four 409; nothing accepted is lost, nothing branches."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent.runtime import SupportRuntime, ThreadBusyError
from agent.runtime.lease import TurnLeases
from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, events, operator_headers, shop_settings
from tests.graph.server_process import free_ports, start_server, wait_healthy
from tests.graph.slow_server import _slow_reply

REPO = Path(__file__).resolve().parents[2]
BUSY = {"detail": "a turn is already running in this thread"}


async def _history_is_linear(settings, thread: str) -> None:
    """Every checkpoint of the thread lies on one chain from the newest back to the first: no branches."""
    async with SupportRuntime.open(settings, model=ScriptedChatModel()) as rt:
        snaps = [s async for s in rt.graph.aget_state_history(rt.config(thread))]
        parents = [s.parent_config["configurable"]["checkpoint_id"] for s in snaps if s.parent_config]
        assert len(parents) == len(set(parents)) == len(snaps) - 1  # no checkpoint has two children
        return (await rt.view(thread)).messages


def _assert_one_accepted(statuses_and_bodies, messages) -> None:
    statuses = sorted(status for status, _ in statuses_and_bodies)
    assert statuses == [200, 409, 409, 409, 409], statuses
    assert all(body == BUSY for status, body in statuses_and_bodies if status == 409)
    accepted = next(body for status, body in statuses_and_bodies if status == 200)
    texts = [m.content for m in messages]
    assert texts.count(accepted) == 1 and texts.count(f"Answered: {accepted}") == 1
    assert sum(t.startswith("message ") for t in texts) == 1  # the refused ones never reached the thread


async def test_five_at_once_through_one_process(tmp_path):
    settings = shop_settings(tmp_path)
    model = ScriptedChatModel([_slow_reply(1.0)])
    async with client(settings, model) as c:
        c.headers.update(operator_headers(settings))

        async def post(i: int) -> tuple[int, object]:
            r = await c.post("/threads/busy/messages", json={"text": f"message {i}"})
            return r.status_code, (r.json() if r.status_code != 200 else f"message {i}")

        results = await asyncio.gather(*(post(i) for i in range(5)))
        # The lease is free again once the turn ended: the next message is accepted.
        model.extend(["Next."])
        r = await c.post("/threads/busy/messages", json={"text": "later"})
        assert r.status_code == 200 and events(r.text)[-1]["text"] == "Next."
    messages = await _history_is_linear(settings, "busy")
    _assert_one_accepted(results, messages[:-2])
    model.assert_complete()


async def test_confirmation_while_a_turn_runs_is_refused(tmp_path):
    settings = shop_settings(tmp_path)
    async with SupportRuntime.open(settings, model=ScriptedChatModel([_slow_reply(1.0)])) as rt:
        turn = await rt.begin_message("t", "hello")
        with pytest.raises(ThreadBusyError):
            await rt.begin_confirmation("t", True)
        with pytest.raises(ThreadBusyError):
            await rt.begin_retry("t")
        assert [e.kind async for e in turn][-1] == "reply"
        await rt.begin_message("t", "")  # the lease was released: nothing refuses any more


@pytest.mark.usefixtures("on_both_engines")
async def test_five_at_once_through_two_processes_on_one_database(tmp_path):
    settings = shop_settings(tmp_path)
    headers = operator_headers(settings)
    ports = free_ports(2)
    logs = [tmp_path / f"server-{port}.log" for port in ports]
    procs = [start_server("tests.graph.slow_server", str(tmp_path), str(port), "2.0", log=log)
             for port, log in zip(ports, logs, strict=True)]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(wait_healthy(url, p, log) for url, p, log in zip(urls, procs, logs, strict=True)))
        async with httpx.AsyncClient(headers=headers, timeout=30) as c:
            async def post(i: int) -> tuple[int, object]:
                r = await c.post(f"{urls[i % 2]}/threads/two-procs/messages", json={"text": f"message {i}"})
                return r.status_code, (r.json() if r.status_code != 200 else f"message {i}")

            results = await asyncio.gather(*(post(i) for i in range(5)))
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    _assert_one_accepted(results, await _history_is_linear(settings, "two-procs"))


async def test_a_killed_process_blocks_a_thread_only_until_its_lease_expires(tmp_path):
    # A process takes the lease and is killed with -9 mid-turn: no finally runs, no release.
    db = tmp_path / "cp.db"
    holder = subprocess.Popen([sys.executable, "-c", f"""
import asyncio, sys
from agent.runtime.lease import TurnLeases
async def main():
    leases = await TurnLeases.open({str(db)!r}, ttl_seconds=1.0)
    assert await leases.acquire("t")
    print("held", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""], cwd=REPO, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == b"held"
    finally:
        holder.kill()
        holder.wait()
    leases = await TurnLeases.open(db, ttl_seconds=1.0)
    try:
        assert await leases.acquire("t") is None  # still leased by the dead process...
        started = time.monotonic()
        while (owner := await leases.acquire("t")) is None:
            await asyncio.sleep(0.1)
        assert owner and time.monotonic() - started < 3  # ...until the lease expired: then it is taken over
        assert await leases.acquire("t") is None  # and held by us now
        await leases.release("t", owner)
        assert await leases.acquire("t") is not None
    finally:
        await leases.close()


async def test_a_long_turn_keeps_its_lease_by_heartbeat(tmp_path):
    leases = await TurnLeases.open(tmp_path / "cp.db", ttl_seconds=0.6)
    other = await TurnLeases.open(tmp_path / "cp.db", ttl_seconds=0.6)
    try:
        async with leases.hold("t"):
            await asyncio.sleep(1.5)  # far past the ttl: the heartbeat renewed it
            assert await other.acquire("t") is None
        assert await other.acquire("t") is not None
    finally:
        await leases.close()
        await other.close()


async def test_taking_a_lease_claims_an_unclaimed_thread_busy_or_not(on_both_engines, tmp_path):
    """A message turn's lease claims its thread for the sender in the same statement or transaction (one statement
    on PostgreSQL): an unclaimed thread is claimed whether or not its lease is free, a claimed one keeps its
    claim, and a lease taken without a claim claims nothing."""
    location = os.environ.get("DESKGRAPH_DATABASE_URL") or tmp_path / "cp.db"
    leases = await TurnLeases.open(location)
    try:
        first = await leases.acquire("t", claim_for="alice")
        assert first is not None and await leases.owner_of("t") == "alice"
        assert await leases.acquire("t", claim_for="bob") is None  # busy, and alice's thread stays hers
        assert await leases.owner_of("t") == "alice"
        held = await leases.acquire("u")
        assert held is not None and await leases.owner_of("u") is None
        assert await leases.acquire("u", claim_for="carol") is None  # busy, but unclaimed until now
        assert await leases.owner_of("u") == "carol"
        await leases.release("t", first)
        again = await leases.acquire("t", claim_for="bob")
        assert again is not None and await leases.owner_of("t") == "alice"
    finally:
        await leases.close()


class _Failing:
    """A lease connection whose next statement fails midway: it runs and its answer is lost ("after": a server
    given up on, a connection lost after the commit), or it never arrives ("before")."""

    def __init__(self, conn) -> None:
        self.conn, self.engine, self.fail_next = conn, conn.engine, None

    async def execute(self, sql, params=()):
        when, self.fail_next = self.fail_next, None
        if when == "before":
            raise OSError("the statement never arrived")
        cursor = await self.conn.execute(sql, params)
        if when == "after":
            raise OSError("the answer was lost")
        return cursor

    async def run_transaction(self, statements):
        return await self.conn.run_transaction(statements)

    async def close(self) -> None:
        await self.conn.close()


@pytest.mark.usefixtures("on_both_engines")
async def test_a_lease_whose_taking_or_giving_back_failed_midway_is_taken_over_at_once(tmp_path):
    """The statement that took a lease ran but its answer was lost, or the one that gave it back never ran: the
    lease is held by no turn. The thread's next turn in this process takes it over at once instead of being
    refused as busy until the lease expires; elsewhere it is busy until then, and a lease someone holds stays
    theirs."""
    location = os.environ.get("DESKGRAPH_DATABASE_URL") or tmp_path / "cp.db"
    opened = await TurnLeases.open(location, ttl_seconds=600)
    leases = TurnLeases(_Failing(opened.conn), ttl_seconds=600)
    other = await TurnLeases.open(location, ttl_seconds=600)
    try:
        leases.conn.fail_next = "after"
        with pytest.raises(OSError):
            await leases.acquire("t")  # ran: "t" is leased to nobody alive, for ten minutes
        assert await other.acquire("t") is None  # elsewhere it is busy until it expires
        owner = await leases.acquire("t")  # here it is taken over at once
        assert owner is not None and await other.acquire("t") is None
        leases.conn.fail_next = "before"
        with pytest.raises(OSError):
            await leases.release("t", owner)  # never given back
        assert await other.acquire("t") is None
        assert await leases.acquire("t") is not None  # taken over at once here too
        held = await other.acquire("u")
        assert held is not None and await leases.acquire("u") is None  # someone's lease stays theirs
    finally:
        await leases.close()
        await other.close()
