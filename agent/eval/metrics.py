"""Figures over runs: pass^k (τ-bench's estimator), latency percentiles, token usage, per-mode summaries."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from math import comb
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from agent.eval.records import FAILURE_PRECEDENCE, RunRecord


class UsageCounter(BaseCallbackHandler):
    """Counts model calls and tokens of one run (attached to that run's chat model)."""

    # Counters are plain ints updated from the event loop: no executor hop needed.
    run_inline = True

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        """One model request."""
        self.calls += 1

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Token usage from the message's ``usage_metadata``, else the provider's ``llm_output``."""
        found = False
        for generations in response.generations:
            for gen in generations:
                usage = getattr(getattr(gen, "message", None), "usage_metadata", None)
                if usage:
                    found = True
                    self.prompt_tokens += int(usage.get("input_tokens", 0))
                    self.completion_tokens += int(usage.get("output_tokens", 0))
        if not found and response.llm_output:
            usage = response.llm_output.get("token_usage") or {}
            self.prompt_tokens += int(usage.get("prompt_tokens", 0))
            self.completion_tokens += int(usage.get("completion_tokens", 0))


def pass_hat_k(outcomes: dict[str, Sequence[bool]], k: int) -> float | None:
    """τ-bench's pass^k: per scenario C(c, k) / C(n, k) for c passes in n runs, averaged over scenarios.

    The chance that k runs drawn (without replacement) from a scenario's n all pass. Scenarios with fewer
    than k runs are left out; None when none has k.
    """
    values = [comb(sum(runs), k) / comb(len(runs), k) for runs in outcomes.values() if len(runs) >= k]
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def summarize(records: Sequence[RunRecord], repeat: int) -> dict[str, Any]:
    """The summary of one mode's runs: pass rate, pass^1..K, writes, cost, latency, failures, categories."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        outcomes[r.id].append(r.passed)
    runs = len(records)
    passed = sum(r.passed for r in records)
    turn_lat = [x for r in records for x in r.turn_latencies]
    first_lat = [x for r in records for x in r.first_token_latencies]
    categories: dict[str, dict[str, Any]] = {}
    for cat in sorted({r.category for r in records}):
        mine = [r for r in records if r.category == cat]
        categories[cat] = {"runs": len(mine), "passed": sum(r.passed for r in mine),
                           "pass_rate": _ratio(sum(r.passed for r in mine), len(mine)),
                           "customer_caused": sum(r.customer_caused is not None for r in mine)}
    failures = Counter(r.failure for r in records if r.failure)
    return {
        "scenarios": len(outcomes),
        "runs": runs,
        "passed": passed,
        "pass_rate": _ratio(passed, runs),
        "pass_hat_k": {str(k): pass_hat_k(outcomes, k) for k in range(1, max(repeat, 1) + 1)},
        "write_precision": _ratio(sum(r.writes_matched for r in records), sum(len(r.writes) for r in records)),
        "write_recall": _ratio(sum(r.writes_matched for r in records), sum(len(r.expected_writes) for r in records)),
        "turns_mean": _mean(r.turns for r in records),
        "model_calls": sum(r.model_calls for r in records),
        "model_calls_mean": _mean(r.model_calls for r in records),
        "prompt_tokens": sum(r.prompt_tokens for r in records),
        "completion_tokens": sum(r.completion_tokens for r in records),
        "turn_latency_p50": percentile(turn_lat, 50),
        "turn_latency_p95": percentile(turn_lat, 95),
        "first_token_latency_p50": percentile(first_lat, 50),
        "first_token_latency_p95": percentile(first_lat, 95),
        "escalation_rate": _ratio(sum(r.escalated for r in records), runs),
        "failures": {bucket: failures.get(bucket, 0) for bucket in FAILURE_PRECEDENCE},
        "customer_caused": sum(r.customer_caused is not None for r in records),
        "categories": categories,
    }
