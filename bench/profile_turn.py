"""Where the service's CPU goes in a turn: many concurrent conversations on the runtime, under pyinstrument.

The conversation runtime (``agent.runtime.SupportRuntime``, what ``deskgraph serve`` runs behind its HTTP layer)
runs in this process against the fake OpenAI server (``tests.unit.fake_openai``), N conversations at once, M turns
each, on the product's default dialogue (flows). Two kinds of turn (``bench.turn_kinds``): ``text``, an anonymous
visitor's open question (one reading request, one answer request), and ``tool``, a signed-in customer asking about
one of their orders (the order-info flow reads the order from the store).

pyinstrument samples only the thread that started it, and a turn's blocking work runs on the executor of
``graphs.blocking``: each of that executor's threads gets a profiler of its own, and the sessions are combined
with the event loop's, the samples of waiting threads (epoll, an idle worker) left out. The threads of the aiosqlite
connections (SQLite's own work for the checkpoints and the leases) are not profiled: the table of CPU per thread
group says what they cost. Printed: CPU ms per turn of the process and per thread group; written: the profile as
text and HTML. ``--no-profile`` measures the CPU per turn without the profilers' own cost.

``--via api`` sends the messages through the HTTP API's app instead (FastAPI, customer tokens, the event stream;
httpx calls the app in this process, the client's own work is in the profile under ``_conversation``).

    cd <checkout> && PYTHONPATH=. .venv/bin/python bench/profile_turn.py [--turn text|tool] [--via runtime|api]
        [--conversations 64] [--turns 5] [--latency 0.5] [--database sqlite|postgres] [--no-profile]
        [--out var/profile-text]
        # -> var/profile-text.txt, .html and .pyisession (pyinstrument --load var/profile-text.pyisession)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, asynccontextmanager
from functools import reduce
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
from pyinstrument.session import Session

INTERVAL = 0.001  # seconds between samples

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.turn_kinds import TURN_KINDS, TurnKind  # noqa: E402 - after the path is set
from tests.unit.fake_openai import FakeOpenAI  # noqa: E402
from tools import RetailStore  # noqa: E402
from tools.generator import generate_dataset  # noqa: E402

#: Leaf frames of a thread that waits (the loop in epoll, an executor thread for work): not CPU, left out.
_IDLE = ("SimpleQueue.get\x00", "epoll.poll\x00", "lock.acquire\x00")


class ProfiledExecutor(ThreadPoolExecutor):
    """The blocking executor with a pyinstrument profiler in each of its threads (pyinstrument samples only the
    thread that started it)."""

    def __init__(self, max_workers: int) -> None:
        self._local = threading.local()
        super().__init__(max_workers=max_workers, thread_name_prefix="deskgraph-blocking",
                         initializer=self._start)

    def _start(self) -> None:
        self._local.profiler = Profiler(interval=INTERVAL, async_mode="disabled")
        self._local.profiler.start()

    def stop(self) -> list[Session]:
        """Stop every thread's profiler (each thread takes exactly one stop: they wait for each other)."""
        barrier = threading.Barrier(len(self._threads))

        def stop_here() -> Session:
            barrier.wait()
            return self._local.profiler.stop()

        return [f.result() for f in [self.submit(stop_here) for _ in range(len(self._threads))]]


class CollectorTime:
    """CPU time in Python's garbage collector (all threads) from creation to ``stop()``, and its collections by
    generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.runs = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started
            self.runs[info["generation"]] += 1

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)


def _busy(session: Session) -> Session:
    """The session without the samples of waiting threads."""
    session.frame_records = [r for r in session.frame_records if not r[0][-1].startswith(_IDLE)]
    return session


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads so far, by thread group (Linux /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = defaultdict(float)
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = names.get(int(task.name), "other (C threads)")
        # "deskgraph-blocking_12" -> deskgraph-blocking; "Thread-3 (_connection_worker_thread)" -> aiosqlite's
        group = name.partition("(")[2].rstrip(")") or name.rstrip("0123456789_-") or name
        groups[group] += (int(fields[11]) + int(fields[12])) / tick
    return dict(groups)


#: The shop's secret the API's customer tokens are signed with in this benchmark (a benchmark's own).
TOKEN_SECRET = "profile-turn-benchmark-secret-0123456789"

#: One customer message, sent as ``say(thread, conversation index, text)``; the events' text when it ends.
Say = Callable[[str, int, str], Awaitable[str]]


def _settings(root: Path, base_url: str, kind: TurnKind, database_url: str = "") -> Any:
    """The shop in SQLite files under ``root``, or in the PostgreSQL database ``database_url`` names."""
    from agent.settings import Settings

    settings = Settings(store_db=root / "store.db", checkpoint_db=root / "cp.db", database_url=database_url,
                        llm_base_url=base_url, llm_model="fake-qwen", dialogue="flows",
                        api_auth="on" if kind.signed_in else "off", customer_token_secret=TOKEN_SECRET,
                        _env_file=None)
    with RetailStore.open(settings.store_location) as store:
        store.load_json(generate_dataset(customers=50, seed=1))
        kind.prepare(store)
    return settings


@asynccontextmanager
async def _runtime_sayer(settings: Any, kind: TurnKind) -> AsyncIterator[Say]:
    """Messages straight to the runtime (``SupportRuntime.begin_message``)."""
    from agent.runtime import SupportRuntime
    from agent.runtime.heap import settle_heap

    async with SupportRuntime.open(settings) as runtime:
        settle_heap(settings.gc_gen0_threshold)  # as `deskgraph serve` does once started

        async def say(thread: str, index: int, text: str) -> str:
            turn = await runtime.begin_message(thread, text, customer_id=kind.customer(index))
            return "\n".join([repr(event) async for event in turn])

        yield say


@asynccontextmanager
async def _api_sayer(settings: Any, kind: TurnKind) -> AsyncIterator[Say]:
    """Messages through the HTTP API's app (``agent.api.create_app``) in this process: the runtime plus FastAPI,
    the customer token's check and the event stream (no sockets: httpx calls the app directly)."""
    import httpx

    from agent.api import create_app
    from agent.auth.customer import mint_customer_token

    app = create_app(settings, whole_process=True)  # its heap settled, as `deskgraph serve` runs it
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=120) as client:
        async def say(thread: str, index: int, text: str) -> str:
            customer = kind.customer(index)
            headers = {"Authorization": f"Bearer {mint_customer_token(customer, TOKEN_SECRET)}"} if customer else {}
            answer = await client.post(f"/threads/{thread}/messages", json={"text": text}, headers=headers)
            return answer.text if answer.status_code == 200 else f"HTTP {answer.status_code}: {answer.text}"

        yield say


