"""Replaying a thread from one of its checkpoints and checking that the replay does what the original did.

The replay runs the graph again from the checkpoint and gives it, at the same points, what the original run got
from outside: the customer's messages, the answers to confirmations, recorded state updates, and (recorded
replay, the default) the model's recorded responses; ``live`` asks the model again instead. Each step it takes
is compared with the original's; the first difference is reported and the replay stops there.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agent.runtime.events import Event
from agent.runtime.recording import recorded_responses
from agent.runtime.replay_compare import difference
from agent.runtime.replay_model import RecordedChatModel, ReplayDivergedError
from agent.runtime.replay_sandbox import ReplayFiles, in_place, sandbox
from agent.runtime.replay_span import (
    Action,
    Span,
    UnknownCheckpointError,
    checkpoint_id,
    read_span,
    update_values,
)
from agent.runtime.store_journal import MARK_KEY
from agent.runtime.stream import translate
from graphs import GraphOptions, build_support_graph

__all__ = ["Divergence", "ReplayReport", "UnknownCheckpointError", "replay_thread"]


@dataclass(frozen=True)
class Divergence:
    """The first step at which the replay did something else than the original."""

    step: int
    """The step's number in the original thread (LangGraph's ``step``)."""
    original_checkpoint: str | None
    replay_checkpoint: str | None
    detail: str


@dataclass
class ReplayReport:
    """The outcome of one replay."""

    thread_id: str
    checkpoint_id: str
    live: bool
    sandbox: bool
    steps: int = 0
    """How many of the original's steps after the start the replay reproduced."""
    original_steps: int = 0
    store_rewound: bool = False
    divergence: Divergence | None = None
    failure: str | None = None
    """Why the replay could not run (a model server that does not answer, a broken file)."""
    notes: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """The replay reproduced the original exactly."""
        return self.divergence is None and self.failure is None


def _config(thread_id: str, checkpoint: str | None = None) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "",
                             **({"checkpoint_id": checkpoint} if checkpoint else {})}}


class _Replayer:
    """One replay on its files: runs the segments, follows the replay's branch, compares it with the original."""

    def __init__(self, graph: CompiledStateGraph, saver: BaseCheckpointSaver, span: Span,
                 on_event: Callable[[Event], None]) -> None:
        self.graph, self.saver, self.span, self.on_event = graph, saver, span, on_event
        self.thread = span.thread_id
        self.head = checkpoint_id(span.start)
        self.stage = str(span.start.checkpoint["channel_values"].get("stage", "intake"))

    async def run(self, payload: Any) -> None:
        """One run of the graph from the replay's head until it ends or waits for the customer."""
        async for update in self.graph.astream(payload, _config(self.thread, self.head), stream_mode="updates",
                                               durability="sync"):
            for node, value in update.items():
                if isinstance(value, dict) and value.get("stage"):
                    self.stage = str(value["stage"])
                for event in translate(node, value, set(), self.stage):
                    self.on_event(event)
        await self._follow()

    async def apply(self, action: Action) -> None:
        """Give the replay what the original got at this point."""
        if action.kind == "input":
            await self.run(action.value)
        elif action.kind == "resume":
            await self.run(Command(resume=action.value))
        else:
            before = await self.graph.aget_state(_config(self.thread, action.after))
            after = await self.graph.aget_state(action.value.config)
            # The runtime updates state only as the `restore` node (a screened message's answer, a fork).
            await self.graph.aupdate_state(_config(self.thread, self.head),
                                           update_values(before.values, after.values), as_node="restore")
            await self._follow()

    async def _follow(self) -> None:
        # The replay's checkpoints are newer than anything the original wrote: the thread's newest is its head.
        newest = await self.saver.aget_tuple(_config(self.thread))
        if newest is not None and checkpoint_id(newest) > self.span.newest_id:
            self.head = checkpoint_id(newest)

    async def branch(self) -> list[str]:
        """The replay's checkpoints after the start, oldest first (copies made to start a branch left out)."""
        ids: list[str] = []
        cursor = self.head
        start = checkpoint_id(self.span.start)
        while cursor != start:
            found = await self.saver.aget_tuple(_config(self.thread, cursor))
            if found is None or found.parent_config is None:
                break
            if (found.metadata or {}).get("source") != "fork":
                ids.append(cursor)
            cursor = found.parent_config["configurable"]["checkpoint_id"]
        return ids[::-1]

    async def first_divergence(self, *, finished: bool) -> tuple[int, Divergence | None]:
        """How many steps match, and the first that does not (the replay's missing steps count once finished)."""
        original = [t for t in self.span.path[1:] if (t.metadata or {}).get("source") != "fork"]
        replayed = await self.branch()
        for index, (orig, mine) in enumerate(zip(original, replayed, strict=False)):
            a = await self.graph.aget_state(orig.config)
            b = await self.graph.aget_state(_config(self.thread, mine))
            detail = difference(a.values, b.values)
            if detail is None and tuple(a.next) != tuple(b.next):
                detail = f"next: original {list(a.next)}, replay {list(b.next)}"
            if detail:
                return index, Divergence(int((orig.metadata or {}).get("step", -1)), checkpoint_id(orig), mine, detail)
        if len(replayed) > len(original):
            return len(original), Divergence(-1, None, replayed[len(original)],
                                              f"the replay went on after the original's last step "
                                              f"({len(replayed) - len(original)} more)")
        if finished and len(replayed) < len(original):
            missing = original[len(replayed)]
            return len(replayed), Divergence(int((missing.metadata or {}).get("step", -1)), checkpoint_id(missing),
                                             None, f"the replay stopped after {len(replayed)} of "
                                                   f"{len(original)} steps")
        return len(replayed), None


