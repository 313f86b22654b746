"""Test tiers by folder: unit and graph tests are `fast`; integration needs the real `model`; `vllm` a real vLLM server;
browser drives Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The scripted conversations of the graph, runtime, API and browser tests were written for the agent loop
# (the model's tool calls are scripted); flows tests choose `flows` explicitly. Set before any Settings() is
# read, and inherited by the servers the tests start.
os.environ.setdefault("DESKGRAPH_DIALOGUE", "agent")

_TIER_BY_FOLDER = {"unit": "fast", "graph": "fast", "integration": "model", "vllm": "vllm", "browser": "browser"}


_TIER_ORDER = {"fast": 0, "model": 1, "vllm": 2, "browser": 3}


def _tier(item: pytest.Item) -> str:
    names = {m.name for m in item.iter_markers()}
    return next((tier for tier in ("browser", "vllm", "model") if tier in names), "fast")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        tier = _TIER_BY_FOLDER.get(folder)
        if tier and not any(m.name in _TIER_ORDER for m in item.iter_markers()):
            item.add_marker(getattr(pytest.mark, tier))
    # Fast tests first, the real models next (llama.cpp, then vLLM), the browser last: Playwright's sync API keeps
    # an event loop running in the main thread while its session fixture lives, which async tests cannot share.
    items.sort(key=lambda item: _TIER_ORDER[_tier(item)])


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the session (tests/postgres_server.py)."""
    from tests.postgres_server import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture
def own_postgres_server():
    """A PostgreSQL server of the test's own, to stop, freeze or thaw (the session's is shared); gone afterwards."""
    from tests.postgres_server import ThrowawayPostgres

    server = ThrowawayPostgres().start()
    try:
        yield server
    finally:
        server.thaw()  # a test that failed while the server was frozen
        server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty PostgreSQL database of the session's server."""
    return postgres_server.new_database()
