"""Model tier: one embedded model server for the whole session, shared by every test in this folder."""

from __future__ import annotations

import time

import pytest

from agent.llm import model_server, pull_model
from agent.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = Settings(llm_base_url="", llm_model="", embedded_model="1.5b", llm_timeout=120, llm_max_tokens=256,
                 embedded_ctx=8192)
    started = time.monotonic()
    path = pull_model(s, progress=False, echo=print)
    print(f"model file {path} ready in {time.monotonic() - started:.1f} s")
    return s


@pytest.fixture(scope="session")
def base_url(settings):
    with model_server(settings, progress=False) as url:
        yield url
