"""A task flow hands back only what it changed: the stage change of a customer's first turn is reported once, not
again by every later flow run (the runtime reports the last entry of any stage_history update)."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.runtime import StageChanged, SupportRuntime
from agent.settings import Settings
from agent.testing import PerfectUnderstandingModel
from tools import RetailStore
from tools.generator import generate_dataset

pytestmark = pytest.mark.fast

HELLO = "Hi, Lucas Smith, zip 43221."
STATUS = "What is the status of order #W4744902?"
READINGS = {HELLO: {"first_name": "Lucas", "last_name": "Smith", "zip": "43221"},
            STATUS: {"tasks": ["order_info"], "order_ids": ["#W4744902"]}}


@pytest.fixture
def settings(tmp_path):
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(generate_dataset(40, seed=0))
    store.close()
    return Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "checkpoints.db",
                    today=dt.date(2026, 11, 26), dialogue="flows", _env_file=None)


async def test_the_stage_change_is_reported_once(settings):
    async with SupportRuntime.open(settings, model=PerfectUnderstandingModel(READINGS)) as rt:
        first = [e async for e in rt.send("t1", HELLO)]
        later = [e async for e in rt.send("t1", STATUS)] + [e async for e in rt.send("t1", STATUS)]
    assert [(e.source, e.target) for e in first if isinstance(e, StageChanged)] == [("intake", "order_desk")]
    assert not [e for e in later if isinstance(e, StageChanged)]
    assert sum("#W4744902" in getattr(e, "text", "") for e in later) == 2  # both questions were answered
