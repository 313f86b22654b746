"""Throughput of one `deskgraph serve` process under many concurrent conversations, with the model's time fixed.

A fake OpenAI-compatible server answers every request after a fixed latency (the flows' reading request under
`response_format` too, so the product's default dialogue is what is measured). The turns are an anonymous visitor's
open question (`--turn text`, the default) or a signed-in customer's question about one of their orders, which the
dialogue looks up in the store (`--turn tool`; customer tokens on the API): see bench/turn_kinds.py. Each round measures, in the same
run, one conversation alone (its turn latency L: the model's part plus the service's own) and then N conversations
at once, M turns each. Ideal throughput is N / L: every conversation as fast as when it was alone. Printed per
round and as the median of the rounds with their spread: throughput, efficiency against the ideal, the latency the
load adds to a turn (p50 / p99 of the turn's latency minus L) and the service's CPU per turn (its process's user +
system time over the concurrent phase, per turn: the sum over the replicas) and its peak resident memory (the
largest replica's). Also how busy the whole machine was meanwhile, and the CPU per turn of everything else on it
(the database server, the fake model, this client; bench/proc_figures.py): a machine near 100 % busy delays the
replica's turns whatever its own CPU per turn. On PostgreSQL also the share of the statements that waited for a connection of their
replica's pool, and that wait per turn (from the replicas' ``/metrics``, agent/observability/pool_metrics.py): a
replica short of connections, or too far behind to give them back in time, shows there.

The load generator stays out of the figures: the fake model server runs in a process of its own, as a model
server does (bench/fake_model.py; ``--no-model-process`` keeps it in this one), and neither it nor the client
collects garbage while turns are timed (a full collection of either stopped it for 30-80 ms, counted as latency
the service added).

How the conversations arrive (``--arrivals``):
- ``spread`` (the default): conversation i starts at i * L / N, as independent customers do, so the N conversations
  are in flight together from L on, out of step with each other. Throughput is counted in that steady window:
  the turns that end between L (every conversation has started) and the moment the first conversation is done,
  over the window's length. Latency added is over every turn.
- ``burst``: all N first messages in the same instant, throughput over the whole run. This measures a stampede,
  not the service's pace: one core works through the N first messages one after the other, so the last of them
  waits N times the CPU that a turn spends before its model request, whatever that CPU is (64 x 1 ms already
  exceeds the 50 ms target). Kept to see how the service takes one.

``--replicas N`` starts N `deskgraph serve` processes on one database and sends every turn of every conversation to
the next replica in turn, as a load balancer without sticky sessions would (conversation i's turn t goes to replica
(i + t) mod N); ``--replicas 1,2`` measures both in every round (fresh processes each time, the order alternating
from round to round) and checks the scaling. That check means something only when one replica is CPU-bound and two
have the cores they need: ``--replica-cpu 0.35`` holds each replica to 0.35 of a core (a cgroup of its own,
bench/cpu_budget.py), so that on a small machine two replicas fit beside the database, the fake model and the client. ``--database postgres`` puts everything in a throwaway PostgreSQL server (Debian's binaries, as in
the tests) instead of the SQLite files. ``--own-cores`` gives replica i core i alone and puts everything else (the
database server, the fake model, this client) on the cores left, as a deployment's replicas run beside, not on, the
database's machine: on this 2-core machine the PostgreSQL server otherwise takes turns on the replica's core.

    .venv/bin/python bench/service_load.py [--turn text|tool] [--conversations 64] [--turns 5] [--latency 0.5]
        [--rounds 3] [--replicas 1|2|1,2] [--database sqlite|postgres] [--arrivals spread|burst]
        [--code <another checkout>] [--no-model-process] [--replica-cpu CORES] [--own-cores]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.auth.customer import mint_customer_token  # noqa: E402 - after the path is set
from bench.checks import report  # noqa: E402
from bench.cpu_budget import CpuBudget  # noqa: E402
from bench.fake_model import fake_model_server  # noqa: E402
from bench.pool_figures import metrics_headers, pool_figures  # noqa: E402
from bench.proc_figures import cpu_seconds, machine_seconds, peak_rss_mb  # noqa: E402
from bench.turn_kinds import TURN_KINDS, TurnKind  # noqa: E402
from tools import RetailStore  # noqa: E402
from tools.generator import generate_dataset  # noqa: E402

#: The shop's secret the signed-in turns' customer tokens are signed with (a benchmark's own, never a real one).
TOKEN_SECRET = "service-load-benchmark-secret-0123456789"
#: CPU per turn the service must stay within, by kind of turn (ms).
CPU_TARGETS_MS = {"text": 10.0, "tool": 20.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(location: str | Path, kind: TurnKind) -> None:
    store = RetailStore.open(location)
    try:
        store.load_json(generate_dataset(customers=50, seed=1))
        kind.prepare(store)
    finally:
        store.close()


def _start_service(root: Path, model_url: str, code: Path | None, kind: TurnKind,
                   database_url: str | None, core: int | None = None) -> tuple[subprocess.Popen, str]:
    """A `deskgraph serve` process on the shop in ``root`` (or the database), on ``core`` alone when given."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGRAPH_")}
    env.update({"DESKGRAPH_STORE_DB": str(root / "store.db"), "DESKGRAPH_CHECKPOINT_DB": str(root / "cp.db"),
                "DESKGRAPH_LLM_BASE_URL": model_url, "DESKGRAPH_LLM_MODEL": "fake-qwen",
                "DESKGRAPH_API_AUTH": "off", "DESKGRAPH_LOG_LEVEL": "warning", "NO_PROXY": "127.0.0.1"})
    if database_url:
        env["DESKGRAPH_DATABASE_URL"] = database_url
    if kind.signed_in:  # customers call with their tokens
        env.update({"DESKGRAPH_API_AUTH": "on", "DESKGRAPH_CUSTOMER_TOKEN_SECRET": TOKEN_SECRET})
    if code is not None:  # another checkout's packages come first on the path
        env["PYTHONPATH"] = str(code.resolve())
    command = [str(Path(sys.executable).parent / "deskgraph"), "serve", "--port", str(port)]
    if core is not None:  # taskset execs the service: same process, its threads on that core only
        command = ["taskset", "--cpu-list", str(core), *command]
    proc = subprocess.Popen(command,
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("deskgraph serve did not start")


@dataclass(frozen=True)
class TurnTime:
    """One turn: when it ended (perf_counter seconds) and how long it took."""

    end: float
    latency: float


async def _conversation(clients: list[httpx.AsyncClient], thread: str, turns: int, kind: TurnKind,
                        index: int, delay: float = 0.0) -> list[TurnTime]:
    """Each turn's latency: from sending the message to the end of its event stream. Turn t goes to replica
    (index + t) mod N: no replica keeps a conversation. The first message is sent after ``delay`` seconds."""
    customer = kind.customer(index)
    headers = {"Authorization": f"Bearer {mint_customer_token(customer, TOKEN_SECRET)}"} if customer else {}
    await asyncio.sleep(delay)
    times = []
    for turn in range(turns):
        client = clients[(index + turn) % len(clients)]
        start = time.perf_counter()
        async with client.stream("POST", f"/threads/{thread}/messages", json={"text": kind.question(index)},
                                 headers=headers) as answer:
            body = "".join([chunk async for chunk in answer.aiter_text()])
        if answer.status_code != 200 or "event: reply" not in body or not kind.answered(index, body):
            raise RuntimeError(f"turn of {thread} failed: {answer.status_code} {body[-300:]}")
        end = time.perf_counter()
        times.append(TurnTime(end=end, latency=end - start))
    return times


async def _warm_up(urls: list[str], turns: int, kind: TurnKind, tag: str) -> None:
    """One conversation first: the service's first requests load prompts and open connections."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=120)) for url in urls]
        await _conversation(clients, f"{tag}-warm-up", max(turns, len(urls)), kind, 0)


async def _round(urls: list[str], pids: list[int], n: int, turns: int, tag: str, kind: TurnKind,
                 arrivals: str, metrics_auth: dict[str, str] | None = None) -> dict[str, float]:
    """One measured round; ``metrics_auth`` (PostgreSQL: the headers that read the replicas' ``/metrics``) adds
    the pool's figures."""
    limits = httpx.Limits(max_connections=n + 4, max_keepalive_connections=n + 4)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=120, limits=limits))
                   for url in urls]
        pool_before = await pool_figures(clients, metrics_auth) if metrics_auth is not None else None
        # The client's clock must not stop for its own garbage collection (a full one took 30-40 ms here): as
        # timeit does, none while turns are timed.
        gc.collect()
        gc.disable()
        try:
            alone = statistics.median(t.latency for t in await _conversation(clients, f"{tag}-alone", turns, kind, 0))
            cpu, machine = sum(cpu_seconds(pid) for pid in pids), machine_seconds()
            start = time.perf_counter()
            spacing = alone / n if arrivals == "spread" else 0.0
            runs = await asyncio.gather(*[_conversation(clients, f"{tag}-{i}", turns, kind, i, i * spacing)
                                          for i in range(n)])
            wall = time.perf_counter() - start
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
            busy, every = (after - before for after, before in zip(machine_seconds(), machine, strict=True))
        finally:
            gc.enable()
        pool = None
        if pool_before is not None and (pool_after := await pool_figures(clients, metrics_auth)) is not None:
            pool = {k: v - pool_before[k] for k, v in pool_after.items()}
    latencies = sorted(t.latency for run in runs for t in run)
    added = [x - alone for x in latencies]
    throughput = _steady_throughput(runs, start + alone) if arrivals == "spread" else len(latencies) / wall
    ideal = n / alone
    result = {"alone_s": alone, "throughput": throughput, "ideal": ideal, "efficiency": throughput / ideal,
              "added_p50_ms": statistics.median(added) * 1000,
              "added_p99_ms": added[min(len(added) - 1, int(len(added) * 0.99))] * 1000,
              "cpu_ms_per_turn": cpu / len(latencies) * 1000,
              "peak_rss_mb": max(peak_rss_mb(pid) for pid in pids),
              # The rest of the machine meanwhile (the database server, the fake model, this client): a machine
              # near 100 % busy delays the replicas whatever their own CPU per turn.
              "machine_busy_pct": busy / every * 100,
              "others_cpu_ms_per_turn": (busy - cpu) / len(latencies) * 1000}
    if pool is not None:  # the alone conversation's turns are in these counts too
        counted = len(latencies) + turns
        result |= {"queued_pct": pool["queued"] / max(pool["requests"], 1) * 100,
                   "pool_wait_ms": pool["wait_seconds"] / counted * 1000}
    return result


