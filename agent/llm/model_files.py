"""The model file on disk: sha256 with a sidecar that remembers a verified file, progress bars, disk-full messages.

Shared by every model source (:mod:`agent.llm.model_sources`) and by the conversion to Hugging Face format.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

_HASH_BLOCK = 8 * 1024 * 1024


class PullError(RuntimeError):
    """The model file could not be obtained; the message is one line meant for the user."""


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def write_sidecar(path: Path, sha256: str, source: str) -> None:
    st = path.stat()
    data = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256, "source": source}
    tmp = _sidecar(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, _sidecar(path))


def read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return None


def _sidecar_matches(path: Path, sha256: str | None) -> bool:
    data = read_sidecar(path)
    if not data:
        return False
    st = path.stat()
    if data.get("size") != st.st_size or data.get("mtime_ns") != st.st_mtime_ns:
        return False
    return sha256 is None or data.get("sha256") == sha256


def _disk_full_message(exc: OSError, where: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"Disk full while writing the model to {where}: free about 2 GB there or set DESKGRAPH_MODEL_CACHE_DIR."
    return f"Could not write the model to {where}: {exc.strerror or exc}."


class _Progress:
    """A tqdm bar, or nothing (tests, non-interactive runs that asked for quiet)."""

    def __init__(self, enabled: bool, total: int | None, desc: str) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _copy_hashing(src: BinaryIO, out: BinaryIO, digest: Any, progress: Callable[[int], None]) -> int:
    n = 0
    while block := src.read(_HASH_BLOCK):
        out.write(block)
        digest.update(block)
        n += len(block)
        progress(len(block))
    return n

