"""What a replay from one checkpoint has to reproduce: the original run's checkpoints from there on, and what
came from outside the graph between them (customer messages, answers to confirmations, recorded updates)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

#: LangGraph's channel of a run's input, and its writes of interrupts and their answers.
_INPUT_CHANNEL, _INTERRUPT, _RESUME = "__start__", "__interrupt__", "__resume__"
_NULL_TASK = "00000000-0000-0000-0000-000000000000"


class UnknownCheckpointError(LookupError):
    """The thread, or the checkpoint in it, does not exist."""


@dataclass(frozen=True)
class Action:
    """Something the original run got from outside the graph, to give the replay at the same point."""

    kind: Literal["input", "resume", "update"]
    value: Any
    after: str
    """The original checkpoint it was given at."""


@dataclass(frozen=True)
class Span:
    """The original run from a checkpoint to the end of its branch."""

    thread_id: str
    path: list[CheckpointTuple]
    """The conversation graph's checkpoints from the replay's start (first) to the branch's newest (last)."""
    actions: list[Action]
    newest_id: str
    """The thread's newest checkpoint before the replay (on any branch): everything newer is the replay's."""

    @property
    def start(self) -> CheckpointTuple:
        """The checkpoint the replay starts from."""
        return self.path[0]

    @property
    def ids(self) -> list[str]:
        """The path's checkpoint ids, in order."""
        return [checkpoint_id(t) for t in self.path]


def checkpoint_id(t: CheckpointTuple) -> str:
    """A checkpoint tuple's id."""
    return str(t.config["configurable"]["checkpoint_id"])


def _parent_id(t: CheckpointTuple) -> str | None:
    return (t.parent_config or {}).get("configurable", {}).get("checkpoint_id")


async def read_span(saver: BaseCheckpointSaver, thread_id: str, start_id: str) -> Span:
    """The original run from ``start_id``: the branch through it that ends in the newest checkpoint."""
    tuples = {checkpoint_id(t): t async for t in saver.alist({"configurable": {"thread_id": thread_id,
                                                                               "checkpoint_ns": ""}})}
    if not tuples:
        raise UnknownCheckpointError(f"no thread {thread_id!r}")
    if start_id not in tuples:
        raise UnknownCheckpointError(f"no checkpoint {start_id!r} in thread {thread_id!r}")

    def descends(cid: str) -> bool:
        while cid is not None and cid != start_id:
            cid = _parent_id(tuples[cid]) if cid in tuples else None
        return cid == start_id

    # The newest checkpoint below the start is the end of the branch the replay must reproduce.
    end = max(cid for cid in tuples if descends(cid))
    path = [tuples[end]]
    while checkpoint_id(path[-1]) != start_id:
        path.append(tuples[str(_parent_id(path[-1]))])
    path.reverse()
    return Span(thread_id, path, _actions(path), max(tuples))


def _actions(path: list[CheckpointTuple]) -> list[Action]:
    actions: list[Action] = []
    for before, after in itertools.pairwise(path):
        source = (after.metadata or {}).get("source")
        if source == "input":
            actions.append(Action("input", after.checkpoint["channel_values"].get(_INPUT_CHANNEL), checkpoint_id(before)))
        elif source == "update":
            actions.append(Action("update", after, checkpoint_id(before)))
        elif any(w[1] == _INTERRUPT for w in before.pending_writes or ()):
            actions.append(Action("resume", _resume_value(before, after), checkpoint_id(before)))
    return actions


def _resume_value(before: CheckpointTuple, after: CheckpointTuple) -> Any:
    """The answer given to an interrupt: the run-wide resume write, else the task's own (its last answer)."""
    writes = [*(before.pending_writes or ()), *(after.pending_writes or ())]
    for task, channel, value in writes:
        if channel == _RESUME and task == _NULL_TASK:
            return value
    for _, channel, value in writes:
        if channel == _RESUME:
            return value[-1] if isinstance(value, list) and value else value
    return None


def update_values(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A recorded state update as the values to write again: the keys it changed, and the messages it added."""
    known = {m.id for m in before.get("messages", [])}
    changed: dict[str, Any] = {}
    for key, value in after.items():
        if key == "messages":
            added: list[AnyMessage] = [m for m in value if m.id not in known]
            if added:
                changed[key] = added
        elif before.get(key) != value:
            changed[key] = value
    return changed
