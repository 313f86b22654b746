"""The benchmarks' model server: the fake OpenAI-compatible server (``tests.unit.fake_openai``) answering one kind
of turn (``bench.turn_kinds``) after a fixed latency, in a process of its own or in the caller's.

In a process of its own, as a model server is. In the caller's (a load client), its request threads and the
client share one interpreter lock, and the client's clock reads their work as time the service under test added.
Either way it collects no garbage while it serves: a full collection of a process the size of a load client
stopped every request thread for 40-80 ms, turns whose model answer came late by that much.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection

from bench.turn_kinds import TurnKind
from tests.unit.fake_openai import FakeOpenAI

STARTUP_SECONDS = 30


@contextlib.contextmanager
def fake_model_server(kind: TurnKind, latency: float, *, own_process: bool = True) -> Iterator[str]:
    """The server's base URL (``http://127.0.0.1:<port>/v1``) while the block runs."""
    if not own_process:
        with FakeOpenAI() as fake:
            fake.handler = kind.model(latency)
            yield fake.base_url
        return
    parent_end, child_end = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_serve, args=(kind, latency, child_end), daemon=True)
    child.start()
    try:
        if not parent_end.poll(STARTUP_SECONDS):
            raise RuntimeError(f"the fake model server did not start within {STARTUP_SECONDS} s")
        yield parent_end.recv()
    finally:
        child.terminate()
        child.join(10)


def _serve(kind: TurnKind, latency: float, ready: Connection) -> None:
    """In the child: serve until terminated, after sending the base URL."""
    gc.disable()
    with FakeOpenAI() as fake:
        fake.handler = kind.model(latency)
        ready.send(fake.base_url)
        threading.Event().wait()
