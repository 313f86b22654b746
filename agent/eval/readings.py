"""Reading accuracy: the model's reading of each annotated opening message against the scenario's annotation.

A whole-scenario run mixes what the reading got wrong with what the dialogue did with it, and costs a dozen model
calls; this costs one call per message and says which field of the plan the model misreads. Both sides go
through the same merge with code's reads (`merge_with_code`), as in a real turn, so only the model differs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.eval.scenario import Scenario
from graphs.flows.reading_schema import reading_format
from graphs.flows.text import code_facts, tokens
from graphs.flows.understand import merge_with_code, parse_reading, understanding_request
from graphs.understanding import MessageReading, Understanding


def _words(value: Any) -> set[str]:
    return tokens(str(value or ""))


def _same_items(want: list[dict], got: list[dict]) -> bool:
    """Each item annotated is read (sharing a word), with its wanted variant or rank said the same way."""
    if len(want) != len(got) and not (want and len(got) >= len(want)):
        return False
    for w in want:
        match = next((g for g in got if _words(w.get("item")) & _words(g.get("item"))), None)
        if match is None and w.get("item"):
            return False
        match = match or {}
        if bool(w.get("wanted")) != bool(match.get("wanted")) or w.get("rank") != match.get("rank"):
            return False
    return True


def _alternatives(u: Understanding) -> list[tuple[str, str | None]]:
    return [(str(a.condition), str(a.task) if a.task else None) for a in u.alternatives]


#: Plan fields compared, each as (expected, read) -> right. Fields nobody annotates stay out.
COMPARED: dict[str, Callable[[Understanding, Understanding], bool]] = {
    "tasks": lambda w, g: set(map(str, w.tasks)) == set(map(str, g.tasks)),
    "order_ids": lambda w, g: set(w.order_ids) == set(g.order_ids),
    # The order described, by a hint or by its items (annotations use either; the dialogue resolves both).
    "order_hint": lambda w, g: bool(w.order_hint or w.items or w.order_scope) == bool(g.order_hint or g.items
                                                                                       or g.order_scope),
    "order_scope": lambda w, g: w.order_scope == g.order_scope and w.order_status == g.order_status,
    "items": lambda w, g: _same_items([i.model_dump() for i in w.items], [i.model_dump() for i in g.items]),
    "all_items": lambda w, g: w.all_items == g.all_items and len(w.except_items) == len(g.except_items),
    "alternatives": lambda w, g: _alternatives(w) == _alternatives(g),
    "reason": lambda w, g: w.reason == g.reason,
    "payment": lambda w, g: bool(w.payment) == bool(g.payment),
    "address": lambda w, g: (w.address and w.address.address1) == (g.address and g.address.address1),
    "name": lambda w, g: (w.first_name, w.last_name) == (g.first_name, g.last_name),
}


@dataclass
class ReadingResult:
    scenario: str
    text: str
    seconds: float
    wrong: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {"want": ..., "got": ...}
    raw: str = ""


def _shown(u: Understanding, name: str) -> Any:
    if name == "name":
        return [u.first_name, u.last_name]
    if name == "order_scope":
        return [u.order_scope, u.order_status]
    if name == "all_items":
        return [u.all_items, u.except_items]
    value = getattr(u, name)
    return json.loads(json.dumps(value, default=lambda v: v.model_dump() if hasattr(v, "model_dump") else str(v)))


async def read_openings(model: BaseChatModel, scenarios: Sequence[Scenario], *,
                        narrow: bool = True) -> list[ReadingResult]:
    """One reading per scenario opening that has an annotation (no context: an opening has none); ``narrow=False``
    offers the model the whole plan's schema on every message instead of the text's own (to measure the narrowing)."""
    results = []
    for scenario in scenarios:
        message = scenario.opening
        if message.understanding is None:
            continue
        text = message.say
        facts = code_facts(text)
        want = merge_with_code(text, parse_reading(message.understanding.model_dump(mode="json")), facts)
        started = time.monotonic()
        try:
            fmt = reading_format(text) if narrow else MessageReading.response_format()
            reply = await model.bind(response_format=fmt).ainvoke(understanding_request(text, None))
        except Exception as exc:  # noqa: BLE001 - one failed reading is a result, the others still run
            results.append(ReadingResult(scenario.id, text, round(time.monotonic() - started, 2),
                                         {"error": {"want": None, "got": repr(exc)}}))
            continue
        seconds = time.monotonic() - started
        got = merge_with_code(text, parse_reading(reply.content), facts)
        wrong = {name: {"want": _shown(want, name), "got": _shown(got, name)}
                 for name, same in COMPARED.items() if not same(want, got)}
        results.append(ReadingResult(scenario.id, text, round(seconds, 2), wrong, str(reply.content)))
    return results


def summarize(results: Sequence[ReadingResult]) -> dict[str, Any]:
    """Per-field accuracy, the share of messages read right in every field, and latency."""
    n = len(results) or 1
    latencies = sorted(r.seconds for r in results) or [0.0]
    return {
        "messages": len(results),
        "all_right": sum(not r.wrong for r in results) / n,
        "fields": {name: sum(name not in r.wrong for r in results) / n for name in COMPARED},
        "latency_p50": latencies[len(latencies) // 2],
        "latency_p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
    }


def write_readings(out: Path, results: Sequence[ReadingResult]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    (out / "readings.json").write_text(json.dumps({"summary": summary, "messages": [asdict(r) for r in results]},
                                                  indent=1, ensure_ascii=False))
    return summary
