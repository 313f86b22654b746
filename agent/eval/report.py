"""The outputs of an evaluation in ``--out``: ``results.json``, ``report.md``, one transcript file per run, and
``pass_rate.png`` (see ``plot``). With several dialogue modes every table has one column per mode.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.eval.metrics import summarize
from agent.eval.records import FAILURE_PRECEDENCE, RunRecord


def transcript_path(record: RunRecord) -> str:
    """The run's transcript file, relative to ``--out`` (report links point here)."""
    return f"transcripts/{record.mode}/{record.id}.r{record.repeat}.md"


def machine() -> str:
    """A short description of the machine, for the report header."""
    import os

    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def build_results(model: str, runs: Mapping[str, Sequence[RunRecord]], repeat: int) -> dict[str, Any]:
    """The ``results.json`` document: per mode ``{repeat, summary, scenarios}``, the first mode's also at the top
    level (``repeat`` there is the most runs per scenario of any mode)."""
    modes = {}
    for mode, records in runs.items():
        scenarios = [{**r.model_dump(mode="json"), "transcript_file": transcript_path(r)} for r in records]
        mode_repeat = max((r.repeat for r in records), default=repeat)
        modes[mode] = {"repeat": mode_repeat, "summary": summarize(records, mode_repeat), "scenarios": scenarios}
    repeat = max((m["repeat"] for m in modes.values()), default=repeat)
    first = next(iter(modes.values()), {"summary": summarize([], repeat), "scenarios": []})
    return {"model": model, "date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
            "repeat": repeat, "modes": modes, "summary": first["summary"], "scenarios": first["scenarios"]}


