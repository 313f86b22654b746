"""`deskgraph eval` through Typer's CliRunner: a tiny scenario folder, a scripted agent, both dialogue modes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agent.cli import _register, app
from agent.eval.scenario import Scenario
from agent.testing import ScriptedChatModel, tool_call

_register()

# Lucas Smith's pending order in the default demo store (`deskgraph data seed`).
SCENARIO = """\
id: cancel-charger
category: cancel
description: You are Lucas Smith; cancel your pending order with the portable charger.
customer: {user_id: lucas_smith_3214, knows: {email: lucas.smith7750@example.com}}
opening: {say: "Hello, this is lucas.smith7750@example.com. Please cancel order #W4744902.",
          understanding: {tasks: [cancel], email: lucas.smith7750@example.com, order_ids: ["#W4744902"]}}
follow_ups:
  - {when: "reason", say: "I no longer need it.", understanding: {reason: no longer needed}}
confirmations: approve
expected_writes:
  - {tool: cancel_pending_order, args: {order_id: "#W4744902", reason: no longer needed}}
required_facts: [cancelled]
max_turns: 5
smoke: true
"""


def scripted_factory(scenario: Scenario, mode: str) -> ScriptedChatModel:
    """The test hook named by DESKGRAPH_EVAL_MODEL_FACTORY: a model that solves the scenario in either mode
    (flows: it reads the two customer messages; agent: it calls the cancel tool and words the answer)."""
    if mode == "flows":
        return ScriptedChatModel(['{"tasks": ["cancel"]}', '{"reason": "no longer needed"}'])
    return ScriptedChatModel([tool_call("cancel_pending_order", order_id="#W4744902", reason="no longer needed"),
                              "Your order #W4744902 is cancelled."])


def _scripted_suite(tmp_path, monkeypatch):
    """A one-scenario folder and an output folder, the agent scripted by ``scripted_factory``."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "cancel.yaml").write_text(SCENARIO, encoding="utf-8")
    monkeypatch.setenv("DESKGRAPH_EVAL_MODEL_FACTORY", f"{__name__}:scripted_factory")
    return folder, tmp_path / "out"


def test_eval_writes_the_report_files_with_modes_side_by_side(tmp_path, monkeypatch):
    folder, out = _scripted_suite(tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["eval", str(folder), "--dialogue", "both", "--repeat", "2",
                                      "--concurrency", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "pass rate" in result.output and "100% (2/2)" in result.output
    for name in ("report.md", "results.json", "pass_rate.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    assert {"model", "summary", "scenarios", "modes"} <= results.keys() and list(results["modes"]) == ["flows", "agent"]
    assert results["summary"]["scenarios"] == 1 and results["summary"]["pass_rate"] == 1.0
    assert results["summary"]["pass_hat_k"] == {"1": 1.0, "2": 1.0}
    run = results["scenarios"][0]
    assert {"id", "category", "passed", "failure", "turns", "writes", "transcript"} <= run.keys()
    assert (out / run["transcript_file"]).is_file()
    report = (out / "report.md").read_text()
    assert "|  | flows | agent |" in report and "transcripts/agent/cancel-charger.r2.md" in report


def test_check_validates_against_the_demo_store(tmp_path):
    path = tmp_path / "cancel" / "cancel-charger.yaml"
    path.parent.mkdir()
    path.write_text(SCENARIO, encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--check"])
    assert result.exit_code == 0 and "1 scenarios checked, 0 problem(s)" in result.output, result.output
    path.write_text(SCENARIO.replace("#W4744902", "#W1194268"), encoding="utf-8")  # delivered: cannot be cancelled
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--check"])
    assert result.exit_code == 1 and "fails on the demo store" in result.output


def test_check_lists_every_problem_of_every_file(tmp_path):
    """One bad file does not hide another, and each file's problems are listed under its name."""
    (tmp_path / "cancel").mkdir()
    unannotated = SCENARIO.replace(', understanding: {reason: no longer needed}', '')
    (tmp_path / "cancel" / "misnamed.yaml").write_text(unannotated, encoding="utf-8")
    (tmp_path / "cancel" / "broken.yaml").write_text(SCENARIO.replace("max_turns: 5", "max_turn: 5"),
                                                     encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--check"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    misnamed = lines.index(f"{tmp_path / 'cancel' / 'misnamed.yaml'}:")
    assert lines[misnamed + 1:misnamed + 3] == [
        "  - id 'cancel-charger' is not the file name 'misnamed'",
        "  - follow_ups[0] (when 'reason') has no `understanding`: 'I no longer need it.'"]
    assert f"{tmp_path / 'cancel' / 'broken.yaml'}:" in lines and "max_turn" in result.output
    assert "2 scenarios checked, 3 problem(s) in 2 place(s)" in result.output


def test_bad_mode_and_missing_path_are_refused(tmp_path):
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such file or folder" in result.output
    (tmp_path / "ok.yaml").write_text(SCENARIO, encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--dialogue", "free"])
    assert result.exit_code == 2 and "unknown dialogue mode" in result.output


def test_each_mode_can_have_its_own_repeats(tmp_path, monkeypatch):
    """The baseline dialogue once, the one under test three times: pass^3 for flows, '–' for the agent."""
    folder, out = _scripted_suite(tmp_path, monkeypatch)
    result = CliRunner().invoke(app, ["eval", str(folder), "--dialogue", "both", "--repeat", "3",
                                      "--repeat-for", "agent=1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert (results["modes"]["flows"]["repeat"], results["modes"]["agent"]["repeat"], results["repeat"]) == (3, 1, 3)
    assert len(results["modes"]["flows"]["scenarios"]) == 3 and len(results["modes"]["agent"]["scenarios"]) == 1
    assert results["modes"]["agent"]["summary"]["pass_hat_k"] == {"1": 1.0}
    report = (out / "report.md").read_text()
    assert "flows 3, agent 1 repeat(s)" in report and "| pass^3 | 100% | – |" in report
    bad = CliRunner().invoke(app, ["eval", str(folder), "--repeat-for", "agent=0", "--out", str(out)])
    assert bad.exit_code == 2 and "--repeat-for takes MODE=K" in bad.output
