"""`deskgraph threads diff/export`, `tickets close`, `graph` and the exit code of unknown ids, over a scripted
multi-stage conversation with a confirmed write and a hand-over (real graph, real SQLite files).

Diff and export are compared with golden files under tests/graph/golden/; ids that are random in every run (tool
call ids, checkpoint ids) are replaced by numbered placeholders first. After a deliberate change of the output,
rewrite the files with ``DESKGRAPH_UPDATE_GOLDEN=1 pytest tests/graph/test_inspect_cli.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import _register, app
from agent.runtime import SupportRuntime
from agent.settings import Settings, get_settings
from agent.testing import ScriptedChatModel, tool_call
from tests.fixtures_data import small_dataset
from tools import RetailStore

_register()
GOLDEN = Path(__file__).parent / "golden"
EMAIL = "lena.moreau5521@example.com"


def _script() -> ScriptedChatModel:
    return ScriptedChatModel([
        "Welcome Lena! How can I help?",
        tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed"),
        "Your order #W1000001 is cancelled.",
        tool_call("transfer_to_escalation", reason="wants a person"),
        tool_call("transfer_to_human_agents", summary="Lena cancelled #W1000001 and wants a person."),
    ])


async def _converse(settings: Settings) -> dict[str, str]:
    """Identify, ask for a cancellation, confirm it, ask for a person; return the checkpoints the tests diff."""
    model = _script()
    async with SupportRuntime.open(settings, model=model) as rt:
        [e async for e in rt.send("t1", f"hi, {EMAIL} here")]
        first_turn = (await rt.checkpoints("t1"))[0].checkpoint_id
        [e async for e in rt.send("t1", "please cancel #W1000001")]
        asking = (await rt.checkpoints("t1"))[0].checkpoint_id
        [e async for e in rt.answer_confirmation("t1", True)]
        [e async for e in rt.send("t1", "I'd like to talk to a person now")]
        last = (await rt.checkpoints("t1"))[0].checkpoint_id
    model.assert_complete()
    return {"first_turn": first_turn, "asking": asking, "last": last}


@pytest.fixture
def thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_both_engines: str) -> dict[str, str]:
    """A conversation to inspect, on the SQLite files and (a second run) on PostgreSQL."""
    monkeypatch.setenv("DESKGRAPH_STORE_DB", str(tmp_path / "store.db"))
    monkeypatch.setenv("DESKGRAPH_CHECKPOINT_DB", str(tmp_path / "checkpoints.db"))
    monkeypatch.setenv("DESKGRAPH_TODAY", "2026-11-26")
    get_settings.cache_clear()
    settings = Settings(store_db=tmp_path / "store.db", checkpoint_db=tmp_path / "checkpoints.db",
                        today=dt.date(2026, 11, 26), _env_file=None)
    store = RetailStore.open(settings.store_location)
    store.load_json(small_dataset())
    store.close()
    yield asyncio.run(_converse(settings))
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def _stable(text: str, ids: list[str]) -> str:
    """Numbered placeholders for the ids that differ in every run."""
    for n, known in enumerate(ids, 1):
        text = text.replace(known, f"<checkpoint {n}>")
    calls: dict[str, str] = {}
    return re.sub(r"\bcall_[0-9a-f]{8,}\b", lambda m: calls.setdefault(m.group(0), f"<call {len(calls) + 1}>"), text)


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DESKGRAPH_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs (see the module docstring to update it)"


def test_export_markdown_and_json_match_golden_files(thread):
    ids = list(thread.values())
    r = run("threads", "export", "t1")
    assert r.exit_code == 0, r.output
    _golden("export_t1.md", _stable(r.output, ids))
    r = run("threads", "export", "t1", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    kinds = [e["kind"] for e in data["entries"]]
    # The transcript tells the whole story in order: identified, asked, answered yes, written, handed over.
    for earlier, later in [("stage_changed", "confirmation_requested"), ("confirmation_requested", "confirmation_answered"),
                           ("confirmation_answered", "handed_over")]:
        assert kinds.index(earlier) < kinds.index(later)
    answered = next(e for e in data["entries"] if e["kind"] == "confirmation_answered")
    assert answered["text"] == "yes" and answered["ok"] is True
    _golden("export_t1.json", _stable(r.output, ids))


def test_diff_readable_and_json_match_golden_files(thread):
    ids = list(thread.values())
    r = run("threads", "diff", "t1", thread["first_turn"], thread["asking"])
    assert r.exit_code == 0, r.output
    assert "pending confirmation: - -> cancel_pending_order" in r.output
    _golden("diff_t1_asking.txt", _stable(r.output, ids))
    r = run("threads", "diff", "t1", thread["asking"], thread["last"], "--json")
    assert r.exit_code == 0, r.output
    changes = json.loads(r.output)["changes"]
    assert changes["stage"]["after"] == "escalation" and changes["pending_confirmation"]["after"] is None
    _golden("diff_t1_handover.json", _stable(r.output, ids))


def test_tickets_close_with_note(thread):
    r = run("tickets", "close", "1", "--note", "refund confirmed by phone")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("closed ticket #1")
    shown = run("tickets", "show", "1").output
    assert "ticket #1 (closed)" in shown and "(refund confirmed by phone)" in shown
    again = run("tickets", "close", "1", "--note", "other")
    assert again.exit_code == 0 and "already closed" in again.output
    assert "(refund confirmed by phone)" in run("tickets", "show", "1").output
    assert "\tclosed\t" in run("tickets", "list").output
    # Closing releases the thread: the customer is told, and may go on with the assistant.
    shown = run("threads", "show", "t1").output
    assert "agent: Your case (ticket #1) is now closed." in shown and "handed over:" not in shown
    assert "closed by operator" in run("tickets", "show", "1").output


@pytest.mark.parametrize("args", [
    ("threads", "show", "nope"),
    ("threads", "show", "t1", "--checkpoint", "nope"),
    ("threads", "checkpoints", "nope"),
    ("threads", "fork", "nope", "--checkpoint", "x"),
    ("threads", "fork", "t1", "--checkpoint", "nope"),
    ("threads", "diff", "nope", "a", "b"),
    ("threads", "diff", "t1", "nope", "nope"),
    ("threads", "export", "nope"),
    ("tickets", "show", "99"),
    ("tickets", "close", "99"),
])
def test_unknown_ids_exit_2_with_one_line(thread, args):
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and r.output.startswith("error: no "), r.output


def test_graph_mermaid_names_the_flow_subgraph_nodes(monkeypatch):
    monkeypatch.setenv("DESKGRAPH_DIALOGUE", "flows")
    get_settings.cache_clear()
    try:
        r = run("graph")
        assert r.exit_code == 0, r.output
        assert r.output.startswith("---") and "graph TD;" in r.output
        assert "subgraph cancel" in r.output and "cancel\\3aconfirm" in r.output  # LangGraph escapes ':' in ids
        assert "%%   cancel:confirm\n" in r.output and "%%   understand\n" in r.output
        nodes = run("graph", "--nodes").output.split()
        assert {"begin_turn", "plan", "cancel", "cancel:step", "cancel:confirm", "cancel:execute",
                "return:confirm"} <= set(nodes)
        assert not any(n.endswith(("__start__", "__end__")) for n in nodes)
        assert run("graph", "--format", "png").exit_code == 2  # a PNG goes to a file
    finally:
        get_settings.cache_clear()


def test_threads_show_lists_the_ratings(thread, tmp_path):
    from agent.runtime import SupportRuntime
    from agent.runtime.conversation import NoModel

    async def rate() -> str:
        async with SupportRuntime.open(get_settings(), model=NoModel()) as rt:
            reply = next(m for m in (await rt.view("t1")).messages if m.type == "ai" and m.content)
            await rt.rate_message("t1", reply.id, "down", author="customer:x", comment="slow")
            return str(reply.content)

    said = asyncio.run(rate())
    shown = run("threads", "show", "t1").output
    assert "feedback (0 up, 1 down):" in shown and f'-1 customer:x on "{said[:60]}": slow' in shown
    assert json.loads(run("threads", "show", "t1", "--json").output)["feedback"][0]["comment"] == "slow"
