"""vLLM's OpenAI-compatible server on the CPU, serving the embedded model converted to Hugging Face format.

The production path (vLLM, Qwen, the hermes tool parser, prefix caching) run on this machine: vLLM lives in
its own virtual environment (``settings.vllm_venv``, made by ``scripts/setup_vllm.sh``), never in the
product's, so it is started as a subprocess of that environment's Python.

* :func:`convert_model` pulls the GGUF if needed and writes the Hugging Face folder beside it, once.
* :func:`vllm_command` / :func:`vllm_env` are the exact command line and environment (docs quote them).
* ``with vllm_server(settings) as base_url:`` starts it, waits for ``/health`` and stops it on exit;
  :class:`VllmProcess` is the same server as an object that can be restarted on its port.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agent.llm.model_files import PullError, read_sidecar
from agent.llm.server import _LIVE, ModelServerError, _Tail, _terminate, free_port, wait_healthy

__all__ = ["VllmProcess", "convert_model", "hf_model_dir", "served_names", "start_vllm", "vllm_command",
           "vllm_env", "vllm_python", "vllm_server"]

#: What each converted model really is (the second served name, so logs and `GET /v1/models` say so).
TRUE_NAMES = {"0.5b": "qwen2.5-coder-0.5b-instruct", "1.5b": "qwen2.5-coder-1.5b-instruct"}
_CONVERTER = Path(__file__).with_name("hf_convert.py")
_SETUP_HINT = "run scripts/setup_vllm.sh in the checkout (it makes .venv-vllm with vLLM's CPU build)"


def vllm_python(settings: Any) -> Path:
    """The Python of the vLLM environment; a one-line error naming the set-up script when it is missing."""
    python = Path(settings.vllm_venv).expanduser() / "bin" / "python"
    if not python.is_file():
        raise ModelServerError(f"vLLM is not installed at {settings.vllm_venv}: {_SETUP_HINT}.")
    return python


def hf_model_dir(gguf: Path) -> Path:
    """Where the Hugging Face folder of ``gguf`` lives: beside it, named after it."""
    return gguf.with_name(gguf.stem + "-hf")


def _converted(gguf: Path, folder: Path) -> bool:
    # The folder belongs to this exact GGUF: its verified sha256 (sidecar) was recorded at conversion.
    marker = folder / "deskgraph-source.json"
    if not (folder / "config.json").is_file() or not marker.is_file():
        return False
    recorded = json.loads(marker.read_text()).get("sha256")
    current = (read_sidecar(gguf) or {}).get("sha256")
    return recorded is None or current is None or recorded == current


def convert_model(settings: Any, *, size: str | None = None, echo: Callable[[str], None] = print,
                  force: bool = False) -> Path:
    """The Hugging Face folder of the ``size`` model (default ``settings.vllm_model``), converted once."""
    from agent.llm.pull import pull_model

    size = size or settings.vllm_model
    try:
        gguf = pull_model(settings, size=size, echo=echo)
    except PullError as exc:
        raise ModelServerError(str(exc)) from None
    folder = hf_model_dir(gguf)
    if _converted(gguf, folder) and not force:
        return folder
    python = vllm_python(settings)
    echo(f"Converting {gguf.name} to Hugging Face format in {folder} (once; about a minute for 0.5B)")
    started = time.monotonic()
    # stderr stays the terminal's: transformers' de-quantization bar is the progress bar.
    done = subprocess.run([str(python), str(_CONVERTER), str(gguf), str(folder)], stdin=subprocess.DEVNULL,
                          check=False)
    if done.returncode != 0 or not (folder / "config.json").is_file():
        raise ModelServerError(f"Converting {gguf} failed (exit {done.returncode}); see the output above.")
    marker = folder / "deskgraph-source.json"
    record = json.loads(marker.read_text())
    record["sha256"] = (read_sidecar(gguf) or {}).get("sha256")
    marker.write_text(json.dumps(record, indent=1))
    echo(f"Converted in {time.monotonic() - started:.0f} s: {folder}")
    return folder


def served_names(settings: Any, size: str) -> list[str]:
    """The name the product requests from an external server first (so ``DESKGRAPH_LLM_BASE_URL`` alone is
    enough), then what the model really is."""
    from agent.settings import DEFAULT_EXTERNAL_MODEL

    first = settings.llm_model or DEFAULT_EXTERNAL_MODEL
    return list(dict.fromkeys([first, TRUE_NAMES[size]]))


def vllm_command(settings: Any, model_dir: Path, *, host: str, port: int, names: list[str]) -> list[str]:
    """vLLM's OpenAI server with the production flags: hermes tool parser, auto tool choice, prefix cache."""
    return [
        str(vllm_python(settings)), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model_dir),
        "--served-model-name", *names,
        "--host", host, "--port", str(port),
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
        "--enable-prefix-caching",
        # usage.prompt_tokens_details.cached_tokens in every answer: the prefix cache's hits, per request.
        "--enable-prompt-tokens-details",
        "--max-model-len", str(settings.vllm_max_model_len),
        "--dtype", settings.vllm_dtype,
        # Compact JSON under response_format and in constrained tool calls: the understanding reading is about
        # half the tokens without the indentation a small model otherwise writes.
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
        # One conversation at a time on 2 cores; a small batch keeps the engine's warm-up short.
        "--max-num-seqs", "4",
        "--disable-uvicorn-access-log",
    ]


