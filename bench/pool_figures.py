"""The pool figures ``bench/service_load.py`` reads from each replica's ``/metrics`` on PostgreSQL
(agent/observability/pool_metrics.py): how many of a round's statements waited for a connection, and how long."""

from __future__ import annotations

import httpx

from bench.turn_kinds import TurnKind

#: The pool counters the bench reads from a replica's /metrics (agent/observability/pool_metrics.py).
POOL_SERIES = {"requests": "deskgraph_database_pool_requests_total",
               "queued": "deskgraph_database_pool_queued_total",
               "wait_seconds": "deskgraph_database_pool_wait_seconds_total"}


async def pool_figures(clients: list[httpx.AsyncClient], headers: dict[str, str]) -> dict[str, float] | None:
    """The pool counters summed over the replicas; None when they have none (``--code`` of an earlier checkout)."""
    totals = dict.fromkeys(POOL_SERIES, 0.0)
    for client in clients:
        answer = await client.get("/metrics", headers=headers)
        answer.raise_for_status()
        samples = dict(line.rsplit(" ", 1) for line in answer.text.splitlines() if line and line[0] != "#")
        if not all(series in samples for series in POOL_SERIES.values()):
            return None
        for key, series in POOL_SERIES.items():
            totals[key] += float(samples[series])
    return totals


def metrics_headers(database_url: str, kind: TurnKind, tag: str) -> dict[str, str]:
    """How the bench reads a replica's /metrics: open while the API's auth is off, else the token of an operator
    of its own for the round ``tag`` (an operator has one token: the rounds share the database)."""
    if not kind.signed_in:
        return {}
    from agent.auth.operators import OperatorTokens

    tokens = OperatorTokens(database_url)
    try:
        return {"Authorization": f"Bearer {tokens.issue(f'service-load-bench-{tag}')}"}
    finally:
        tokens.close()
