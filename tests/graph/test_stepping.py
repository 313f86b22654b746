"""Developer stepping over the flows dialogue: a breakpoint inside a task-flow subgraph, the state of both graph
levels at the pause, an edit that changes what happens next, JSON output, and the commands' exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import _register, app
from agent.cli.stepping import stepping_session
from agent.runtime import ConfirmationRequested, StepPaused, SupportRuntime
from agent.runtime.stepping import UnknownNodeError, breakable_nodes, check_breakpoints, edit_state, levels
from agent.settings import Settings, get_settings
from agent.testing import PerfectUnderstandingModel
from tools import RetailStore
from tools.generator import generate_dataset

# Lucas Smith of the generated store: #W4744902 (with the dumbbells) is pending.
CANCEL = "Lucas Smith 43221: please cancel my order with the dumbbells, I ordered it by mistake."
READINGS = {CANCEL: {"tasks": ["cancel"], "first_name": "Lucas", "last_name": "Smith", "zip": "43221",
                     "items": [{"item": "dumbbells"}], "reason": "ordered by mistake"}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    store = RetailStore.open(tmp_path / "store.db")
    store.load_json(generate_dataset())
    store.close()
    return Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "checkpoints.db",
                    ui_db=tmp_path / "chainlit.db", dialogue="flows", _env_file=None)


def _open(settings: Settings):
    return SupportRuntime.open(settings, model=PerfectUnderstandingModel(READINGS))


async def test_a_breakpoint_inside_a_flow_shows_both_levels_and_an_edit_takes_effect(settings):
    async with _open(settings) as rt:
        assert "cancel:confirm" in breakable_nodes(rt.graph) and "plan" in breakable_nodes(rt.graph)
        events = [e async for e in rt.send("t", CANCEL, breakpoints=("cancel:confirm",))]
        assert events[-1].next_nodes == ("cancel:confirm",) and isinstance(events[-1], StepPaused)
        assert not any(isinstance(e, ConfirmationRequested) for e in events)  # stopped before it was asked

        parent, flow = levels(await rt.graph.aget_state(rt.config("t"), subgraphs=True))
        assert (parent.graph, parent.next_nodes) == ("support", ("cancel",))
        assert parent.values["customer_id"] == "lucas_smith_3214" and not parent.values.get("pending_confirmation")
        assert (flow.graph, flow.next_nodes) == ("cancel", ("confirm",)) and flow.namespace.startswith("cancel:")
        pending = flow.values["pending_confirmation"]
        assert pending["arguments"] == {"order_id": "#W4744902", "reason": "ordered by mistake"}

        # The edit goes to the flow (the graph whose next node reads it), and the confirmation asks for it.
        changed = {**pending, "arguments": {**pending["arguments"], "reason": "no longer needed"}}
        edited = await edit_state(rt.graph, "t", f"pending_confirmation={json.dumps(changed)}")
        assert edited.graph == "cancel" and edited.next_nodes == ("confirm",)
        events = [e async for e in rt.step("t", one_node=False, breakpoints=("cancel:confirm",))]
        asked = [e for e in events if isinstance(e, ConfirmationRequested)]
        assert [a.arguments for a in asked] == [{"order_id": "#W4744902", "reason": "no longer needed"}]
        [e async for e in rt.answer_confirmation("t", True)]
        order = rt.store.order_record("#W4744902")
        assert (order["status"], order["cancel_reason"]) == ("cancelled", "no longer needed")


async def test_a_parent_breakpoint_and_an_edit_of_the_parent_state(settings):
    async with _open(settings) as rt:
        events = [e async for e in rt.send("t", CANCEL, breakpoints=("cancel",))]
        assert events[-1] == StepPaused(node="plan", next_nodes=("cancel",), state_keys=events[-1].state_keys)
        [only] = levels(await rt.graph.aget_state(rt.config("t"), subgraphs=True))
        assert only.values["tasks"][0]["task"] == "cancel"
        # Drop the queued task: routed again from the plan, no flow starts and nothing is asked.
        edited = await edit_state(rt.graph, "t", "support:tasks=[]")
        assert edited.graph == "support" and edited.values["tasks"] == [] and "cancel" not in edited.next_nodes
        events = [e async for e in rt.step("t", one_node=False, breakpoints=("cancel",))]
        assert not any(isinstance(e, ConfirmationRequested | StepPaused) for e in events)
        assert not (await rt.view("t")).pending_confirmation


async def test_unknown_breakpoints_and_bad_edits_are_refused(settings):
    async with _open(settings) as rt:
        with pytest.raises(UnknownNodeError, match="'cancel:nope'"):
            check_breakpoints(rt.graph, ["plan", "cancel:nope"])
        [e async for e in rt.send("t", CANCEL, breakpoints=("cancel:confirm",))]
        with pytest.raises(ValueError, match="unknown state field"):
            await edit_state(rt.graph, "t", "no_such_field=1")
        with pytest.raises(ValueError, match="not part-way through"):
            await edit_state(rt.graph, "t", "exchange:stage=intake")


async def test_a_json_session_for_scripts(settings, capsys):
    # While paused every line is a command; once the turn is over a line is a message again, so "/quit".
    lines = iter([CANCEL, "state", 'edit awaiting="nothing"', "continue", "/quit", "never read"])

    async def read(prompt: str) -> str | None:
        return next(lines, None)

    code = await stepping_session(lambda: _open(settings), "t", breaks=["cancel:confirm"], as_json=True,
                                  read_line=read)
    assert code == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [o["kind"] for o in out]
    assert kinds[-3:] == ["edited", "confirmation_requested", "turn_over"] and "step_paused" in kinds
    paused = next(o for o in out if o["kind"] == "paused")
    assert paused["before"] == ["cancel:confirm"] and [g["graph"] for g in paused["graphs"]] == ["support", "cancel"]
    state = next(o for o in out if o["kind"] == "state")
    assert state["graphs"][1]["state"]["pending_confirmation"]["tool"] == "cancel_pending_order"
    assert any("Lucas" in line for line in state["graphs"][0]["state"]["messages"])
    assert out[-3]["graph"] == "cancel" and out[-1]["waiting_for_confirmation"] is True


@pytest.fixture
def cli(settings, monkeypatch):
    for name in ("store_db", "checkpoint_db", "ui_db"):
        monkeypatch.setenv(f"DESKGRAPH_{name.upper()}", str(getattr(settings, name)))
    # An external server that is never asked: the commands below fail before any model request.
    monkeypatch.setenv("DESKGRAPH_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DESKGRAPH_DIALOGUE", "flows")
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


def test_unknown_nodes_and_threads_exit_2_with_one_line(cli: Any):
    result = cli.invoke(app, ["chat", "--thread", "t", "--say", "hi", "--break", "plan,cancel:nope"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "error: unknown node 'cancel:nope' (see `deskgraph graph`; subgraph nodes as cancel:confirm)"]
    result = cli.invoke(app, ["threads", "step", "no-such-thread", "--json"])
    assert result.exit_code == 2 and result.output.strip() == "error: no thread 'no-such-thread'"
