"""Throughput of one `deskgraph serve` process under many concurrent conversations, with the model's time fixed.

A fake OpenAI-compatible server answers every request after a fixed latency (the flows' reading request under
`response_format` too, so the product's default dialogue is what is measured). The turns are an anonymous visitor's
open question (`--turn text`, the default) or a signed-in customer's question about one of their orders, which the
dialogue looks up in the store (`--turn tool`; customer tokens on the API): see bench/turn_kinds.py. Each round measures, in the same
run, one conversation alone (its turn latency L: the model's part plus the service's own) and then N conversations
at once, M turns each. Ideal throughput is N / L: every conversation as fast as when it was alone. Printed per
round and as the median of the rounds with their spread: throughput, efficiency against the ideal, the latency the
load adds to a turn (p50 / p99 of the turn's latency minus L) and the service's CPU per turn (its process's user +
system time over the concurrent phase, per turn). SQLite, one replica: PostgreSQL and replicas are not built yet.

    .venv/bin/python bench/service_load.py [--turn text|tool] [--conversations 64] [--turns 5] [--latency 0.5]
        [--rounds 3] [--code <another checkout>]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.auth.customer import mint_customer_token  # noqa: E402 - after the path is set
from bench.checks import report  # noqa: E402
from bench.turn_kinds import TURN_KINDS, TurnKind  # noqa: E402
from tests.unit.fake_openai import FakeOpenAI  # noqa: E402
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_service(root: Path, model_url: str, code: Path | None, kind: TurnKind) -> tuple[subprocess.Popen, str]:
    store = RetailStore.open(root / "store.db")
    store.load_json(generate_dataset(customers=50, seed=1))
    store.close()
    kind.prepare(root / "store.db")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGRAPH_")}
    env.update({"DESKGRAPH_STORE_DB": str(root / "store.db"), "DESKGRAPH_CHECKPOINT_DB": str(root / "cp.db"),
                "DESKGRAPH_LLM_BASE_URL": model_url, "DESKGRAPH_LLM_MODEL": "fake-qwen",
                "DESKGRAPH_API_AUTH": "off", "DESKGRAPH_LOG_LEVEL": "warning", "NO_PROXY": "127.0.0.1"})
    if kind.signed_in:  # customers call with their tokens
        env.update({"DESKGRAPH_API_AUTH": "on", "DESKGRAPH_CUSTOMER_TOKEN_SECRET": TOKEN_SECRET})
    if code is not None:  # another checkout's packages come first on the path
        env["PYTHONPATH"] = str(code.resolve())
    proc = subprocess.Popen([str(Path(sys.executable).parent / "deskgraph"), "serve", "--port", str(port)],
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


async def _conversation(client: httpx.AsyncClient, thread: str, turns: int, kind: TurnKind,
                        index: int) -> list[float]:
    """Each turn's latency: from sending the message to the end of its event stream."""
    customer = kind.customer(index)
    headers = {"Authorization": f"Bearer {mint_customer_token(customer, TOKEN_SECRET)}"} if customer else {}
    latencies = []
    for _ in range(turns):
        start = time.perf_counter()
        async with client.stream("POST", f"/threads/{thread}/messages", json={"text": kind.question(index)},
                                 headers=headers) as answer:
            body = "".join([chunk async for chunk in answer.aiter_text()])
        if answer.status_code != 200 or "event: reply" not in body or not kind.answered(index, body):
            raise RuntimeError(f"turn of {thread} failed: {answer.status_code} {body[-300:]}")
        latencies.append(time.perf_counter() - start)
    return latencies


async def _warm_up(url: str, turns: int, kind: TurnKind) -> None:
    """One conversation first: the service's first requests load prompts and open connections."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await _conversation(client, "warm-up", turns, kind, 0)


async def _round(url: str, pid: int, n: int, turns: int, tag: str, kind: TurnKind) -> dict[str, float]:
    limits = httpx.Limits(max_connections=n + 4, max_keepalive_connections=n + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        alone = statistics.median(await _conversation(client, f"{tag}-alone", turns, kind, 0))
        cpu = _cpu_seconds(pid)
        start = time.perf_counter()
        runs = await asyncio.gather(*[_conversation(client, f"{tag}-{i}", turns, kind, i) for i in range(n)])
        wall = time.perf_counter() - start
        cpu = _cpu_seconds(pid) - cpu
    latencies = sorted(x for run in runs for x in run)
    added = [x - alone for x in latencies]
    throughput = len(latencies) / wall
    ideal = n / alone
    return {"alone_s": alone, "throughput": throughput, "ideal": ideal, "efficiency": throughput / ideal,
            "added_p50_ms": statistics.median(added) * 1000,
            "added_p99_ms": added[min(len(added) - 1, int(len(added) * 0.99))] * 1000,
            "cpu_ms_per_turn": cpu / len(latencies) * 1000}


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
    args = parser.parse_args()

    kind = TURN_KINDS[args.turn]
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.handler = kind.model(args.latency)
        proc, url = _start_service(Path(tmp), fake.base_url, args.code, kind)
        try:
            asyncio.run(_warm_up(url, args.turns, kind))
            rounds = [asyncio.run(_round(url, proc.pid, args.conversations, args.turns, f"r{r}", kind))
                      for r in range(args.rounds)]
        finally:
            proc.terminate()
            proc.wait(20)
    what = "" if args.turn == "text" else f" ({args.turn} turns)"
    print(f"{args.conversations} conversations x {args.turns} turns{what}, model latency {args.latency} s, one replica, "
          f"SQLite; {args.rounds} rounds")
    keys = ("alone_s", "throughput", "ideal", "efficiency", "added_p50_ms", "added_p99_ms", "cpu_ms_per_turn")
    print("round | " + " | ".join(f"{k:>15}" for k in keys))
    for i, r in enumerate(rounds, 1):
        print(f"{i:>5} | " + " | ".join(f"{r[k]:>15.3f}" for k in keys))
    median = {k: statistics.median(r[k] for r in rounds) for k in keys}
    spread = {k: max(r[k] for r in rounds) - min(r[k] for r in rounds) for k in keys}
    print("median | " + " | ".join(f"{median[k]:>14.3f}" for k in keys))
    print("spread | " + " | ".join(f"{spread[k]:>14.3f}" for k in keys))
    checks = [
        (f"throughput {median['throughput']:.1f} turns/s against an ideal of {median['ideal']:.1f}: efficiency "
         f"{median['efficiency']:.2f}x (target >= 0.90x)", median["efficiency"] >= 0.9),
        (f"latency added by the service p99 {median['added_p99_ms']:.0f} ms (target <= 50 ms)",
         median["added_p99_ms"] <= 50),
        (f"CPU per {'text-only turn' if args.turn == 'text' else 'turn with a store lookup'} "
         f"{median['cpu_ms_per_turn']:.1f} ms (target <= {CPU_TARGETS_MS[args.turn]:.0f} ms)",
         median["cpu_ms_per_turn"] <= CPU_TARGETS_MS[args.turn]),
    ]
    return report(checks)


if __name__ == "__main__":
    raise SystemExit(main())
