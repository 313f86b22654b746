"""The evaluation harness end to end: scripted agent, real graph, real SQLite files, scored runs and resume."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from agent.eval.runner import EvalError, EvalPlan, run_suite
from agent.eval.scenario import Scenario
from agent.settings import Settings
from agent.testing import ScriptedChatModel, tool_call
from tests.fixtures_data import small_dataset

CANCEL = tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed")


def scenario(**changes: Any) -> Scenario:
    """Lena cancels her pending order #W1000001 (tests/fixtures_data.small_dataset).

    No reason in the opening: with one, the graph proposes the cancellation itself and the script would differ.
    """
    data: dict[str, Any] = {
        "id": "cancel-fan-order", "category": "cancel",
        "customer": {"user_id": "lena_moreau_3307", "knows": {"email": "lena.moreau5521@example.com"}},
        "opening": {"say": "Hi, lena.moreau5521@example.com here. Please cancel #W1000001."},
        "expected_writes": [{"tool": "cancel_pending_order",
                             "args": {"order_id": "#W1000001", "reason": "no longer needed"}}],
        "required_facts": ["cancelled"], "max_turns": 4,
    }
    return Scenario.model_validate({**data, **changes})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(store_db=tmp_path / "unused.db", checkpoint_db=tmp_path / "unused-cp.db",
                    today=dt.date(2026, 11, 26), _env_file=None)


async def run(settings: Settings, out: Path, scenarios: list[Scenario], scripts: dict[str, list[Any]],
              plan: EvalPlan | None = None) -> dict:
    """Run with one strict scripted model per run (script chosen by scenario id), checking each is used up."""
    models: list[ScriptedChatModel] = []

    def factory(s: Scenario, mode: str) -> ScriptedChatModel:
        models.append(ScriptedChatModel(scripts.get(f"{s.id}:{mode}", scripts.get(s.id, []))))
        return models[-1]

    results = await run_suite(scenarios, plan or EvalPlan(), settings, out, model_factory=factory,
                              progress=False, seed=small_dataset())
    for model in models:
        model.assert_complete()
    return results


async def test_a_solved_scenario_passes(settings, tmp_path):
    results = await run(settings, tmp_path / "out", [scenario()], {"cancel-fan-order": [
        CANCEL, "Your order #W1000001 is cancelled."]})
    (record,) = results["agent"]
    assert record.passed and record.failure is None, record.failure_detail
    assert record.turns == 2 and record.identified and record.store_equal and not record.escalated
    assert [(w.tool, w.args) for w in record.writes] == [
        ("cancel_pending_order", {"order_id": "#W1000001", "reason": "no longer needed"})]
    assert record.writes_matched == 1 and record.model_calls == 2
    assert len(record.turn_latencies) == 2 and record.first_token_latencies
    roles = [e["role"] for e in record.transcript]
    assert roles[0] == "customer" and "confirmation" in roles and roles[-1] == "agent"
    assert (tmp_path / "out" / "runs" / "agent" / "cancel-fan-order.r1.json").is_file()


@pytest.mark.parametrize(("script", "bucket"), [
    ([tool_call("cancel_pending_order", order_id="#W1000001", reason="ordered by mistake"),
      "Your order is cancelled."], "wrong_write"),
    (["I'm sorry, but I can't help with that."], "missing_write"),
    ([CANCEL, "Done, anything else?"], "wrong_or_missing_fact"),
    ([CANCEL, "Cancelled. I also see omar.haddad@example.com on file."], "forbidden"),
])
async def test_failures_land_in_one_bucket(settings, tmp_path, script, bucket):
    (record,) = (await run(settings, tmp_path / "out", [scenario()], {"cancel-fan-order": script}))["agent"]
    assert not record.passed and record.failure == bucket, record.failure_detail


async def test_not_identified_and_turn_limit(settings, tmp_path):
    anonymous = scenario(id="anonymous", opening={"say": "Please cancel my fan order."})
    chatty = scenario(id="chatty", max_turns=1, then=[{"say": "And what about my other order?"}])
    results = await run(settings, tmp_path / "out", [anonymous, chatty], {
        "anonymous": ["Sure, what is your email address?"],
        "chatty": ["Of course, one moment."]})
    assert [(r.id, r.failure) for r in results["agent"]] == [("anonymous", "not_identified"),
                                                               ("chatty", "turn_limit")]


async def test_declined_confirmation_and_forbidden_escalation(settings, tmp_path):
    declined = scenario(confirmations="decline", expected_writes=[], required_facts=["nothing was modified"],
                        forbidden={"escalation": True}, expected_stages=["intake", "order_desk"])
    (record,) = (await run(settings, tmp_path / "out", [declined], {"cancel-fan-order": [
        CANCEL]}))["agent"]  # a "no" is answered by code, not by the model
    assert record.passed, record.failure_detail
    assert record.writes == [] and record.stages == ["intake", "order_desk"]


async def test_out_is_resumable_and_modes_and_repeats_are_separate_runs(settings, tmp_path):
    out = tmp_path / "out"
    plan = EvalPlan(modes=("flows", "agent"), repeat=2, concurrency=3)
    solved = [CANCEL, "Your order #W1000001 is cancelled."]
    # The flows dialogue reads the messages (the opening gives no reason; the customer's answer does).
    read = ['{"tasks": ["cancel"]}', '{"reason": "no longer needed"}']
    no_reason = scenario(follow_ups=[{"when": "reason", "say": "I no longer need it."}])
    first = await run(settings, out, [no_reason], {"cancel-fan-order:agent": solved,
                                                   "cancel-fan-order:flows": read}, plan)
    assert {m: [(r.repeat, r.passed) for r in rs] for m, rs in first.items()} == {
        "flows": [(1, True), (2, True)], "agent": [(1, True), (2, True)]}
    # Finished runs are read back, not re-run: a factory that fails would show it.
    (out / "runs" / "agent" / "cancel-fan-order.r2.json").unlink()
    calls: list[str] = []

    def factory(s: Scenario, mode: str) -> ScriptedChatModel:
        calls.append(mode)
        return ScriptedChatModel(solved)

    again = await run_suite([no_reason], plan, settings, out, model_factory=factory, progress=False,
                            seed=small_dataset())
    assert calls == ["agent"]
    assert [r.model_dump() for r in again["flows"]] == [r.model_dump() for r in first["flows"]]


async def test_perfect_understanding_without_the_double_fails_clearly(settings, tmp_path, monkeypatch):
    import agent.testing

    monkeypatch.delattr(agent.testing, "perfect_understanding_model", raising=False)
    with pytest.raises(EvalError, match="perfect_understanding_model"):
        await run_suite([scenario()], EvalPlan(perfect_understanding=True), settings, tmp_path / "out",
                        progress=False, seed=small_dataset())


def annotated(**changes: Any) -> Scenario:
    """The cancellation with every message annotated, as --perfect-understanding needs."""
    return scenario(**{
        "opening": {"say": "Hi, lena.moreau5521@example.com here. Please cancel #W1000001.",
                    "understanding": {"tasks": ["cancel"], "email": "lena.moreau5521@example.com",
                                      "order_ids": ["#W1000001"]}},
        "follow_ups": [{"when": "reason", "say": "I no longer need it.",
                        "understanding": {"reason": "no longer needed"}}],
        **changes})


async def test_perfect_understanding_passes_an_annotated_scenario(settings, tmp_path):
    plan = EvalPlan(modes=("flows",), perfect_understanding=True)
    (record,) = (await run_suite([annotated()], plan, settings, tmp_path / "out", progress=False,
                                 seed=small_dataset()))["flows"]
    assert record.passed, record.failure_detail


async def test_perfect_understanding_refuses_a_message_without_annotation(settings, tmp_path):
    """Counted as an error before anything runs, naming the message: not read as saying nothing."""
    bare = annotated(follow_ups=[{"when": "reason", "say": "I no longer need it."}])
    plan = EvalPlan(modes=("flows",), perfect_understanding=True)
    (record,) = (await run(settings, tmp_path / "out", [bare], {}, plan))["flows"]  # the empty script stays unused
    assert not record.passed and record.failure == "error" and record.turns == 0
    assert record.failure_detail == ("--perfect-understanding needs an `understanding` on every customer message: "
                                     "follow_ups[0] (when 'reason') has no `understanding`: 'I no longer need it.'")


async def test_perfect_understanding_fails_a_run_that_met_an_unannotated_message(settings, tmp_path):
    """A message the double had no reading for (here: left out of its table) makes the run an error."""
    from agent.testing import perfect_understanding_model

    def factory(s: Scenario, mode: str) -> Any:
        return perfect_understanding_model({s.opening.say: s.opening.understanding.model_dump(mode="json")})

    plan = EvalPlan(modes=("flows",), perfect_understanding=True)
    (record,) = (await run_suite([annotated()], plan, settings, tmp_path / "out", model_factory=factory,
                                 progress=False, seed=small_dataset()))["flows"]
    assert not record.passed and record.failure == "error", record.failure_detail
    assert record.failure_detail.endswith("none for 'I no longer need it.'")
    assert record.transcript  # the conversation is kept to read


async def test_perfect_understanding_and_a_simulated_customer_do_not_mix(settings, tmp_path):
    plan = EvalPlan(perfect_understanding=True, customer_model="http://127.0.0.1:9/v1")
    with pytest.raises(EvalError, match="one or the other"):
        await run_suite([annotated()], plan, settings, tmp_path / "out", progress=False, seed=small_dataset())


async def test_a_simulated_customer_that_walks_away_is_reported_apart(settings, tmp_path):
    """The customer model ends the chat at the agent's question (and again when told it is waiting), with no
    fact to answer it from: the run fails, marked customer-caused, and the report counts it per category."""
    from agent.eval.customer import STOP_TOKEN, SimulatedCustomer
    from agent.eval.report import build_results, render_report

    walks_away = scenario(id="walks-away", opening={"say": "Please cancel my fan order."},
                          customer={"user_id": "lena_moreau_3307", "knows": {}})
    customers: list[ScriptedChatModel] = []

    def simulated(s: Scenario) -> SimulatedCustomer:
        # Asked, it stops twice (told the second time the agent waits); done, it stops once.
        customers.append(ScriptedChatModel([STOP_TOKEN, STOP_TOKEN] if s.id == "walks-away" else [STOP_TOKEN]))
        return SimulatedCustomer(s, customers[-1])

    results = await run_suite([walks_away, scenario()], EvalPlan(), settings, tmp_path / "out",
                              model_factory=lambda s, mode: ScriptedChatModel(
                                  ["Sure, which order do you mean?"] if s.id == "walks-away" else
                                  [CANCEL, "Your order #W1000001 is cancelled."]),
                              customer_factory=simulated, progress=False, seed=small_dataset())
    walked, solved = results["agent"]
    assert not walked.passed and walked.ended_by == "customer"
    assert walked.customer_caused == "ended the chat while the agent asked: 'Sure, which order do you mean?'"
    assert solved.passed and solved.customer_caused is None
    for model in customers:
        model.assert_complete()
    report = render_report(build_results("scripted", results, 1), results)
    assert "| category | agent | customer-caused (agent) |" in report and "| cancel | 1/2 (50%) | 1 |" in report
    assert "| failures caused by the simulated customer | 1 |" in report and "❌ not_identified (customer)" in report
