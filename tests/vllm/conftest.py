"""vllm tier: one real vLLM server (CPU build, from .venv-vllm) for the whole session, shared by every test here.

Set up by scripts/setup_vllm.sh (scripts/test.sh runs it): the venv, then the 0.5B model converted to Hugging Face
format. The server is the production command line (hermes tool parser, auto tool choice, prefix caching), so
what these tests see is what a deployment sees, on a smaller model.
"""

from __future__ import annotations

import time

import pytest

from agent.llm.vllm_server import VllmProcess, start_vllm
from agent.settings import Settings

#: The name the product requests from an external server by default, and what vLLM serves first.
SERVED = "Qwen/Qwen2.5-7B-Instruct"


@pytest.fixture(scope="session")
def vllm_settings() -> Settings:
    # One engine thread: the machine has 2 cores and the embedded model tier or an evaluation may share them.
    return Settings(llm_base_url="", llm_model="", vllm_model="0.5b", vllm_threads=1, vllm_max_model_len=8192,
                    vllm_kv_cache_gib=2, llm_timeout=180, llm_max_tokens=256)


@pytest.fixture(scope="session")
def vllm(vllm_settings) -> VllmProcess:
    started = time.monotonic()
    server = start_vllm(vllm_settings)
    print(f"vLLM ready at {server.url} in {time.monotonic() - started:.0f} s")
    yield server
    server.stop()


@pytest.fixture
def vllm_url(vllm) -> str:
    """The server's URL, started again if a test (the restart test) left it stopped."""
    if vllm.proc is None or vllm.proc.poll() is not None:
        vllm.start()
    return vllm.url
