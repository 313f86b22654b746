"""Starting and stopping the product's own processes (`deskgraph serve`, `deskgraph ui`, the CLI) on
throwaway databases: the probe reaches the product only through these, never by importing it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from .fake_model import FakeModel
from .shared import (
    DESKGRAPH,
    SECRET,
)


def free_port() -> int:
    """A port free now; the product is started on it by number because it cannot report one it chose itself."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `deskgraph serve` or `deskgraph ui` process on a free loopback port, logging to <root>/<name>.log."""

    def __init__(self, name, root: Path, env: dict, kind="serve", port=None, host="127.0.0.1"):
        self.name, self.root, self.env, self.kind, self.host = name, root, env, kind, host
        self.port = port or free_port()
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=60.0):
        log = open(self.log_path, "ab")  # noqa: SIM115
        args = [DESKGRAPH, self.kind, "--host", self.host, "--port", str(self.port)]
        # own session: kill -9 must take the whole process group, as a crash of the host would
        self.proc = subprocess.Popen(args, env=self.env, cwd=self.root, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        path = "/health" if self.kind == "serve" else "/"
        why_not = wait_for_http(self.proc, self.url + path, lambda status: status < 500, timeout, 0.2, 1)
        if why_not:
            raise RuntimeError(f"{self.name} {why_not}: {self.log_tail()}")
        return self

    def log_tail(self, n=2000):
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            kill_group(self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop_group(self.proc, 10)

    def restart_if_dead(self):
        """After a check crashed, so the next one does not fail for the wrong reason."""
        if self.proc.poll() is not None:
            self.start()


def wait_for_http(proc, url, ready, timeout, interval, request_timeout) -> str | None:
    """None once `url` answers with a status `ready` accepts; else why not ("exited N" or "did not start")."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return f"exited {proc.returncode}"
        with contextlib.suppress(httpx.HTTPError):
            if ready(httpx.get(url, timeout=request_timeout).status_code):
                return None
        time.sleep(interval)
    return "did not start"


def kill_group(proc):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def stop_group(proc, grace):
    """SIGTERM the process group; SIGKILL it if it is still there after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        kill_group(proc)


def base_env(root: Path, fake: FakeModel, **extra) -> dict:
    """The product's settings for one root. The caller's DESKGRAPH_*/CHAINLIT_* are dropped so a developer's
    .env cannot change what is probed; short timeouts and leases keep fault and kill checks fast."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKGRAPH_", "CHAINLIT_"))}
    env.update({
        "DESKGRAPH_STORE_DB": str(root / "store.db"), "DESKGRAPH_CHECKPOINT_DB": str(root / "checkpoints.db"),
        "DESKGRAPH_UI_DB": str(root / "chainlit.db"), "DESKGRAPH_LLM_BASE_URL": fake.base_url,
        "DESKGRAPH_LLM_MODEL": "fake-qwen", "DESKGRAPH_LLM_API_KEY": "x",
        "DESKGRAPH_CUSTOMER_TOKEN_SECRET": SECRET, "DESKGRAPH_LLM_TIMEOUT": "3", "DESKGRAPH_LLM_MAX_RETRIES": "0",
        "DESKGRAPH_SQLITE_BUSY_TIMEOUT_MS": "400", "DESKGRAPH_TURN_LEASE_SECONDS": "3",
        "DESKGRAPH_TODAY": "2026-11-26", "CHAINLIT_AUTH_SECRET": "probe-chainlit-secret-" + "x" * 40,
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli(env, *args, check_rc=True) -> str:
    """Run `deskgraph <args>` (seeding, operator tokens) and return its stdout."""
    p = subprocess.run([DESKGRAPH, *args], env=env, capture_output=True, text=True, timeout=120)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"deskgraph {' '.join(args)}: {p.returncode} {p.stdout} {p.stderr}")
    return p.stdout


class Ctx:
    """The probe's temp dir, fake model and every server started, so all of them can be stopped at the end."""

    def __init__(self, tmp: Path, fake: FakeModel):
        self.tmp, self.fake = tmp, fake
        self.servers: list[Server] = []
        self.flows_env: dict = {}  # the flows root's environment, for CLI calls made by the token checks

    def make_root(self, name, customers=60) -> tuple[Path, dict, str]:
        """A seeded store under tmp/<name>: its root, environment and a fresh operator token."""
        root = self.tmp / name
        root.mkdir()
        env = base_env(root, self.fake)
        cli(env, "data", "seed", "--customers", str(customers), "--db", str(root / "store.db"))
        out = cli(env, "tokens", "operator", "probe-op")
        op = next(w for w in out.split() if w.startswith("dgo_"))
        return root, env, op

    def server(self, name, root, env, kind="serve", **kw) -> Server:
        s = Server(name, root, env, kind=kind, **kw).start()
        self.servers.append(s)
        return s

    def stop_all(self):
        for s in self.servers:
            s.stop()
