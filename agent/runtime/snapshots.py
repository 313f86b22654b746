"""Reading a thread's checkpoints for developers: the whole history, or the state at one checkpoint, with the
one error each kind of unknown id raises (front ends map both to "not found")."""

from __future__ import annotations

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from agent.runtime.errors import ThreadNotFoundError


class CheckpointNotFoundError(LookupError):
    """The thread exists, but has no checkpoint with this id."""


async def history(graph: CompiledStateGraph, thread_id: str) -> list[StateSnapshot]:
    """Every checkpoint of the thread's main graph, oldest first; ``ThreadNotFoundError`` when there is none."""
    found = [snap async for snap in graph.aget_state_history({"configurable": {"thread_id": thread_id}})]
    if not found:
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    return found[::-1]


async def snapshot_at(graph: CompiledStateGraph, thread_id: str, checkpoint_id: str) -> StateSnapshot:
    """The state at one checkpoint, with the state of a task flow paused inside it (``subgraphs=True``)."""
    latest = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    if not latest.values and not latest.next:
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    snap = await graph.aget_state({"configurable": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}},
                                  subgraphs=True)
    # An unknown checkpoint id reads as an empty state with no config of its own rather than an error.
    if snap.metadata is None:
        raise CheckpointNotFoundError(f"no checkpoint {checkpoint_id!r} in thread {thread_id!r}")
    return snap


def step_of(snap: StateSnapshot) -> int:
    """The checkpoint's step number (-1: the input before the first node)."""
    return int((snap.metadata or {}).get("step", -1))
