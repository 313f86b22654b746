"""`deskgraph eval`: run customer scenarios against the configured model and write the report (agent.eval)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import os
from pathlib import Path

import typer

from agent.cli import app

#: Test hook, not a user setting: "module:function" returning a (scenario, mode) -> chat model factory,
#: so CLI tests can script the agent. Production runs always use the configured model server.
MODEL_FACTORY_HOOK = "DESKGRAPH_EVAL_MODEL_FACTORY"
MODES = ("flows", "agent")


def _fail(msg: str) -> None:
    typer.echo(f"Error: {msg}", err=True)
    raise typer.Exit(2)


def _modes(requested: list[str] | None, configured: str) -> tuple[str, ...]:
    chosen: list[str] = []
    for value in requested or [configured]:
        for mode in (MODES if value == "both" else value.split(",")):
            if mode not in MODES:
                _fail(f"unknown dialogue mode {mode!r} (flows, agent or both)")
            chosen.append(mode)
    return tuple(dict.fromkeys(chosen))


def _mode_repeats(values: list[str]) -> tuple[tuple[str, int], ...]:
    pairs = []
    for value in values:
        mode, _, count = value.partition("=")
        if mode not in MODES or not count.isdigit() or int(count) < 1:
            _fail(f"--repeat-for takes MODE=K with MODE flows or agent and K >= 1, not {value!r}")
        pairs.append((mode, int(count)))
    return tuple(pairs)


@app.command("eval")
def eval_(
    paths: list[Path] | None = typer.Argument(None, help="Scenario files or folders (default: evals/scenarios/)."),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Runs per scenario and mode (pass^1..K)."),
    repeat_for: list[str] | None = typer.Option(
        None, "--repeat-for", metavar="MODE=K", help="Runs per scenario for one mode (e.g. agent=1); repeatable."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Conversations at a time (one model server)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder; resumable (default: eval-runs/<time>/)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N scenarios."),
    dialogue: list[str] | None = typer.Option(
        None, "--dialogue", help="flows, agent or both; repeatable (default: DESKGRAPH_DIALOGUE)."),
    perfect_understanding: bool = typer.Option(
        False, "--perfect-understanding", help="Replace the model by the scenario's understanding annotations."),
    customer_model: str | None = typer.Option(
        None, "--customer-model", metavar="URL", help="OpenAI-compatible server whose model plays the customer."),
    customer_model_name: str | None = typer.Option(None, "--customer-model-name", help="Model name on that server."),
    check: bool = typer.Option(False, "--check", help="Only validate the scenario files (format and demo store)."),
) -> None:
    """Run customer scenarios through the real runtime and score them like τ-bench (see README, Evaluation)."""
    from agent.eval.report import summary_rows, write_outputs
    from agent.eval.runner import EvalError, EvalPlan, run_suite
    from agent.eval.scenario import DEFAULT_SCENARIO_DIR, ScenarioError, load_scenarios
    from agent.settings import get_settings

    if check:
        _check(paths, limit)
        return
    settings = get_settings()
    try:
        scenarios = load_scenarios(paths or [DEFAULT_SCENARIO_DIR])
    except ScenarioError as exc:
        _fail(str(exc))
    scenarios = scenarios[:limit] if limit else scenarios
    if not scenarios:
        _fail("no scenario files found")
    plan = EvalPlan(modes=_modes(dialogue, settings.dialogue), repeat=repeat, concurrency=concurrency,
                    mode_repeat=_mode_repeats(repeat_for or []),
                    perfect_understanding=perfect_understanding, customer_model=customer_model,
                    customer_model_name=customer_model_name)
    out = out or Path("eval-runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    factory, model_name = _model_choice(settings, perfect_understanding)
    runs_per_mode = ", ".join(f"{m} x{plan.repeats(m)}" for m in plan.modes)
    typer.echo(f"{len(scenarios)} scenarios, {runs_per_mode} on {model_name} → {out}")
    try:
        runs = asyncio.run(run_suite(scenarios, plan, settings, out, model_factory=factory))
    except EvalError as exc:
        _fail(str(exc))
    results = write_outputs(out, model_name, runs, repeat)
    width = max(len(name) for name, _ in summary_rows(results))
    typer.echo(f"{'':{width}}  " + "  ".join(f"{m:>18}" for m in plan.modes))
    for name, cells in summary_rows(results):
        typer.echo(f"{name:{width}}  " + "  ".join(f"{c:>18}" for c in cells))
    typer.echo(f"report: {out / 'report.md'}")


def _model_choice(settings, perfect_understanding: bool):  # noqa: ANN202 - (factory or None, name)
    hook = os.environ.get(MODEL_FACTORY_HOOK)
    if hook:
        module, _, name = hook.partition(":")
        return getattr(importlib.import_module(module), name), f"test hook {hook}"
    if perfect_understanding:
        return None, "perfect understanding"
    return None, settings.effective_model


def _check(paths: list[Path] | None, limit: int | None) -> None:
    """``--check``: every problem of every file, grouped by file; exit 1 when there is any."""
    from agent.eval.checks import check_files
    from agent.eval.scenario import DEFAULT_SCENARIO_DIR, ScenarioError, scenario_files
    from tools.generator import demo_dataset

    try:
        files = scenario_files(paths or [DEFAULT_SCENARIO_DIR])
    except ScenarioError as exc:
        _fail(str(exc))
    files = files[:limit] if limit else files
    if not files:
        _fail("no scenario files found")
    # Coverage (size, categories, smoke subset) is a property of the whole suite, not of a few files.
    found = check_files(files, demo_dataset(), whole_suite=not paths and not limit)
    for where, problems in found.items():
        typer.echo(f"{where}:", err=True)
        for problem in problems:
            typer.echo("  - " + problem.replace("\n", "\n    "), err=True)
    count = sum(len(p) for p in found.values())
    typer.echo(f"{len(files)} scenarios checked, {count} problem(s)"
               + (f" in {len(found)} place(s)" if found else ""))
    if found:
        raise typer.Exit(1)


@app.command("eval-readings")
def eval_readings(
    paths: list[Path] | None = typer.Argument(None, help="Scenario files or folders (default: evals/scenarios/)."),
    out: Path = typer.Option(Path("eval-runs/readings"), "--out", help="Output folder for readings.json."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N scenarios."),
    full_schema: bool = typer.Option(False, "--full-schema",
                                     help="Offer the whole plan's schema on every message (to compare)."),
) -> None:
    """The model's reading of each annotated opening message against the scenario's annotation, field by field
    (one model call per scenario; which plan fields the model misreads, apart from what the dialogue does)."""
    from agent.eval.readings import COMPARED, read_openings, write_readings
    from agent.eval.scenario import DEFAULT_SCENARIO_DIR, ScenarioError, load_scenarios
    from agent.llm import model_server
    from agent.llm.client import build_chat_model
    from agent.settings import get_settings

    settings = get_settings()
    try:
        scenarios = load_scenarios(paths or [DEFAULT_SCENARIO_DIR])[:limit]
    except ScenarioError as exc:
        _fail(str(exc))

    async def run() -> list:
        if settings.llm_base_url:
            return await read_openings(build_chat_model(settings), scenarios, narrow=not full_schema)
        with model_server(settings) as base_url:
            return await read_openings(build_chat_model(settings, base_url=base_url), scenarios,
                                       narrow=not full_schema)

    results = asyncio.run(run())
    summary = write_readings(out, results)
    for r in results:
        if r.wrong:
            typer.echo(f"✗ {r.scenario}: " + "; ".join(f"{k} want {v['want']} got {v['got']}" for k, v in r.wrong.items()))
    typer.echo(f"{summary['messages']} messages, all fields right {summary['all_right']:.0%}; latency p50 "
               f"{summary['latency_p50']:.1f} s, p95 {summary['latency_p95']:.1f} s")
    typer.echo("  ".join(f"{name} {summary['fields'][name]:.0%}" for name in COMPARED))
    typer.echo(f"written: {out / 'readings.json'}")
