"""A CPU budget for one process: a Linux cgroup whose CPU quota is a fraction of one core.

``bench/service_load.py --replica-cpu F`` puts each replica in a budget of its own, as if each ran on a machine
(or a container) of F cores. Two replicas then need 2 x F cores, and on a machine with fewer cores than
replicas + database + model server + client, that is the only way to see whether replicas scale: with every
replica CPU-bound at its own budget, the throughput of two is twice that of one unless something they share
(the database, the leases) holds them back.

Needs root and a writable cgroup file system: cgroup v2 with the ``cpu`` controller (``cpu.max``), else the v1
``cpu`` hierarchy (``cpu.cfs_quota_us``). Anything else is refused with the reason, never silently ignored.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_V2 = Path("/sys/fs/cgroup")
_V1 = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000


def _hierarchy() -> tuple[Path, str]:
    """Where budgets are made, and which cgroup version that is."""
    controllers = _V2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return _V2, "v2"
    if (_V1 / "cpu.cfs_quota_us").exists():
        return _V1, "v1"
    raise RuntimeError("no writable cgroup CPU controller (cgroup v2 with cpu, or v1's cpu hierarchy): "
                       "--replica-cpu needs one, and root")


class CpuBudget:
    """A cgroup limiting its processes to ``cores`` of CPU time (e.g. 0.35: 35 ms in every 100 ms)."""

    def __init__(self, name: str, cores: float) -> None:
        if not 0 < cores <= (os.cpu_count() or 1):
            raise ValueError(f"a CPU budget of {cores} cores on a machine of {os.cpu_count()}")
        root, self.version = _hierarchy()
        self.path = root / name
        self.path.mkdir()
        quota = int(cores * PERIOD_US)
        try:
            if self.version == "v2":
                (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError:
            self.remove()
            raise

    def add(self, pid: int) -> None:
        """Move the process (all its threads) into the budget."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_seconds(self) -> float:
        """How long the budget's processes were held back for want of quota so far (the budget was binding)."""
        stats = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line.strip())
        if self.version == "v2":
            return int(stats.get("throttled_usec", 0)) / 1e6
        return int(stats.get("throttled_time", 0)) / 1e9

    def remove(self) -> None:
        """Delete the cgroup (once its processes have exited; retried briefly while the kernel lets them go)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # busy: a process in it is still exiting
                time.sleep(0.1)
