"""A real server process for the multi-process tests: distinct free ports, its log in a file, a wait for health.

The log goes to a file, not a pipe: a pipe nobody reads fills at 64 KB and stalls the server mid-write, and the
file is there to quote when the server does not come up (CI once saw "did not start" with nothing to go on).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120.0  # a loaded CI machine starts two servers at once far slower than the ~4 s seen idle


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free now: all bound at once, so the OS cannot hand out one twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_server(module: str, *args: str, log: Path) -> subprocess.Popen:
    """``python -m module args…`` in its own process group, stdout and stderr into ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                                env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


async def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = STARTUP_SECONDS) -> None:
    """Until ``GET url/health`` is 200; fails with the server's log if it exited or never came up."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"server exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                if (await c.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"server at {url} not healthy after {timeout:.0f} s:\n{log_tail(log)}")
