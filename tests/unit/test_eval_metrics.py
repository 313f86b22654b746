"""Figures of the evaluation: τ-bench's pass^k against hand-computed values, percentiles, summaries."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from agent.eval.metrics import UsageCounter, pass_hat_k, percentile, summarize
from agent.eval.records import RunRecord, WriteCall


def test_pass_hat_k_matches_hand_computed_values():
    outcomes = {"a": [True, True, True, True], "b": [True, True, False, False], "c": [False] * 4}
    # a: C(4,k)/C(4,k) = 1; b: C(2,1)/C(4,1) = 1/2, C(2,2)/C(4,2) = 1/6, then 0; c: 0.
    assert pass_hat_k(outcomes, 1) == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert pass_hat_k(outcomes, 2) == pytest.approx((1 + 1 / 6 + 0) / 3)
    assert pass_hat_k(outcomes, 3) == pytest.approx(1 / 3)
    assert pass_hat_k(outcomes, 4) == pytest.approx(1 / 3)
    assert pass_hat_k({"x": [True, False, True]}, 2) == pytest.approx(1 / 3)  # C(2,2)/C(3,2)
    assert pass_hat_k({"x": [True]}, 2) is None  # fewer runs than k


def test_percentile_interpolates_like_numpy():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert percentile(list(range(1, 21)), 95) == pytest.approx(19.05)


def _record(sid: str, passed: bool, failure=None, **kw) -> RunRecord:
    return RunRecord(id=sid, category=kw.pop("category", "cancel"), mode="agent", repeat=kw.pop("repeat", 1),
                     passed=passed, failure=failure, **kw)


def test_summary_counts_writes_latency_and_buckets():
    cancel = WriteCall(tool="cancel_pending_order", args={"order_id": "#W1", "reason": "no longer needed"})
    records = [
        _record("a", True, writes=[cancel], expected_writes=[cancel], writes_matched=1, turn_latencies=[1.0, 3.0],
                model_calls=2, prompt_tokens=100, completion_tokens=10),
        _record("a", False, "wrong_write", repeat=2, writes=[cancel, cancel], expected_writes=[cancel],
                writes_matched=1, turn_latencies=[2.0], escalated=True),
        _record("b", False, "missing_write", category="return", expected_writes=[cancel],
                customer_caused="ended the chat while the agent asked: 'Which order?'"),
    ]
    s = summarize(records, repeat=2)
    assert (s["scenarios"], s["runs"], s["passed"]) == (2, 3, 1)
    assert s["pass_rate"] == pytest.approx(1 / 3)
    assert s["pass_hat_k"] == {"1": pytest.approx(0.25), "2": 0.0}  # a: 1/2 and 0; b has one run only
    assert s["write_precision"] == pytest.approx(2 / 3) and s["write_recall"] == pytest.approx(2 / 3)
    assert s["turn_latency_p50"] == 2.0 and s["escalation_rate"] == pytest.approx(1 / 3)
    assert s["failures"]["wrong_write"] == 1 and s["failures"]["missing_write"] == 1 and s["failures"]["error"] == 0
    assert s["categories"]["cancel"] == {"runs": 2, "passed": 1, "pass_rate": 0.5, "customer_caused": 0}
    assert s["categories"]["return"]["customer_caused"] == 1 and s["customer_caused"] == 1
    assert (s["model_calls"], s["prompt_tokens"], s["completion_tokens"]) == (2, 100, 10)


def test_usage_counter_reads_usage_metadata_or_llm_output():
    counter = UsageCounter()
    counter.on_chat_model_start({}, [[]])
    message = AIMessage("hi", usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})
    counter.on_llm_end(LLMResult(generations=[[ChatGeneration(message=message)]]))
    counter.on_llm_end(LLMResult(generations=[[ChatGeneration(message=AIMessage("x"))]],
                                 llm_output={"token_usage": {"prompt_tokens": 5, "completion_tokens": 2}}))
    assert (counter.calls, counter.prompt_tokens, counter.completion_tokens) == (1, 17, 5)