def write_outputs(out: Path, model: str, runs: Mapping[str, Sequence[RunRecord]], repeat: int) -> dict[str, Any]:
    """Write every output file into ``out``; returns the results document."""
    from agent.eval.plot import plot_pass_rate

    out.mkdir(parents=True, exist_ok=True)
    results = build_results(model, runs, repeat)
    (out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for records in runs.values():
        for record in records:
            path = out / transcript_path(record)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_transcript(record), encoding="utf-8")
    (out / "report.md").write_text(render_report(results, runs), encoding="utf-8")
    plot_pass_rate(out / "pass_rate.png", results, runs)
    return results


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def summary_rows(results: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The summary table: (figure, one cell per mode)."""
    sums = [m["summary"] for m in results["modes"].values()]
    rows = [
        ("pass rate", [f"{_pct(s['pass_rate'])} ({s['passed']}/{s['runs']})" for s in sums]),
        *[(f"pass^{k}", [_pct(s["pass_hat_k"].get(k)) for s in sums])
          for k in max((s["pass_hat_k"] for s in sums), key=len)],
        ("write precision / recall", [f"{_pct(s['write_precision'])} / {_pct(s['write_recall'])}" for s in sums]),
        ("turns per run (mean)", [_num(s["turns_mean"]) for s in sums]),
        ("model calls per run (mean)", [_num(s["model_calls_mean"]) for s in sums]),
        ("prompt / completion tokens", [f"{s['prompt_tokens']:,} / {s['completion_tokens']:,}" for s in sums]),
        ("turn latency p50 / p95 (s)",
         [f"{_num(s['turn_latency_p50'])} / {_num(s['turn_latency_p95'])}" for s in sums]),
        ("first-token latency p50 / p95 (s)",
         [f"{_num(s['first_token_latency_p50'])} / {_num(s['first_token_latency_p95'])}" for s in sums]),
        ("escalation rate", [_pct(s["escalation_rate"]) for s in sums]),
        ("failures caused by the simulated customer", [str(s.get("customer_caused", 0)) for s in sums]),
    ]
    return rows if sums else []


def _repeats(results: Mapping[str, Any]) -> str:
    """'3 repeat(s)', or per mode when they differ ('flows 3, agent 1 repeat(s)')."""
    per_mode = {m: v.get("repeat", results["repeat"]) for m, v in results["modes"].items()}
    if len(set(per_mode.values())) <= 1:
        return f"{results['repeat']} repeat(s)"
    return ", ".join(f"{m} {k}" for m, k in per_mode.items()) + " repeat(s)"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render_report(results: Mapping[str, Any], runs: Mapping[str, Sequence[RunRecord]]) -> str:
    """``report.md``: summary, categories and failure buckets with one column per mode, then every scenario."""
    modes = list(results["modes"])
    sums = [results["modes"][m]["summary"] for m in modes]
    lines = ["# deskgraph evaluation", "",
             f"model `{results['model']}` · {results['date']} · {results['machine']} · "
             f"{sums[0]['scenarios'] if sums else 0} scenarios x {_repeats(results)} · "
             f"dialogue modes: {', '.join(modes)}", "", "## Summary", ""]
    lines += _table(["", *modes], [(name, *cells) for name, cells in summary_rows(results)])
    lines += ["", "![pass rate per category, and turn latency](pass_rate.png)", "", "## Per category", ""]
    categories = sorted({c for s in sums for c in s["categories"]})

    def cell(s: Mapping[str, Any], cat: str) -> str:
        c = s["categories"].get(cat)
        return f"{c['passed']}/{c['runs']} ({_pct(c['pass_rate'])})" if c else "–"

    def by_customer(s: Mapping[str, Any], cat: str) -> str:
        c = s["categories"].get(cat)
        return str(c.get("customer_caused", 0)) if c else "–"

    lines += _table(["category", *modes, *[f"customer-caused ({m})" for m in modes]],
                    [(cat, *[cell(s, cat) for s in sums], *[by_customer(s, cat) for s in sums])
                     for cat in categories])
    lines += ["", "Customer-caused: failed runs in which the simulated customer (`--customer-model`) ended the chat "
              "while asked, never said who it is, went off-script or talked past its goal (`agent/eval/blame.py`); "
              "they count as failures above too."]
    lines += ["", "## Failure buckets", "",
              "One bucket per failed run, the first that applies in this order (see `agent/eval/scoring.py`).", ""]
    lines += _table(["bucket", *modes], [(b, *[str(s["failures"][b]) for s in sums]) for b in FAILURE_PRECEDENCE])
    lines += ["", "## Scenarios", ""]
    by_mode = {m: {} for m in modes}
    for mode, records in runs.items():
        for r in records:
            by_mode[mode].setdefault(r.id, []).append(r)
    first = runs[modes[0]] if modes else []
    order = list(dict.fromkeys((r.id, r.category) for r in first))
    rows = [(f"`{sid}`", cat, *[" ".join(_run_cell(r) for r in by_mode[m].get(sid, [])) or "–" for m in modes])
            for sid, cat in order]
    lines += _table(["scenario", "category", *modes], rows)
    lines += ["", "Each cell links the transcript of every repeat: ✅ passed, ❌ failed with its bucket.", ""]
    return "\n".join(lines)


def _run_cell(record: RunRecord) -> str:
    mark = "✅" if record.passed else f"❌ {record.failure}" + (" (customer)" if record.customer_caused else "")
    return f"[{mark}]({transcript_path(record)})"


def render_transcript(record: RunRecord) -> str:
    """One run as a readable Markdown page: verdict, writes, then the conversation."""
    verdict = "passed" if record.passed else f"failed: **{record.failure}** — {record.failure_detail}"
    if record.customer_caused:
        verdict += f" · **customer-caused**: {record.customer_caused}"
    lines = [f"# {record.id} ({record.category}) · {record.mode} · repeat {record.repeat}", "", f"Verdict: {verdict}",
             "", f"Turns {record.turns} · model calls {record.model_calls} · tokens {record.prompt_tokens} + "
             f"{record.completion_tokens} · stages {' → '.join(record.stages)} · escalated {record.escalated}", "",
             "Expected writes: " + (", ".join(f"`{w.tool}({json.dumps(w.args)})`" for w in record.expected_writes)
                                     or "none"),
             "", "Writes made: " + (", ".join(f"`{w.tool}({json.dumps(w.args)})`" for w in record.writes) or "none"),
             "", "## Conversation", ""]
    for e in record.transcript:
        role = e["role"]
        if role in {"customer", "agent"}:
            who = "**customer**" if role == "customer" else f"**agent** ({e.get('stage', '')})"
            lines.append(f"{who}: {e['text']}")
        elif role == "tool_call":
            lines.append(f"- → `{e['name']}({json.dumps(e['arguments'], ensure_ascii=False)})`")
        elif role == "tool_result":
            lines.append(f"- ← {'' if e['ok'] else '(error) '}`{e['result'][:200].replace(chr(10), ' ')}`")
        elif role == "confirmation":
            lines.append(f"**agent asks to confirm**: {e['text']}")
        elif role == "stage":
            lines.append(f"- stage {e['source']} → {e['target']} ({e['reason']})")
        elif role == "handed_over":
            lines.append(f"- handed over: ticket {e['ticket_id']} ({e['reason']})")
        elif role == "error":
            lines.append(f"- **error**: {e['text']} ({e.get('detail', '')})")
        lines.append("")
    return "\n".join(lines)
