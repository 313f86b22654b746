"""The embedded model server: llama.cpp's own HTTP server through xllamacpp, on loopback.

* ``python -m agent.llm.server --model FILE --port P`` runs it in the foreground (what ``deskgraph model
  serve`` and :func:`model_server` start); SIGINT/SIGTERM end it.
* ``with model_server(settings) as base_url:`` yields the external ``llm_base_url`` when one is configured,
  otherwise pulls the model if needed, starts the server in a subprocess, waits for ``/health`` and yields
  ``http://127.0.0.1:P/v1``; the subprocess is terminated on exit, on exceptions and on SIGTERM.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx

__all__ = ["ModelServerError", "build_params", "free_port", "model_server", "run_server", "wait_healthy"]


class ModelServerError(RuntimeError):
    """The embedded server could not be started; the message says why (with its stderr tail)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def build_params(
    model_path: str | Path,
    *,
    alias: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 2,
    ctx: int = 8192,
    cache_prompt: bool = True,
    cache_reuse: int = 256,
    cache_ram_mib: int = 1024,
    verbosity: int | None = None,
) -> Any:
    """xllamacpp ``CommonParams`` for one slot on loopback, Jinja chat template, prompt cache on."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = str(model_path)
    p.model_alias = {alias}
    p.hostnames = [host]
    p.port = int(port)
    p.n_ctx = int(ctx)
    p.n_parallel = 1  # one conversation slot with the whole context: best prefix-cache hits on 2 cores
    p.use_jinja = True
    p.cpuparams.n_threads = int(threads)
    p.cpuparams_batch.n_threads = int(threads)
    p.ui = False
    p.cache_prompt = bool(cache_prompt)  # server default for requests without "cache_prompt"
    p.n_cache_reuse = int(cache_reuse) if cache_prompt else 0  # reuse shifted KV chunks of a changed prompt
    p.cache_ram_mib = int(cache_ram_mib) if cache_prompt else 0  # host-RAM cache of earlier prompts
    p.endpoint_props = True
    p.endpoint_metrics = True
    if verbosity is not None:
        p.verbosity = int(verbosity)
    return p


def run_server(
    model_path: str | Path,
    *,
    alias: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 2,
    ctx: int = 8192,
    cache_prompt: bool = True,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve in this process until SIGINT/SIGTERM (or the parent process dies)."""
    import xllamacpp

    params = build_params(model_path, alias=alias, host=host, port=port, threads=threads, ctx=ctx,
                          cache_prompt=cache_prompt)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    server = xllamacpp.Server(params)  # noqa: F841 - keeps the native server alive
    base = f"http://{host}:{port}"
    try:
        wait_healthy(base, timeout=600, stop=stop)
        if ready:
            ready(f"{base}/v1")
        parent = os.getppid()
        while not stop.wait(1.0):
            if os.getppid() != parent:  # our parent died without stopping us: do not linger
                break
    finally:
        # The native server has no stop method in this binding: leave without running C++ destructors
        # of a server thread that is still busy (they can hang), after flushing our own output.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def wait_healthy(
    base: str,
    *,
    timeout: float,
    stop: threading.Event | None = None,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll ``GET base/health`` until 200 (503 means still loading)."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=httpx.Timeout(2.0)) as client:
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                raise ModelServerError("stopped while waiting for the server")
            if alive is not None and not alive():
                raise ModelServerError("the server process exited before it was ready")
            try:
                r = client.get(f"{base}/health")
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = exc.__class__.__name__
            time.sleep(0.25)
    raise ModelServerError(f"the server at {base} was not healthy after {timeout:.0f} s (last: {last})")


# --------------------------------------------------------------------------------------------
# subprocess management


class _Tail:
    """Keep the last lines of a stream (the server's stderr) without blocking it."""

    def __init__(self, stream: IO[bytes], keep: int = 40, echo: IO[str] | None = None) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self._echo = echo
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            if self._echo is not None:
                print(line, file=self._echo)

    def text(self, n: int = 15) -> str:
        return "\n".join(list(self.lines)[-n:])


_LIVE: set[subprocess.Popen[bytes]] = set()


def _terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
    _LIVE.discard(proc)


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_LIVE):
        _terminate(proc, grace=3)


def start_server_process(
    model_path: Path,
    *,
    alias: str,
    host: str,
    port: int,
    threads: int,
    ctx: int,
    cache_prompt: bool = True,
    echo_logs: bool = False,
) -> tuple[subprocess.Popen[bytes], _Tail]:
    cmd = [
        # -c rather than -m agent.llm.server: the package __init__ already imports this module (runpy warning)
        sys.executable, "-c", "import sys; from agent.llm.server import main; sys.exit(main(sys.argv[1:]))",
        "--model", str(model_path), "--alias", alias, "--host", host, "--port", str(port),
        "--threads", str(threads), "--ctx", str(ctx),
    ]
    if not cache_prompt:
        cmd.append("--no-cache-prompt")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=False,
    )
    _LIVE.add(proc)
    return proc, _Tail(proc.stderr, echo=sys.stderr if echo_logs else None)  # type: ignore[arg-type]


@contextlib.contextmanager
def model_server(
    settings: Any,
    *,
    startup_timeout: float = 180.0,
    progress: bool = True,
    cache_prompt: bool = True,
    echo_logs: bool = False,
) -> Iterator[str]:
    """Yield the base URL of a ready model server: the configured external one, or an embedded one
    started (after pulling the model if needed) in a subprocess that is stopped on exit."""
    if not settings.uses_embedded_model:
        yield settings.llm_base_url.strip()
        return
    from agent.llm.pull import pull_model

    model_path = pull_model(settings, progress=progress)
    host = settings.embedded_host or "127.0.0.1"
    port = settings.embedded_port or free_port(host)
    from agent.settings import EMBEDDED_MODEL_ALIAS

    proc, tail = start_server_process(
        model_path, alias=EMBEDDED_MODEL_ALIAS, host=host, port=port, threads=settings.embedded_threads,
        ctx=settings.embedded_ctx, cache_prompt=cache_prompt, echo_logs=echo_logs,
    )
    previous: dict[int, Any] = {}

    def _on_term(signum: int, frame: Any) -> None:
        _terminate(proc, grace=5)
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, frame)
        else:
            raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, _on_term)
    try:
        try:
            wait_healthy(f"http://{host}:{port}", timeout=startup_timeout, alive=lambda: proc.poll() is None)
        except ModelServerError as exc:
            time.sleep(0.2)
            raise ModelServerError(
                f"Embedded model server did not start ({exc}); model {model_path}. Server stderr:\n{tail.text()}"
            ) from None
        yield f"http://{host}:{port}/v1"
    finally:
        _terminate(proc)
        if signal.SIGTERM in previous:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, previous[signal.SIGTERM])


# --------------------------------------------------------------------------------------------
# python -m agent.llm.server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the embedded llama.cpp server (xllamacpp) on loopback.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--no-cache-prompt", action="store_true")
    args = parser.parse_args(argv)
    if not Path(args.model).is_file():
        print(f"model file {args.model} does not exist", file=sys.stderr)
        return 2
    run_server(
        args.model, alias=args.alias, host=args.host, port=args.port, threads=args.threads, ctx=args.ctx,
        cache_prompt=not args.no_cache_prompt,
        ready=lambda url: print(f"ready: {url}", file=sys.stderr, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
