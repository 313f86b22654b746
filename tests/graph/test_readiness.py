"""`GET /ready`: what a load balancer asks each replica. 200 while the replica reaches its database (SQLite files
or the shared PostgreSQL), 503 while it does not; `/health` stays 200 either way (the process is up)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, shop_settings


@pytest.mark.usefixtures("on_both_engines")
async def test_ready_while_the_database_answers_and_503_when_it_does_not(tmp_path, monkeypatch):
    settings = shop_settings(tmp_path)
    async with client(settings, ScriptedChatModel()) as c:
        r = await c.get("/ready")
        assert r.status_code == 200 and r.json() == {"status": "ready"}
        runtime = c.app.state.runtime

        async def lost() -> None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(runtime.leases, "ping", lost)
        r = await c.get("/ready")
        assert r.status_code == 503 and r.json() == {"detail": "the database does not answer"}
        assert (await c.get("/health")).status_code == 200


async def test_a_postgresql_server_that_goes_away_takes_the_replica_out_of_rotation(own_postgres_server, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", own_postgres_server.new_database())
    async with client(shop_settings(tmp_path), ScriptedChatModel()) as c:
        assert (await c.get("/ready")).status_code == 200
        own_postgres_server.stop()  # immediate shutdown: every connection of the replica breaks
        assert (await c.get("/ready")).status_code == 503
        assert (await c.get("/health")).status_code == 200


async def test_a_postgresql_server_that_stops_answering_takes_the_replica_out_within_seconds(own_postgres_server,
                                                                                           tmp_path, monkeypatch):
    """A frozen server (nothing refuses, nothing answers): /ready says 503 within its 5 s per check, well before the
    connections' own limit on an answer."""
    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", own_postgres_server.new_database())
    async with client(shop_settings(tmp_path), ScriptedChatModel()) as c:
        assert (await c.get("/ready")).status_code == 200
        own_postgres_server.freeze()
        try:
            started = time.monotonic()
            r = await asyncio.wait_for(c.get("/ready"), timeout=14)
            assert r.status_code == 503 and time.monotonic() - started < 12
        finally:
            own_postgres_server.thaw()
        assert (await c.get("/ready")).status_code == 200
