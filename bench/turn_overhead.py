"""Per-turn overhead of the support graph vs LangChain's prebuilt agent, with the model time taken out.

Both graphs get the same scripted model (answers instantly), the same retail tools and the same SQLite
checkpoint settings as the runtime: WAL, synchronous=NORMAL, durability="sync" (every step committed before
the next), and one fsync of the WAL when the turn returns (so a turn that returned is on disk). Both are driven
with ``ainvoke`` as the runtime drives them; deskgraph uses the runtime's saver (the async SQLite saver plus the
in-memory delta-history cache), the baseline the stock async SQLite saver. One thread each, text-only turns, the two graphs interleaved turn by turn (so that disk and CPU drift hit both
alike), in several rounds whose median is reported with the spread of the time ratio. Measured: wall time per turn at turn 1, around turn 50 and around turn 200,
and checkpoint bytes added per turn (checkpoint + metadata + pending-write blobs).

``--database postgres``: both sides on PostgreSQL instead (a throwaway server from Debian's binaries, each side in
its own database): deskgraph on the runtime's PostgreSQL saver (a pool, the delta-history cache), the baseline on
the stock ``AsyncPostgresSaver``; bytes are the checkpoint, metadata, channel-blob and write rows' sizes.

    .venv/bin/python bench/turn_overhead.py [--turns 200] [--rounds 3] [--dialogue flows|agent]
                                            [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosqlite
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.runtime.durability import make_durable
from agent.runtime.storage import open_checkpointer
from agent.testing import ScriptedChatModel
from bench.checks import report
from graphs import GraphOptions, build_support_graph
from tools import RetailStore, langchain_tools
from tools.generator import generate_dataset

QUESTION = "Could you tell me more about how returns work for the items in my last delivered order, please? "
ANSWER = ("Returns are possible for delivered orders: tell me which items you want to return and whether the refund "
          "should go to the original payment method or to a gift card, and I will prepare the request for you. ")


async def _saver(path: Path, cached: bool) -> tuple[aiosqlite.Connection, AsyncSqliteSaver]:
    """deskgraph: the runtime's own saver (``open_checkpointer``); the baseline: the stock async saver on the same
    SQLite settings (WAL, synchronous=NORMAL)."""
    if cached:
        return await open_checkpointer(path)
    conn = await aiosqlite.connect(str(path))
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    saver = AsyncSqliteSaver(conn)
    await saver.setup()
    return conn, saver


def _stored_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:  # a reader beside the saver's writer (WAL)
        checkpoints = conn.execute("SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints")
        writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes")
        return int(checkpoints.fetchone()[0]) + int(writes.fetchone()[0])


_PG_BYTES = """
SELECT (SELECT coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0) FROM checkpoints)
     + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_blobs)
     + (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes)
