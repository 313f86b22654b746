"""Reading, replaying and forking past conversations from their checkpoints (for developers and operators)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from graphs.operator import operator_of


@dataclass(frozen=True)
class ThreadView:
    """Where a thread stands now."""

    thread_id: str
    exists: bool
    stage: str
    customer_id: str | None
    verified_by: str | None
    pending_confirmation: dict[str, Any] | None
    ticket: dict[str, Any] | None
    persona: str | None
    next_nodes: tuple[str, ...]
    interrupted: bool
    messages: list[AnyMessage]

    @property
    def owner(self) -> str | None:
        """The customer the thread belongs to (started with their token), or None."""
        return self.customer_id if self.verified_by == "token" else None

    @property
    def failed_turn(self) -> bool:
        """A turn stopped half-way (e.g. the model was down) and can be retried."""
        return bool(self.next_nodes) and not self.interrupted


@dataclass(frozen=True)
class CheckpointInfo:
    """One step of a thread's history."""

    checkpoint_id: str
    step: int
    source: str
    wrote: tuple[str, ...]
    next_nodes: tuple[str, ...]
    stage: str
    messages: int
    created: str


def transcript_lines(messages: list[AnyMessage], *, tool_details: bool = True) -> list[str]:
    """A readable transcript: who said what, which tools ran. Without ``tool_details`` (a customer's view)
    tools show only their name and whether they succeeded, never arguments or results."""
    lines = []
    for m in messages:
        if isinstance(m, HumanMessage):
            lines.append(f"customer: {m.content}")
        elif isinstance(m, AIMessage) and m.tool_calls:
            lines += [f"  -> {c['name']}({json.dumps(c['args']) if tool_details else ''})" for c in m.tool_calls]
        elif isinstance(m, ToolMessage) and not tool_details:
            lines.append(f"  <- {m.name or 'tool'}: {'failed' if m.status == 'error' else 'ok'}")
        elif isinstance(m, ToolMessage):
            text = str(m.content)
            lines.append(f"  <- {text[:200]}{'…' if len(text) > 200 else ''}")
        elif isinstance(m, AIMessage) and (person := operator_of(m)):
            lines.append(f"operator ({person}): {m.content}")
        elif isinstance(m, AIMessage):
            lines.append(f"agent: {m.content}")
    return lines


async def thread_view(graph: CompiledStateGraph, thread_id: str, checkpoint_id: str | None = None) -> ThreadView:
    """The thread's state (now, or at one checkpoint)."""
    configurable = {"thread_id": thread_id} | ({"checkpoint_id": checkpoint_id} if checkpoint_id else {})
    # With the subgraphs: a task flow keeps its pending write in its own state until the customer answers.
    snap = await graph.aget_state({"configurable": configurable}, subgraphs=True)
    values = snap.values or {}
    return ThreadView(
        thread_id=thread_id,
        exists=bool(values),
        stage=str(values.get("stage", "intake")),
        customer_id=values.get("customer_id"),
        verified_by=values.get("verified_by"),
        pending_confirmation=pending_write(snap),
        ticket=values.get("ticket"),
        persona=values.get("persona"),
        next_nodes=tuple(snap.next),
        interrupted=any(t.interrupts for t in snap.tasks),
        messages=list(values.get("messages", [])),
    )


_PENDING_KEYS = ("tool_call_id", "tool", "arguments", "summary")


def pending_write(snap: StateSnapshot) -> dict[str, Any] | None:
    """The write waiting for the customer's yes or no: in the graph's state (agent dialogue), in the interrupt
    that asks for it, or in the state of the task subgraph that is about to ask (flows, stepping)."""
    if pending := (snap.values or {}).get("pending_confirmation"):
        return pending
    for task in snap.tasks:
        for asked in task.interrupts:
            if isinstance(asked.value, dict) and asked.value.get("type") == "confirmation":
                return {key: asked.value[key] for key in _PENDING_KEYS if key in asked.value}
        if isinstance(task.state, StateSnapshot) and (inner := pending_write(task.state)):
            return inner
    return None


async def checkpoints(graph: CompiledStateGraph, thread_id: str, limit: int = 200) -> list[CheckpointInfo]:
    """The thread's checkpoints, newest first."""
    found = []
    async for snap in graph.aget_state_history({"configurable": {"thread_id": thread_id}}, limit=limit):
        meta = snap.metadata or {}
        found.append(CheckpointInfo(
            checkpoint_id=snap.config["configurable"]["checkpoint_id"],
            step=int(meta.get("step", -1)),
            source=str(meta.get("source", "")),
            wrote=tuple((meta.get("writes") or {}).keys()) if isinstance(meta.get("writes"), dict) else (),
            next_nodes=tuple(snap.next),
            stage=str((snap.values or {}).get("stage", "intake")),
            messages=len((snap.values or {}).get("messages", [])),
            created=str(snap.created_at or ""),
        ))
    return found


async def fork(graph: CompiledStateGraph, thread_id: str, checkpoint_id: str, new_thread_id: str | None = None) -> str:
    """Copy the thread's state at a checkpoint into a new thread that continues from there; returns its id."""
    snap = await graph.aget_state({"configurable": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}})
    if not snap.values:
        raise LookupError(f"no checkpoint {checkpoint_id} in thread {thread_id}")
    new_thread_id = new_thread_id or f"{thread_id}-fork-{uuid.uuid4().hex[:6]}"
    existing = await graph.aget_state({"configurable": {"thread_id": new_thread_id}})
    if existing.values:
        raise ValueError(f"thread {new_thread_id} already exists")
    # Attributed to the `restore` node, whose only edge is to the end: the fork waits for the next message.
    await graph.aupdate_state({"configurable": {"thread_id": new_thread_id}}, dict(snap.values), as_node="restore")
    return new_thread_id


async def thread_ids(saver: Any) -> list[str]:
    """Every thread in the checkpoint database, most recently active first."""
    return await saver.athread_ids()