def _steady_throughput(runs: list[list[TurnTime]], all_started: float) -> float:
    """Turns per second while every conversation is in flight: the turns that end between ``all_started`` and the
    end of the first conversation to finish, over that window."""
    window_end = min(run[-1].end for run in runs)
    if window_end <= all_started:
        raise RuntimeError("no steady window: give the conversations more turns (--turns)")
    ended = sum(1 for run in runs for t in run if all_started < t.end <= window_end)
    return ended / (window_end - all_started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turn", choices=sorted(TURN_KINDS), default="text",
                        help="text: an anonymous visitor's open question; tool: a signed-in customer's order looked up")
    parser.add_argument("--conversations", type=int, default=64)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the fake model takes per request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", type=Path, default=None,
                        help="serve the code of another checkout (e.g. a git worktree of an earlier commit)")
    parser.add_argument("--replicas", default="1",
                        help="deskgraph serve processes on the one database; a list (1,2) measures each in every round, "
                             "in alternating order, and checks how the throughput scales")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--arrivals", choices=("spread", "burst"), default="spread",
                        help="spread: conversations start one after another over one turn's latency and throughput "
                             "is counted while all are in flight; burst: all first messages at once")
    parser.add_argument("--replica-cpu", type=float, default=None, metavar="CORES",
                        help="hold each replica to this share of one core (a cgroup of its own, bench/cpu_budget.py; "
                             "root): replicas CPU-bound on a machine with fewer cores than they need")
    parser.add_argument("--model-process", action=argparse.BooleanOptionalAction, default=True,
                        help="the fake model server in a process of its own (--no-model-process: in this one)")
    parser.add_argument("--own-cores", action="store_true",
                        help="replica i on core i alone, and everything else (the database server, the fake model, "
                             "this client) on the cores left: replicas on machines of their own, as deployed")
    args = parser.parse_args()
    counts = [int(n) for n in str(args.replicas).split(",")]
    if args.own_cores:
        others = set(range(os.cpu_count() or 1)) - set(range(max(counts)))
        if not others:
            parser.error(f"--own-cores needs more than {max(counts)} cores")
        os.sched_setaffinity(0, others)  # before the fake model and the database start: they inherit it

    kind = TURN_KINDS[args.turn]
    results: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    with fake_model_server(kind, args.latency, own_process=args.model_process) as model_url, tempfile.TemporaryDirectory() as tmp, \
            contextlib.ExitStack() as stack:
        root = Path(tmp)
        database_url = None
        if args.database == "postgres":
            from tests.postgres_server import ThrowawayPostgres

            database_url = stack.enter_context(ThrowawayPostgres()).new_database()
        _seed(database_url or root / "store.db", kind)
        for r in range(args.rounds):
            for n in counts if r % 2 == 0 else counts[::-1]:
                results[n].append(_measure(root, model_url, args, kind, database_url, n, f"r{r}-x{n}"))
    what = "" if args.turn == "text" else f" ({args.turn} turns)"
    print(f"{args.conversations} conversations x {args.turns} turns{what}, model latency {args.latency} s, "
          f"{'PostgreSQL' if database_url else 'SQLite'}; {args.rounds} rounds; arrivals: {args.arrivals}"
          f"{'; each replica on a core of its own' if args.own_cores else ''}")
    checks = []
    medians = {}
    for n in counts:
        median = medians[n] = _table(f"{n} replica{'s' if n > 1 else ''}", results[n])
        checks += [
            (f"{n} replica(s): throughput {median['throughput']:.1f} turns/s against an ideal of "
             f"{median['ideal']:.1f}: efficiency {median['efficiency']:.2f}x (target >= 0.90x)",
             median["efficiency"] >= 0.9),
            (f"{n} replica(s): latency added by the service p99 {median['added_p99_ms']:.0f} ms (target <= 50 ms)",
             median["added_p99_ms"] <= 50),
            (f"{n} replica(s): CPU per {'text-only turn' if args.turn == 'text' else 'turn with a store lookup'} "
             f"{median['cpu_ms_per_turn']:.1f} ms (target <= {CPU_TARGETS_MS[args.turn]:.0f} ms)",
             median["cpu_ms_per_turn"] <= CPU_TARGETS_MS[args.turn]),
        ]
    if args.replica_cpu:
        for n in counts:
            held = statistics.median(r["throttled_s"] for r in results[n])
            checks.append((f"{n} replica(s) CPU-bound at {args.replica_cpu} core each: held back by their budget "
                           f"for {held:.1f} s of the median round", held > 0))
    if 1 in medians and 2 in medians:
        scale = medians[2]["throughput"] / medians[1]["throughput"]
        where = (f"each replica on a budget of {args.replica_cpu} core" if args.replica_cpu else
                 f"this machine has {os.cpu_count()} cores for the replicas, the fake model, the database and this "
                 f"client")
        checks.append((f"2 replicas / 1 replica throughput: {scale:.2f}x (target >= 1.8x when one replica is "
                       f"CPU-bound; {where})", scale >= 1.8))
    return report(checks)


