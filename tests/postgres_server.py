"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries, a cluster in a temporary directory,
trust authentication on 127.0.0.1 and a free port; stopped and deleted afterwards. No Docker.

The server refuses to run as root, so as root the cluster is made and run as the ``postgres`` user (its
directory handed to that user). ``scripts/test.sh`` installs Debian's ``postgresql`` package when it is missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found and shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    if not found:
        raise PostgresUnavailableError("PostgreSQL's server binaries are missing: apt-get install postgresql "
                                       "(scripts/test.sh does this)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """``with ThrowawayPostgres() as pg: pg.url`` (the ``postgres`` database; ``new_database()`` for more)."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="deskgraph-pg-"))
        self.data = self.root / "data"
        self._as_root = os.geteuid() == 0
        self.user = "postgres" if self._as_root else os.environ.get("USER", "postgres")

    @property
    def _options(self) -> str:
        # fsync off: a test cluster is thrown away, durability buys nothing and costs every commit.
        return f"-p {self.port} -k {self.root} -h 127.0.0.1 -c fsync=off -c max_connections=300"

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd="/")

    def start(self) -> ThrowawayPostgres:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--locale=C")
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options, "-l", str(self.root / "log"), "-w", "start")
        return self

    def pause(self) -> None:
        """Stop the server as a crash would (its clients' connections break); ``resume`` starts it again."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def freeze(self) -> None:
        """Stop the server's processes where they stand (SIGSTOP), as a frozen machine or a cut network would: its
        connections stay open and nothing answers on them or refuses; ``thaw`` lets them go on."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, number: int) -> None:
        for pid in self._processes():
            with contextlib.suppress(ProcessLookupError):  # a backend that ended since it was listed
                os.kill(pid, number)

    def _processes(self) -> list[int]:
        """The postmaster and its children (Linux /proc); none while the server is stopped."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        postmaster = int(pid_file.read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [*children, postmaster]

    def resume(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options, "-l", str(self.root / "log"), "-w", "start")

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url_of(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
