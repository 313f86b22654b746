"""LangGraph's stream of one turn as the runtime's typed events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, RemoveMessage, ToolMessage
from langgraph.graph.state import CompiledStateGraph

from agent.observability.logs import new_error_id
from agent.runtime.events import (
    ConfirmationRequested,
    ErrorEvent,
    Event,
    HandedOver,
    Reply,
    StageChanged,
    StepPaused,
    Token,
    ToolCalled,
    ToolResult,
)
from agent.runtime.failures import describe_failure
from agent.runtime.observer import TURN_OBSERVER, TurnObserver
from agent.runtime.stepping import is_paused, next_names, split_breakpoints, subgraph_breakpoints

log = logging.getLogger("agent.runtime")

#: Nodes that write to the retail store file (writes, ledger, tickets): their turns fsync it too.
STORE_WRITERS = frozenset({"confirm_write", "escalate", "handover_note"})

#: Nodes whose model tokens are the customer-facing reply (the escalation model writes a ticket summary).
REPLY_NODES = frozenset({"agent"})


async def run_graph(graph: CompiledStateGraph, payload: Any, config: dict[str, Any], *, observer: TurnObserver,
                    make_durable: Callable[[bool], Awaitable[None]], step: bool = False,
                    breakpoints: Sequence[str] = ()) -> AsyncIterator[Event]:
    """Run one turn and yield its events; every failure becomes an ``ErrorEvent`` with an error id.

    Developers: ``step`` pauses after every node of the parent graph, ``breakpoints`` before the named nodes
    (``plan``, or ``cancel:confirm`` inside a task flow; see ``runtime.stepping``); a pause ends with
    ``StepPaused``."""
    streamed: set[str] = set()
    wrote_store = False
    last_node = ""
    config = {**config, "configurable": {**config.get("configurable", {}), TURN_OBSERVER: observer}}
    modes = stream_modes(graph)
    try:
        # durability="sync": each step's checkpoint is committed before the next step starts, so a crash
        # mid-turn resumes from the last finished step and a turn that returned is on disk.
        parent_breaks, _ = split_breakpoints(breakpoints)
        with subgraph_breakpoints(graph, breakpoints):
            async for mode, data in graph.astream(payload, config, stream_mode=modes,
                                                  durability="sync", interrupt_before=parent_breaks or None,
                                                  interrupt_after="*" if step else None):
                if mode == "messages":
                    chunk, meta = data
                    if (isinstance(chunk, AIMessageChunk) and isinstance(chunk.content, str) and chunk.content
                            and not chunk.tool_call_chunks and meta.get("langgraph_node") in REPLY_NODES):
                        streamed.add(str(chunk.id))
                        yield Token(text=chunk.content, message_id=chunk.id, stage=observer.stage)
                    continue
                for node, update in data.items():
                    last_node = node if node != "__interrupt__" else last_node
                    wrote_store = wrote_store or node in STORE_WRITERS
                    if isinstance(update, Mapping) and update.get("stage"):
                        # Tracked as updates arrive: tokens of a reply carry the stage that wrote it.
                        observer.stage = str(update["stage"])
                    for event in translate(node, update, streamed, observer.stage):
                        yield event
        if step or breakpoints:
            snap = await graph.aget_state(config, subgraphs=True)
            if is_paused(snap):
                yield StepPaused(node=last_node, next_nodes=next_names(snap), state_keys=tuple(snap.values))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes an event; the checkpoint stays intact
        yield failure_event(exc, observer.thread_id, observer.stage)
    finally:
        await make_durable(wrote_store)


def stream_modes(graph: CompiledStateGraph) -> list[str]:
    """What to stream of a turn: its updates, and the model's tokens when the graph has a node that writes the reply.

    Why not always the tokens: LangGraph's "messages" mode attaches a streaming callback to every model request,
    and a model asked with one streams its answer (one parsed chunk object per token, and for the flows' reading
    request under ``response_format`` a partial JSON parse per chunk). The flows dialogue has no reply node (its
    replies are written by code or by its question node, whose tokens were never shown), so its model requests
    are plain requests: about half the CPU of a turn's model calls.
    """
    return ["messages", "updates"] if REPLY_NODES & set(graph.nodes) else ["updates"]


def failure_event(exc: Exception, thread_id: str, stage: str | None = None) -> ErrorEvent:
    """The customer's short message and an error id; the details (paths, URLs, the stack) go to the server
    log under that id."""
    error_id = new_error_id()
    log.error("turn failed", exc_info=exc, extra={"thread_id": thread_id, "stage": stage, "error_id": error_id})
    message, retryable = describe_failure(exc)
    return ErrorEvent(message=message, detail=f"{type(exc).__name__}: {exc}", retryable=retryable, error_id=error_id)


def translate(node: str, update: Any, streamed: set[str], stage: str) -> list[Event]:
    """One node's update as events, in the order a reader expects them."""
    if node == "__interrupt__":
        return [ConfirmationRequested(tool=v["tool"], arguments=dict(v["arguments"]), summary=v["summary"],
                                      tool_call_id=v["tool_call_id"])
                for v in (item.value for item in update)
                if isinstance(v, Mapping) and v.get("type") == "confirmation"]
    if not isinstance(update, Mapping):
        return []
    events: list[Event] = []
    if update.get("stage_history"):
        change = update["stage_history"][-1]
        events.append(StageChanged(source=change["source"], target=change["target"], reason=change["reason"]))
    for message in update.get("messages", []):
        if isinstance(message, RemoveMessage | HumanMessage):
            continue
        if isinstance(message, AIMessage) and message.tool_calls:
            events += [ToolCalled(name=c["name"], arguments=dict(c["args"]), call_id=c["id"], stage=stage)
                       for c in message.tool_calls]
        elif isinstance(message, ToolMessage):
            events.append(ToolResult(name=message.name or "", call_id=message.tool_call_id,
                                     result=str(message.content), ok=message.status != "error"))
        elif isinstance(message, AIMessage) and str(message.content).strip():
            if update.get("ticket"):
                events.append(HandedOver(ticket_id=update["ticket"]["id"], reason=update["ticket"]["reason"]))
            events.append(Reply(text=str(message.content), stage=stage, message_id=message.id,
                                streamed=str(message.id) in streamed))
    return events
