"""The PostgreSQL pool's figures in /metrics (agent.observability.pool_metrics): what an operator tunes
DESKGRAPH_DATABASE_POOL_SIZE by, and what an outage did."""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool

from agent.observability import REGISTRY, pool_metrics
from agent.testing import ScriptedChatModel
from tests.graph.api_support import LENA, client, customer_headers, operator_headers, shop_settings


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_replica_on_postgresql_reports_its_pool(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", postgres_url)
    settings = shop_settings(tmp_path, database_pool_size=4)
    async with client(settings, ScriptedChatModel(["Hello Lena."])) as c:
        before = _value("deskgraph_database_pool_requests_total")
        await c.post("/threads/p1/messages", json={"text": "hi"}, headers=customer_headers(LENA))
        text = (await c.get("/metrics", headers=operator_headers(settings))).text
        assert "# TYPE deskgraph_database_pool_connections gauge" in text
        assert "# TYPE deskgraph_database_pool_wait_seconds_total counter" in text
        assert _value("deskgraph_database_pool_max_connections") >= 4
        assert _value("deskgraph_database_pool_connections", state="open") >= 3  # three quarters kept open
        # A turn's statements (the lease, the reads, the checkpoints) each took a connection.
        assert _value("deskgraph_database_pool_requests_total") - before >= 5
    assert "deskgraph_database_pool" not in _metrics_of_closed_pools()


async def test_statements_that_wait_for_a_connection_are_counted(postgres_url):
    pool = AsyncConnectionPool(postgres_url, min_size=1, max_size=1, open=False)
    async with pool:
        await pool.wait()
        pool_metrics.watch(pool)
        before = {key: _value(f"deskgraph_database_pool_{key}_total") for key in ("queued", "wait_seconds")}
        held = await pool.getconn()
        waiting = asyncio.create_task(pool.getconn())
        await asyncio.sleep(0.2)
        assert _value("deskgraph_database_pool_waiting") >= 1
        assert _value("deskgraph_database_pool_connections", state="idle") == 0
        await pool.putconn(held)
        await pool.putconn(await waiting)
        assert _value("deskgraph_database_pool_queued_total") == before["queued"] + 1
        assert _value("deskgraph_database_pool_wait_seconds_total") - before["wait_seconds"] >= 0.15


def _metrics_of_closed_pools() -> str:
    """/metrics as a process with no open pool shows it (a closed runtime's pool is left out)."""
    from agent.observability.metrics import metrics_text

    return metrics_text()[0].decode()
