"""The PostgreSQL connection pool's figures in ``/metrics`` (``deskgraph_database_*``), read when scraped.

Every statement of a replica's turns (checkpoints, writes, the lease, the model recorder) runs on a connection of
its saver's pool: these figures say whether ``DESKGRAPH_DATABASE_POOL_SIZE`` is right for the load (statements
that waited for a connection, and for how long) and what an outage did (connections lost, connection attempts that
failed, statements failed because the server could not be reached). The pool counts them itself
(``psycopg_pool``'s ``get_stats``); nothing is added to a statement's path. A deployment on SQLite has no pool and
none of these series.
"""

from __future__ import annotations

from collections.abc import Iterator
from weakref import WeakSet

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool

from agent.observability.metrics import REGISTRY

#: Statements failed at once because the server did not answer a new connection (runtime.postgres_checkout).
UNREACHABLE = Counter("deskgraph_database_unreachable", "Statements failed because the PostgreSQL server could not "
                      "be reached (refused or no answer) while they waited for a connection.", registry=REGISTRY)

#: (name, help, the pool's counter, scale) of each counter series.
_COUNTERS = (
    ("deskgraph_database_pool_requests", "Requests for a connection of the pool.", "requests_num", 1),
    ("deskgraph_database_pool_queued", "Requests that waited for a connection (none idle); a statement still "
     "waiting when the server is asked (after 1 s) asks again, and counts twice.", "requests_queued", 1),
    ("deskgraph_database_pool_wait_seconds", "Time statements spent waiting for a connection.", "requests_wait_ms",
     0.001),
    ("deskgraph_database_pool_timeouts", "Waits for a connection cut short: after 1 s, to ask the server whether it "
     "is there, or at the pool's timeout.", "requests_errors", 1),
    ("deskgraph_database_connections_lost", "Connections found broken (a server restart, a failover, an outage).",
     "connections_lost", 1),
    ("deskgraph_database_connection_errors", "Attempts to open a connection that failed.", "connections_errors", 1),
)


class PoolCollector(Collector):
    """The figures of the pools it watches, summed (one pool per runtime; tests open several in one process)."""

    def __init__(self) -> None:
        self.pools: WeakSet[AsyncConnectionPool] = WeakSet()

    def collect(self) -> Iterator[Metric]:
        stats = [pool.get_stats() for pool in list(self.pools) if not pool.closed]
        if not stats:
            return

        def total(key: str) -> float:
            return sum(s.get(key, 0) for s in stats)

        connections = GaugeMetricFamily("deskgraph_database_pool_connections",
                                        "The pool's connections: open (idle or in use) and idle.", labels=["state"])
        connections.add_metric(["open"], total("pool_size"))
        connections.add_metric(["idle"], total("pool_available"))
        yield connections
        yield GaugeMetricFamily("deskgraph_database_pool_max_connections",
                                "The most connections the pool opens (DESKGRAPH_DATABASE_POOL_SIZE).",
                                value=total("pool_max"))
        yield GaugeMetricFamily("deskgraph_database_pool_waiting", "Statements waiting for a connection now.",
                                value=total("requests_waiting"))
        for name, description, key, scale in _COUNTERS:
            yield CounterMetricFamily(name, description, value=total(key) * scale)


_COLLECTOR = PoolCollector()
REGISTRY.register(_COLLECTOR)


def watch(pool: AsyncConnectionPool) -> None:
    """Report this pool's figures in ``/metrics`` while it is open."""
    _COLLECTOR.pools.add(pool)