async def _conversation(say: Say, kind: TurnKind, index: int, thread: str, turns: int) -> None:
    for _ in range(turns):
        events = await say(thread, index, kind.question(index))
        if "reply" not in events.lower() or not kind.answered(index, events):
            raise RuntimeError(f"turn of {thread} failed: {events[-300:]}")


def _leaves(session: Session) -> list[tuple[str, float]]:
    """Sampled time by the function on top of the stack (``function file:line``), largest first."""
    totals: dict[str, float] = defaultdict(float)
    for stack, seconds in session.frame_records:
        function, path, line = [*stack[-1].split("\x01")[0].split("\x00"), "", ""][:3]
        totals[f"{function}  {path.rpartition('site-packages/')[2]}:{line}"] += seconds
    return sorted(totals.items(), key=lambda kv: -kv[1])


async def _run(args: argparse.Namespace, kind: TurnKind, base_url: str, root: Path, database_url: str) -> None:
    import graphs.blocking

    executor = ProfiledExecutor(graphs.blocking.THREADS) if args.profile else None
    if executor is not None:
        graphs.blocking._executor = executor
    settings = _settings(root, base_url, kind, database_url)
    sayer = _api_sayer if args.via == "api" else _runtime_sayer
    async with sayer(settings, kind) as say:
        await _conversation(say, kind, 0, "warm-up", args.turns)
        profiler = Profiler(interval=INTERVAL, async_mode="disabled")
        collector = CollectorTime()
        cpu, process = _thread_cpu(), time.process_time()
        if args.profile:
            profiler.start()
        start = time.perf_counter()
        await asyncio.gather(*[_conversation(say, kind, i, f"c{i}", args.turns)
                               for i in range(args.conversations)])
        wall = time.perf_counter() - start
        process = time.process_time() - process
        collector.stop()
        after = _thread_cpu()
        sessions = [profiler.stop(), *executor.stop()] if executor is not None else []
    turns = args.conversations * args.turns
    print(f"{args.conversations} conversations x {args.turns} {args.turn} turns via the {args.via}, model latency "
          f"{args.latency} s: "
          f"{turns / wall:.1f} turns/s")
    print(f"CPU per turn of the process{' (profilers included)' if args.profile else ''}: "
          f"{process / turns * 1000:.1f} ms; by thread:")
    for group, seconds in sorted(after.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<36} {(seconds - cpu.get(group, 0.0)) / turns * 1000:8.2f} ms")
    print(f"of which Python's garbage collector: {collector.seconds / turns * 1000:.2f} ms per turn, "
          f"{sum(collector.runs)} collections (by generation: {collector.runs})")
    if sessions:
        session = _busy(reduce(Session.combine, sessions))
        out = Path(args.out or f"var/profile-{args.turn}")
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{out}.txt").write_text(ConsoleRenderer(unicode=True, show_all=False, short_mode=False).render(session))
        Path(f"{out}.html").write_text(HTMLRenderer().render(session))
        session.save(f"{out}.pyisession")  # for `pyinstrument --load <file>` and other renderers
        print("most time of its own (leaf of the sampled stack):")
        for name, seconds in _leaves(session)[:15]:
            print(f"  {seconds / turns * 1000:8.2f} ms  {name}")
        print(f"profile (the loop and the blocking executor's threads, waits left out): {out}.txt, .html, .pyisession")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turn", choices=sorted(TURN_KINDS), default="text")
    parser.add_argument("--via", choices=("runtime", "api"), default="runtime",
                        help="runtime: SupportRuntime directly; api: the HTTP API's app in this process")
    parser.add_argument("--conversations", type=int, default=64)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the fake model takes per request")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                        help="--no-profile: only the CPU per turn, without the profilers' own cost")
    parser.add_argument("--out", default=None, help="profile path without suffix (default var/profile-<turn>)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                        help="postgres: everything in a throwaway PostgreSQL server (Debian's binaries, as in the tests)")
    args = parser.parse_args()
    kind = TURN_KINDS[args.turn]
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        fake.handler = kind.model(args.latency)
        database_url = ""
        if args.database == "postgres":
            from tests.postgres_server import ThrowawayPostgres

            database_url = stack.enter_context(ThrowawayPostgres()).new_database()
        # The loop `deskgraph serve` runs on (uvicorn picks uvloop when it is installed), so the profile is its.
        with asyncio.Runner(loop_factory=_service_loop_factory()) as runner:
            runner.run(_run(args, kind, fake.base_url, Path(tmp), database_url))
    return 0


def _service_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    raise SystemExit(main())
