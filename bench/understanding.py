"""How well the model (plus code's reads) understands customer messages: per-field accuracy and latency.

Every message of the evaluation scenarios that carries an ``understanding`` annotation is read by the flows
dialogue's ``understand()`` against the configured model server, and compared field by field with the
annotation. The baseline in the same run is code's reads alone (no model), so the model's contribution shows.

    DESKGRAPH_LLM_BASE_URL=http://127.0.0.1:8765/v1 python bench/understanding.py [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from agent.eval.scenario import load_scenarios
from agent.llm import build_chat_model
from agent.settings import Settings
from graphs.flows.text import code_facts
from graphs.flows.understand import merge_with_code, understand
from graphs.understanding import Understanding

FIELDS = ("tasks", "first_name", "last_name", "email", "zip", "order_ids", "order_hint|items", "reason",
          "payment", "address", "answer")


def _messages(root: Path) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for scenario in load_scenarios([root]):
        for utterance in [scenario.opening, *scenario.follow_ups, *scenario.then]:
            if utterance.understanding is not None:
                found.append((utterance.say, dict(utterance.understanding)))
    return found


def _field(u: Understanding, name: str) -> Any:
    if name == "tasks":
        return sorted(t.value for t in u.tasks)
    if name == "order_hint|items":
        return bool(u.order_hint or u.items)
    if name in ("first_name", "last_name", "email", "payment"):
        value = getattr(u, name)
        return (value or "").strip().lower() or None if name != "payment" else bool(value)
    if name == "address":
        return bool(u.address and u.address.address1)
    return getattr(u, name)


def score(expected: Understanding, got: Understanding) -> dict[str, bool]:
    """Field -> right or wrong."""
    return {name: _field(expected, name) == _field(got, name) for name in FIELDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--scenarios", type=Path, default=Path("evals/scenarios"))
    args = parser.parse_args()
    settings = Settings()
    if settings.uses_embedded_model:
        raise SystemExit("set DESKGRAPH_LLM_BASE_URL to a running server (deskgraph model serve --port P)")
    model = build_chat_model(settings)
    messages = _messages(args.scenarios)[: args.limit or None]
    right = {"code": dict.fromkeys(FIELDS, 0), "model": dict.fromkeys(FIELDS, 0)}
    latencies, model_calls, wrong_tasks = [], 0, []
    for text, annotation in messages:
        expected = Understanding.model_validate(annotation)
        code_only = merge_with_code(text, {}, code_facts(text))
        start = time.perf_counter()
        got, asked = understand(model, text, None)
        latencies.append(time.perf_counter() - start)
        model_calls += asked
        for mode, reading in (("code", code_only), ("model", got)):
            for name, ok in score(expected, reading).items():
                right[mode][name] += ok
        if _field(expected, "tasks") != _field(got, "tasks"):
            wrong_tasks.append(f"{text!r}: expected {_field(expected, 'tasks')}, got {_field(got, 'tasks')}")
    n = len(messages)
    print(f"{n} annotated messages, {model_calls} model calls")
    print(f"{'field':18} {'code only':>10} {'model+code':>11}")
    for name in FIELDS:
        print(f"{name:18} {right['code'][name] / n:>10.0%} {right['model'][name] / n:>11.0%}")
    all_code = sum(right["code"].values()) / (n * len(FIELDS))
    all_model = sum(right["model"].values()) / (n * len(FIELDS))
    print(f"{'all fields':18} {all_code:>10.0%} {all_model:>11.0%}   ratio {all_model / max(all_code, 1e-9):.2f}x")
    ordered = sorted(latencies)
    print(f"latency p50 {statistics.median(ordered):.1f} s, p95 {ordered[int(0.95 * (n - 1))]:.1f} s")
    for line in wrong_tasks[:15]:
        print("  tasks:", line)


if __name__ == "__main__":
    main()