"""


class PostgresSaving:
    """One side's checkpoints on PostgreSQL: its own database of the bench's throwaway server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stack: contextlib.AsyncExitStack | None = None

    async def saver(self, cached: bool) -> Any:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg import AsyncConnection
        from psycopg.rows import dict_row

        from agent.runtime.postgres_saver import open_postgres_checkpointer
        from graphs.state import delta_channels

        self._stack = contextlib.AsyncExitStack()
        if cached:
            return await self._stack.enter_async_context(open_postgres_checkpointer(self.url, delta_channels()))
        conn = await AsyncConnection.connect(self.url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        self._stack.push_async_callback(conn.close)
        saver = AsyncPostgresSaver(conn)
        await saver.setup()
        return saver

    def stored_bytes(self) -> int:
        import psycopg

        with psycopg.connect(self.url) as conn:
            return int(conn.execute(_PG_BYTES).fetchone()[0])

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()


class Side:
    """One graph kind over its own checkpoint file (or PostgreSQL database), turn by turn."""

    def __init__(self, kind: str, path: Path, conn: Any, graph: Any, model: ScriptedChatModel,
                 postgres: PostgresSaving | None = None):
        self.kind, self.path, self.conn, self.graph, self.model = kind, path, conn, graph, model
        self.postgres = postgres
        self.config = {"configurable": {"thread_id": f"bench-{kind}"}}
        self.seconds: list[float] = []
        self.sizes: list[int] = []
        self._bytes = self.stored_bytes()

    def stored_bytes(self) -> int:
        return self.postgres.stored_bytes() if self.postgres else _stored_bytes(self.path)

    @classmethod
    async def open(cls, kind: str, root: Path, store: RetailStore, context_tokens: int, dialogue: str,
                   postgres_url: str | None = None) -> Side:
        path = root / f"{kind}.db"
        postgres = PostgresSaving(postgres_url) if postgres_url else None
        if postgres:
            conn, saver = None, await postgres.saver(cached=kind == "deskgraph")
        else:
            conn, saver = await _saver(path, cached=kind == "deskgraph")
        model = ScriptedChatModel()
        if kind == "deskgraph":
            options = GraphOptions(today=dt.date(2026, 11, 26), context_tokens=context_tokens, dialogue=dialogue)
            graph = build_support_graph(model=model, store=store, checkpointer=saver, options=options)
        else:
            graph = create_agent(model, tools=langchain_tools(store), system_prompt="You are a support agent.",
                                 checkpointer=saver)
        return cls(kind, path, conn, graph, model, postgres)

    async def turn(self, turn: int) -> None:
        """One text-only turn, driven as the runtime drives it (``ainvoke``), made durable; its time and bytes."""
        self.model.extend([f"{ANSWER}(turn {turn})"])
        start = time.perf_counter()
        await self.graph.ainvoke({"messages": [HumanMessage(f"{QUESTION}(turn {turn})")]}, self.config,
                                 durability="sync")
        if self.postgres is None:
            make_durable(self.path)  # (PostgreSQL: a committed step is durable already)
        self.seconds.append(time.perf_counter() - start)
        after = self.stored_bytes()
        self.sizes.append(after - self._bytes)
        self._bytes = after

    async def close(self) -> None:
        self.model.assert_complete()
        if self.postgres:
            await self.postgres.close()
        else:
            await self.conn.close()


async def run_round(turns: int, root: Path, store: RetailStore, context_tokens: int, dialogue: str,
                    postgres: Any = None) -> dict[str, tuple[list[float], list[int]]]:
    """Both graphs, interleaved turn by turn (the first to go alternates), so that disk and CPU drift during the
    round hit both alike. Per kind: seconds and bytes of each turn."""
    sides = [await Side.open(kind, root, store, context_tokens, dialogue,
                             postgres.new_database() if postgres else None) for kind in ("baseline", "deskgraph")]
    for turn in range(1, turns + 1):
        for side in sides if turn % 2 else sides[::-1]:
            await side.turn(turn)
    for side in sides:
        await side.close()
    return {side.kind: (side.seconds, side.sizes) for side in sides}


def window(values: list, center: int, half: int = 10) -> list:
    """Values of the turns around ``center`` (1-based)."""
    return values[max(center - half, 1) - 1: min(center + half, len(values))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--context-tokens", type=int, default=32768,
                        help="model context the history window is budgeted from (32768: vLLM; 8192: embedded)")
    parser.add_argument("--dialogue", choices=("flows", "agent"), default="flows",
                        help="deskgraph's dialogue (flows: the product's default)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the figures are their median")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                        help="where both sides keep their checkpoints")
    args = parser.parse_args()
    turns = args.turns
    rounds = []
    with contextlib.ExitStack() as stack:
        postgres = None
        if args.database == "postgres":
            from tests.postgres_server import ThrowawayPostgres

            postgres = stack.enter_context(ThrowawayPostgres())
        for number in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                store = RetailStore.open(root / "store.db")
                store.load_json(generate_dataset(customers=50, seed=1))
                rounds.append(asyncio.run(run_round(turns, root, store, args.context_tokens, args.dialogue,
                                                    postgres)))
                store.close()
            print(f"round {number + 1}/{args.rounds} done", file=sys.stderr)
    print(f"checkpoints on {args.database}")
    print(f"dialogue {args.dialogue}; context budget {args.context_tokens} tokens: deskgraph sends the system prompt, "
          "the tools and as many recent messages as fit; the baseline sends the whole history")
    print(f"{args.rounds} rounds, each with both graphs interleaved turn by turn; figures are the median of the rounds")
    marks = [1, min(50, turns), turns]

    def figure(kind: str, mark: int, which: int, scale: float) -> list[float]:
        return [statistics.median(window(r[kind][which], mark)) * scale for r in rounds]

    print(f"{'turn':>6} | {'baseline ms':>11} {'KiB/turn':>9} | {'deskgraph ms':>12} {'KiB/turn':>9} | "
          f"{'time ratio':>10} {'spread':>7}")
    figures: dict[str, dict[int, tuple[float, float]]] = {"baseline": {}, "deskgraph": {}}
    ratio_spread: dict[int, float] = {}
    for m in marks:
        for kind in figures:
            figures[kind][m] = (statistics.median(figure(kind, m, 0, 1000)),
                                statistics.median(figure(kind, m, 1, 1 / 1024)))
        ratios = [d / b for d, b in zip(figure("deskgraph", m, 0, 1), figure("baseline", m, 0, 1), strict=True)]
        ratio_spread[m] = max(ratios) - min(ratios)
        b, d = figures["baseline"][m], figures["deskgraph"][m]
        print(f"{m:>6} | {b[0]:>11.2f} {b[1]:>9.1f} | {d[0]:>12.2f} {d[1]:>9.2f} | {statistics.median(ratios):>9.2f}x "
              f"{ratio_spread[m]:>6.2f}")
    last = rounds[-1]
    total = {k: sum(v[1]) / 1024 for k, v in last.items()}
    print(f"checkpoint file content after {turns} turns: baseline {total['baseline']:.0f} KiB, "
          f"deskgraph {total['deskgraph']:.0f} KiB (includes periodic full snapshots)")
    d200, b200 = figures["deskgraph"][turns], figures["baseline"][turns]
    d50 = figures["deskgraph"][marks[1]]
    avg_bytes = {k: statistics.mean(v[1][marks[1] - 1:]) / 1024 for k, v in last.items()}
    time_ratio = d200[0] / b200[0]
    bytes_ratio = avg_bytes["deskgraph"] / avg_bytes["baseline"]
    flat_time = d200[0] / d50[0]
    flat_bytes = d200[1] / d50[1] if d50[1] else float("inf")
    checks = [
        (f"overhead at turn {turns}: deskgraph/baseline = {time_ratio:.2f}x, spread {ratio_spread[turns]:.2f} over the "
         f"rounds (target <= 0.5x)", time_ratio <= 0.5),
        (f"bytes per turn (mean of turns {marks[1]}-{turns}, snapshots included): deskgraph/baseline = "
         f"{bytes_ratio:.4f}x (target <= 0.05x)", bytes_ratio <= 0.05),
        (f"overhead p50 at turn {turns}: {d200[0]:.2f} ms (target <= 10 ms)", d200[0] <= 10),
        (f"flat from turn {marks[1]} to {turns}: time x{flat_time:.2f}, bytes x{flat_bytes:.2f} (target <= 1.25)",
         flat_time <= 1.25 and flat_bytes <= 1.25),
    ]
    return report(checks)


if __name__ == "__main__":
    raise SystemExit(main())
