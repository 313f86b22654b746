"""A serving process settles its heap once started (agent/runtime/heap.py): `deskgraph serve` does, an app made
inside another program (a test run) does not."""

from __future__ import annotations

import gc

import pytest

from agent.api import create_app
from agent.runtime.heap import settle_heap
from agent.testing import ScriptedChatModel
from tests.graph.api_support import run_cli, shop_settings


@pytest.fixture
def restored_gc():
    """Python's collector as it was before the test (frozen objects back in the collected generations)."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_what_lives_and_sets_the_first_threshold(restored_gc):
    gc.unfreeze()
    kept = [object() for _ in range(3)], {"a": [1]}
    settle_heap(12_345)
    assert gc.get_freeze_count() > 0 and gc.get_count()[0] < 100
    assert gc.get_threshold()[0] == 12_345
    assert not any(obj is kept for obj in gc.get_objects())  # frozen: outside the collected generations


def test_zero_keeps_pythons_threshold(restored_gc):
    before = gc.get_threshold()
    settle_heap(0)
    assert gc.get_threshold() == before and gc.get_freeze_count() > 0


async def test_the_app_settles_the_heap_only_as_the_whole_process(tmp_path, monkeypatch, restored_gc):
    import agent.api.app as api_app

    settled: list[tuple[int, bool]] = []
    settings = shop_settings(tmp_path, gc_gen0_threshold=4321)
    for whole_process in (False, True):
        app = create_app(settings, model=ScriptedChatModel(), whole_process=whole_process)
        monkeypatch.setattr(api_app, "settle_heap",
                            lambda threshold, app=app: settled.append((threshold, hasattr(app.state, "runtime"))))
        async with app.router.lifespan_context(app):
            pass
    assert settled == [(4321, True)]  # once, with the runtime already open


def test_serve_runs_the_app_as_the_whole_process(monkeypatch, tmp_path):
    import uvicorn

    import agent.api

    made: list[dict] = []
    monkeypatch.setattr(agent.api, "create_app", lambda settings, **kwargs: made.append(kwargs) or object())
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    result = run_cli(monkeypatch, tmp_path, "serve")
    assert result.exit_code == 0, result.output
    assert made and made[0]["whole_process"] is True
