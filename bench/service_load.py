"""Throughput of one `deskgraph serve` process under many concurrent conversations, with the model's time fixed.

A fake OpenAI-compatible server answers every request after a fixed latency (the flows' reading request under
`response_format` too, so the product's default dialogue is what is measured). Each round measures, in the same
run, one conversation alone (its turn latency L: the model's part plus the service's own) and then N conversations
at once, M turns each. Ideal throughput is N / L: every conversation as fast as when it was alone. Printed per
round and as the median of the rounds with their spread: throughput, efficiency against the ideal, the latency the
load adds to a turn (p50 / p99 of the turn's latency minus L) and the service's CPU per turn (its process's user +
system time over the concurrent phase, per turn). SQLite, one replica: PostgreSQL and replicas are not built yet.

    .venv/bin/python bench/service_load.py [--conversations 64] [--turns 5] [--latency 0.5] [--rounds 3]
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

from bench.checks import report  # noqa: E402 - after the path is set
from tests.unit.fake_openai import FakeOpenAI, Reply  # noqa: E402
from tools import RetailStore  # noqa: E402
from tools.generator import generate_dataset  # noqa: E402

#: An open question an anonymous visitor asks: one reading request and one answer request per turn.
QUESTION = "Do you ship to Canada, and how long does delivery usually take?"
ANSWER = "We ship within the United States only; delivery usually takes three to five business days."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_service(root: Path, model_url: str, code: Path | None) -> tuple[subprocess.Popen, str]:
    store = RetailStore.open(root / "store.db")
    store.load_json(generate_dataset(customers=50, seed=1))
    store.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKGRAPH_")}
    env.update({"DESKGRAPH_STORE_DB": str(root / "store.db"), "DESKGRAPH_CHECKPOINT_DB": str(root / "cp.db"),
                "DESKGRAPH_LLM_BASE_URL": model_url, "DESKGRAPH_LLM_MODEL": "fake-qwen",
                "DESKGRAPH_API_AUTH": "off", "DESKGRAPH_LOG_LEVEL": "warning", "NO_PROXY": "127.0.0.1"})
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


async def _conversation(client: httpx.AsyncClient, thread: str, turns: int) -> list[float]:
    """Each turn's latency: from sending the message to the end of its event stream."""
    latencies = []
    for _ in range(turns):
        start = time.perf_counter()
        async with client.stream("POST", f"/threads/{thread}/messages", json={"text": QUESTION}) as answer:
            body = "".join([chunk async for chunk in answer.aiter_text()])
        if answer.status_code != 200 or "event: reply" not in body:
            raise RuntimeError(f"turn of {thread} failed: {answer.status_code} {body[-300:]}")
        latencies.append(time.perf_counter() - start)
    return latencies


async def _warm_up(url: str, turns: int) -> None:
    """One conversation first: the service's first requests load prompts and open connections."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await _conversation(client, "warm-up", turns)


async def _round(url: str, pid: int, n: int, turns: int, tag: str) -> dict[str, float]:
    limits = httpx.Limits(max_connections=n + 4, max_keepalive_connections=n + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        alone = statistics.median(await _conversation(client, f"{tag}-alone", turns))
        cpu = _cpu_seconds(pid)
        start = time.perf_counter()
        runs = await asyncio.gather(*[_conversation(client, f"{tag}-{i}", turns) for i in range(n)])
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
    parser.add_argument("--conversations", type=int, default=64)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the fake model takes per request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", type=Path, default=None,
                        help="serve the code of another checkout (e.g. a git worktree of an earlier commit)")
    args = parser.parse_args()

    def answer(request: dict) -> Reply:
        return Reply(content="{}" if request.get("response_format") else ANSWER, delay=args.latency)

    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.handler = answer
        proc, url = _start_service(Path(tmp), fake.base_url, args.code)
        try:
            asyncio.run(_warm_up(url, args.turns))
            rounds = [asyncio.run(_round(url, proc.pid, args.conversations, args.turns, f"r{r}"))
                      for r in range(args.rounds)]
        finally:
            proc.terminate()
            proc.wait(20)
    print(f"{args.conversations} conversations x {args.turns} turns, model latency {args.latency} s, one replica, "
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
        (f"CPU per text-only turn {median['cpu_ms_per_turn']:.1f} ms (target <= 10 ms)",
         median["cpu_ms_per_turn"] <= 10),
    ]
    return report(checks)


if __name__ == "__main__":
    raise SystemExit(main())