async def replay_thread(*, saver: Any, checkpoint_db: Path, store_db: Path, thread_id: str, checkpoint: str,
                        options: GraphOptions, live_model: BaseChatModel | None = None, use_sandbox: bool = True,
                        on_event: Callable[[Event], None] | None = None) -> ReplayReport:
    """Replay ``thread_id`` from ``checkpoint`` and compare it with the original run.

    Recorded (``live_model`` None): the model's recorded responses answer every request, no server is needed.
    Raises ``UnknownCheckpointError`` for an unknown thread or checkpoint.
    """
    span = await read_span(saver, thread_id, checkpoint)
    report = ReplayReport(thread_id, checkpoint, live=live_model is not None, sandbox=use_sandbox,
                          original_steps=sum(1 for t in span.path[1:] if (t.metadata or {}).get("source") != "fork"))
    model: BaseChatModel = live_model or RecordedChatModel(await recorded_responses(saver, thread_id, span.ids))
    mark = (span.start.metadata or {}).get(MARK_KEY)
    files: AbstractAsyncContextManager[ReplayFiles] = (
        sandbox(checkpoint_db, store_db, thread_id, mark) if use_sandbox else in_place(saver, store_db))
    async with files as opened:
        report.store_rewound = opened.rewound
        if use_sandbox and not opened.rewound:
            report.notes.append("the store could not be put back to this checkpoint (it predates the store "
                                "journal): the replay reads the store as it is now")
        graph = build_support_graph(model=model, store=opened.store, checkpointer=opened.saver, options=options)
        replayer = _Replayer(graph, opened.saver, span, on_event or (lambda event: None))
        await _drive(replayer, span, report)
    if isinstance(model, RecordedChatModel) and report.matches and model.unused:
        report.divergence = Divergence(-1, None, None, f"{len(model.unused)} recorded model response(s) were not "
                                                       f"asked for (first in {model.unused[0].node})")
    return report


async def _drive(replayer: _Replayer, span: Span, report: ReplayReport) -> None:
    """Run the replay segment by segment, stopping at the first difference."""
    try:
        await replayer.run(None)
        for action in span.actions:
            report.steps, report.divergence = await replayer.first_divergence(finished=False)
            if report.divergence:
                return
            await replayer.apply(action)
    except ReplayDivergedError as exc:
        report.steps, report.divergence = await replayer.first_divergence(finished=False)
        if report.divergence is None:
            step = span.path[min(report.steps + 1, len(span.path) - 1)]
            report.divergence = Divergence(int((step.metadata or {}).get("step", -1)), checkpoint_id(step),
                                           None, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - reported: the replay could not run to its end
        report.failure = f"{type(exc).__name__}: {exc}"
        return
    report.steps, report.divergence = await replayer.first_divergence(finished=True)