def vllm_env(settings: Any) -> dict[str, str]:
    """The environment of the vLLM process: CPU threads and KV-cache size, offline (no hub on this machine)."""
    threads = max(1, int(settings.vllm_threads))
    return {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": str(settings.vllm_kv_cache_gib),
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "OMP_NUM_THREADS": str(threads),
        "VLLM_TARGET_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }


def _die_with_parent() -> None:
    # Linux: SIGTERM vLLM when the process that started it dies, even by SIGKILL (no finally runs then); a
    # leftover server would hold gigabytes of RAM and a core of this small machine. Its engine core follows it.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class VllmProcess:
    """One vLLM server on a fixed port that can be stopped and started again (tests restart it mid-conversation)."""

    def __init__(self, settings: Any, model_dir: Path, *, host: str, port: int, names: list[str],
                 echo_logs: bool = False) -> None:
        self.settings, self.model_dir, self.host, self.port, self.names = settings, model_dir, host, port, names
        self.echo_logs = echo_logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.tail: _Tail | None = None

    @property
    def url(self) -> str:
        """The OpenAI-compatible root clients use."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout: float = 900.0) -> str:
        """Start vLLM and wait until ``/health`` answers; returns :attr:`url`."""
        command = vllm_command(self.settings, self.model_dir, host=self.host, port=self.port, names=self.names)
        # Its own process group: the API server forks an engine core process, and both must stop together.
        self.proc = subprocess.Popen(command, env=vllm_env(self.settings), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        _LIVE.add(self.proc)
        self.tail = _Tail(self.proc.stdout, keep=80, echo=sys.stderr if self.echo_logs else None)  # type: ignore[arg-type]
        proc = self.proc
        try:
            wait_healthy(f"http://{self.host}:{self.port}", timeout=timeout, alive=lambda: proc.poll() is None)
        except ModelServerError as exc:
            log = self.tail.text(30)
            self.stop()
            raise ModelServerError(f"vLLM did not start ({exc}). Its log:\n{log}") from None
        except BaseException:  # Ctrl-C or SIGTERM while it loads: never leave it running
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """SIGTERM the whole process group (API server and engine core), SIGKILL after a grace period."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        _terminate(proc, grace=30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def restart(self, timeout: float = 900.0) -> str:
        """Stop, then start again on the same port."""
        self.stop()
        return self.start(timeout)


def start_vllm(settings: Any, *, size: str | None = None, port: int | None = None, host: str = "127.0.0.1",
               echo_logs: bool = False, echo: Callable[[str], None] = print,
               startup_timeout: float = 900.0) -> VllmProcess:
    """Convert the model if needed and start vLLM on it; the caller stops it."""
    size = size or settings.vllm_model
    model_dir = convert_model(settings, size=size, echo=echo)
    server = VllmProcess(settings, model_dir, host=host, port=port or free_port(host),
                         names=served_names(settings, size), echo_logs=echo_logs)
    server.start(startup_timeout)
    return server


@contextlib.contextmanager
def vllm_server(settings: Any, *, size: str | None = None, port: int | None = None, host: str = "127.0.0.1",
                startup_timeout: float = 900.0, echo_logs: bool = False,
                echo: Callable[[str], None] = print) -> Iterator[str]:
    """Yield ``http://host:port/v1`` of a ready vLLM server; it is stopped on exit."""
    server = start_vllm(settings, size=size, port=port, host=host, echo_logs=echo_logs, echo=echo,
                        startup_timeout=startup_timeout)
    try:
        yield server.url
    finally:
        server.stop()
