"""Runs scenarios: each (scenario, mode, repeat) in its own temporary store and checkpoints, N at a time,
through the real ``SupportRuntime`` against one model server; finished runs stored in ``--out`` are not re-run.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.eval.blame import customer_caused
from agent.eval.checks import missing_understandings
from agent.eval.conversation import converse
from agent.eval.customer import Customer, RuleCustomer, SimulatedCustomer
from agent.eval.metrics import UsageCounter
from agent.eval.records import RunRecord, WriteCall
from agent.eval.scenario import Scenario
from agent.eval.scoring import Observed, expected_store, judge, ledger_writes, others_data
from agent.runtime import SupportRuntime
from agent.settings import Settings
from tools import RetailStore

log = logging.getLogger(__name__)

#: Builds the agent's chat model for one run: (scenario, dialogue mode) → a fresh model.
ModelFactory = Callable[[Scenario, str], BaseChatModel]
#: Builds the customer for one run.
CustomerFactory = Callable[[Scenario], Customer]


class EvalError(RuntimeError):
    """The evaluation cannot run as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class EvalPlan:
    """What to run: the per-run choices of one ``deskgraph eval``."""

    modes: tuple[str, ...] = ("agent",)
    repeat: int = 1
    concurrency: int = 1
    perfect_understanding: bool = False
    customer_model: str | None = None
    """Base URL of an OpenAI-compatible server whose model plays the customer."""
    customer_model_name: str | None = None
    mode_repeat: tuple[tuple[str, int], ...] = ()
    """Per-mode overrides of ``repeat`` (e.g. the baseline dialogue once while the one under test runs 3 times)."""

    def repeats(self, mode: str) -> int:
        """Runs per scenario for one mode."""
        return dict(self.mode_repeat).get(mode, self.repeat)


def run_path(out: Path, mode: str, scenario_id: str, repeat: int) -> Path:
    """Where a finished run is stored (and found again when resuming)."""
    return out / "runs" / mode / f"{scenario_id}.r{repeat}.json"


def load_finished(out: Path, mode: str, scenario_id: str, repeat: int) -> RunRecord | None:
    """A run stored by an earlier invocation, or None."""
    path = run_path(out, mode, scenario_id, repeat)
    if not path.is_file():
        return None
    try:
        return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        log.warning("unreadable run record %s: running it again", path)
        return None