_KEYS = ("alone_s", "throughput", "ideal", "efficiency", "added_p50_ms", "added_p99_ms", "cpu_ms_per_turn",
         "peak_rss_mb", "machine_busy_pct", "others_cpu_ms_per_turn", "queued_pct", "pool_wait_ms")


def _measure(root: Path, model_url: str, args: argparse.Namespace, kind: TurnKind, database_url: str | None,
             replicas: int, tag: str) -> dict[str, float]:
    """One round on ``replicas`` fresh service processes (started, warmed up, measured, stopped)."""
    services = [_start_service(root, model_url, args.code, kind, database_url, i if args.own_cores else None)
                for i in range(replicas)]
    urls, pids = [url for _, url in services], [proc.pid for proc, _ in services]
    budgets: list[CpuBudget] = []
    try:
        if args.replica_cpu:  # each replica held to its own share of a core, once started
            for pid in pids:
                budgets.append(CpuBudget(f"deskgraph-bench-{pid}", args.replica_cpu))
                budgets[-1].add(pid)
        asyncio.run(_warm_up(urls, args.turns, kind, tag))
        throttled = sum(b.throttled_seconds() for b in budgets)
        headers = metrics_headers(database_url, kind, tag) if database_url else None
        result = asyncio.run(_round(urls, pids, args.conversations, args.turns, tag, kind, args.arrivals, headers))
        return result | {"throttled_s": sum(b.throttled_seconds() for b in budgets) - throttled}
    finally:
        for proc, _ in services:
            proc.terminate()
        for proc, _ in services:
            proc.wait(20)
        for budget in budgets:
            budget.remove()


def _table(title: str, rounds: list[dict[str, float]]) -> dict[str, float]:
    """Print the rounds, their median and spread; the median."""
    keys = [k for k in _KEYS if k in rounds[0]]
    print(f"\n{title}")
    print("round | " + " | ".join(f"{k:>15}" for k in keys))
    for i, r in enumerate(rounds, 1):
        print(f"{i:>5} | " + " | ".join(f"{r[k]:>15.3f}" for k in keys))
    median = {k: statistics.median(r[k] for r in rounds) for k in keys}
    spread = {k: max(r[k] for r in rounds) - min(r[k] for r in rounds) for k in keys}
    print("median | " + " | ".join(f"{median[k]:>14.3f}" for k in keys))
    print("spread | " + " | ".join(f"{spread[k]:>14.3f}" for k in keys))
    return median


if __name__ == "__main__":
    raise SystemExit(main())