def _save(out: Path, record: RunRecord) -> None:
    path = run_path(out, record.mode, record.id, record.repeat)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(record.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: an interrupted eval never leaves a half-written record to resume from


class Suite:
    """The shared inputs of every run: the seeded data, the expected stores, the factories."""

    def __init__(self, settings: Settings, make_model: ModelFactory, make_customer: CustomerFactory,
                 seed: dict[str, Any] | None = None, *, require_understanding: bool = False) -> None:
        from tools.generator import demo_dataset

        self.settings = settings
        self.make_model = make_model
        self.make_customer = make_customer
        # --perfect-understanding: a message without an annotation would be read as saying nothing, and the
        # run would fail (or pass) for a reason that is not the dialogue code's.
        self.require_understanding = require_understanding
        # The same data as `deskgraph data seed` with its defaults (the demo store): scenarios name customers and orders in it.
        self.seed = seed if seed is not None else demo_dataset()
        self._expected: dict[str, dict[str, Any]] = {}

    def expected(self, scenario: Scenario) -> dict[str, Any]:
        """The store a perfect run of ``scenario`` leaves (computed once per scenario)."""
        if scenario.id not in self._expected:
            self._expected[scenario.id] = expected_store(self.seed, scenario)
        return self._expected[scenario.id]

    async def run_one(self, scenario: Scenario, mode: str, repeat: int) -> RunRecord:
        """One conversation in fresh files, scored; any failure becomes an ``error`` record, never an exception."""
        started = time.perf_counter()
        missing = missing_understandings(scenario) if self.require_understanding else []
        if missing:
            record = _error_record(scenario, mode, repeat, f"{UNANNOTATED}: " + "; ".join(missing))
        else:
            try:
                with tempfile.TemporaryDirectory(prefix="deskgraph-eval-") as tmp:
                    record = await self._converse(scenario, mode, repeat, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - one broken run must not stop the suite
                log.warning("run %s/%s/%d failed: %r", scenario.id, mode, repeat, exc)
                record = _error_record(scenario, mode, repeat, f"{type(exc).__name__}: {exc}")
        record.seconds = round(time.perf_counter() - started, 3)
        return record

    async def _converse(self, scenario: Scenario, mode: str, repeat: int, root: Path) -> RunRecord:
        with RetailStore.open(root / "store.db") as store:
            store.load_json(self.seed)
        settings = self.settings.model_copy(update={"store_db": root / "store.db",
                                                    "checkpoint_db": root / "checkpoints.db", "dialogue": mode})
        usage = UsageCounter()
        model = self.make_model(scenario, mode)
        model.callbacks = [usage]
        thread = f"eval-{scenario.id}-{mode}-r{repeat}"
        customer = self.make_customer(scenario)
        async with SupportRuntime.open(settings, model=model) as runtime:
            convo = await converse(runtime, thread, customer, scenario.max_turns)
            view = await runtime.view(thread)
            writes, refused = ledger_writes(runtime.store)
            final = runtime.store.dump_json()
        # The perfect-understanding double answers an unannotated message with an empty reading; that run
        # says nothing about the dialogue code (e.g. a simulated customer's own words), so it is an error.
        misses = list(getattr(model, "misses", None) or [])
        if misses and not convo.error:
            convo.ended_by = "error"
            convo.error = f"{UNANNOTATED}: " + "; ".join(f"none for {m!r}" for m in dict.fromkeys(misses))
        stages = convo.stages or [view.stage]
        seen = Observed(agent_texts=convo.agent_texts, writes=writes, final_store=final,
                        identified=view.customer_id == scenario.customer.user_id,
                        escalated=convo.handed_over or view.ticket is not None, stages=stages,
                        error=convo.error, turn_limit=convo.turn_limit)
        verdict = judge(scenario, seen, expected=self.expected(scenario),
                        others=others_data(self.seed, scenario.customer.user_id))
        record = RunRecord(
            id=scenario.id, category=scenario.category, mode=mode, repeat=repeat, passed=verdict.passed,
            failure=verdict.failure, failure_detail=verdict.detail, turns=convo.turns, writes=writes,
            failed_writes=refused,
            expected_writes=[WriteCall(tool=w.tool, args=dict(w.args)) for w in scenario.expected_writes],
            writes_matched=verdict.writes_matched, store_equal=verdict.store_equal,
            missing_facts=verdict.missing_facts, forbidden=verdict.forbidden, identified=seen.identified,
            escalated=seen.escalated, stages=stages, model_calls=usage.calls, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, turn_latencies=[round(x, 4) for x in convo.turn_latencies],
            first_token_latencies=[round(x, 4) for x in convo.first_token_latencies], error=convo.error,
            ended_by=convo.ended_by, transcript=convo.transcript,
        )
        if customer.simulated:
            # The rule-based customer says only what the scenario says: its failures are the agent's (or the
            # scenario's), never told apart.
            record.customer_caused = customer_caused(scenario, record)
        return record


#: The start of the error of a run that met a customer message without an ``understanding`` annotation.
UNANNOTATED = "--perfect-understanding needs an `understanding` on every customer message"


def _error_record(scenario: Scenario, mode: str, repeat: int, detail: str) -> RunRecord:
    """A run that could not be judged: failure bucket ``error`` with the reason."""
    return RunRecord(id=scenario.id, category=scenario.category, mode=mode, repeat=repeat, passed=False,
                     failure="error", failure_detail=detail, error=detail,
                     expected_writes=[WriteCall(tool=w.tool, args=dict(w.args)) for w in scenario.expected_writes])


async def run_suite(scenarios: Sequence[Scenario], plan: EvalPlan, settings: Settings, out: Path, *,
                    model_factory: ModelFactory | None = None, customer_factory: CustomerFactory | None = None,
                    progress: bool = True, seed: dict[str, Any] | None = None) -> dict[str, list[RunRecord]]:
    """Every (mode, scenario, repeat) of the plan, stored under ``out``; returns the records per mode.

    ``model_factory`` replaces the configured model and ``customer_factory`` the plan's customer (tests script
    the agent and the simulated customer with them).
    """
    from tqdm import tqdm

    if plan.perfect_understanding and plan.customer_model:
        raise EvalError("--perfect-understanding reads only the scenarios' annotated messages, and a simulated "
                        "customer (--customer-model) writes its own: use one or the other.")
    jobs = [(s, mode, r) for mode in plan.modes for s in scenarios for r in range(1, plan.repeats(mode) + 1)]
    results: dict[tuple[str, str, int], RunRecord] = {}
    todo = []
    for scenario, mode, repeat in jobs:
        done = load_finished(out, mode, scenario.id, repeat)
        if done is None:
            todo.append((scenario, mode, repeat))
        else:
            results[done.key] = done
    if todo:
        async with _models(plan, settings, model_factory, customer_factory) as (make_model, make_customer):
            suite = Suite(settings, make_model, make_customer, seed,
                          require_understanding=plan.perfect_understanding)
            limit = asyncio.Semaphore(max(plan.concurrency, 1))
            bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="eval", unit="run",
                       disable=not progress)

            async def one(scenario: Scenario, mode: str, repeat: int) -> None:
                async with limit:
                    record = await suite.run_one(scenario, mode, repeat)
                _save(out, record)
                results[record.key] = record
                bar.update(1)
                bar.set_postfix(passed=sum(r.passed for r in results.values()))

            try:
                await asyncio.gather(*(one(*job) for job in todo))
            finally:
                bar.close()
    return {mode: [results[(s.id, mode, r)] for s in scenarios for r in range(1, plan.repeats(mode) + 1)]
            for mode in plan.modes}


@asynccontextmanager
async def _models(plan: EvalPlan, settings: Settings, model_factory: ModelFactory | None,
                  customer_factory: CustomerFactory | None) -> AsyncIterator[tuple[ModelFactory, CustomerFactory]]:
    """The agent's model factory (one server for all runs) and the customer factory, for the suite's lifetime."""
    async with AsyncExitStack() as stack:
        from agent.llm import build_chat_model, model_server

        if model_factory is None and plan.perfect_understanding:
            model_factory = perfect_understanding_factory()
        if model_factory is None:
            # One server for the whole suite: the embedded one is started once (unless DESKGRAPH_LLM_BASE_URL).
            server = model_server(settings)
            base_url = await asyncio.to_thread(server.__enter__)
            stack.push(lambda *exc: server.__exit__(*exc))

            def model_factory(scenario: Scenario, mode: str) -> BaseChatModel:
                return build_chat_model(settings, base_url=base_url)

        make_customer: CustomerFactory = customer_factory or RuleCustomer
        if plan.customer_model and customer_factory is None:
            customer_settings = settings.model_copy(update={"llm_base_url": plan.customer_model,
                                                            "llm_model": plan.customer_model_name or ""})

            def make_customer(scenario: Scenario) -> Customer:
                return SimulatedCustomer(scenario, build_chat_model(customer_settings,
                                                                    base_url=plan.customer_model))
        yield model_factory, make_customer


def perfect_understanding_factory() -> ModelFactory:
    """Models built from each scenario's ``understanding`` annotations (the lead's double in ``agent.testing``)."""
    try:
        from agent.testing import perfect_understanding_model  # type: ignore[attr-defined]
    except ImportError as exc:
        raise EvalError(
            "--perfect-understanding needs agent.testing.perfect_understanding_model, which this checkout does "
            "not have yet (it comes with the task flows); run without the flag."
        ) from exc

    def factory(scenario: Scenario, mode: str) -> BaseChatModel:
        return perfect_understanding_model(scenario.understandings())

    return factory
