"""The guardrail's answer to a screened message, recorded without running the model or any tool."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from agent.runtime.events import Event, Reply
from agent.runtime.stream import translate
from graphs import Stage
from graphs.guardrail import Verdict

log = logging.getLogger("agent.runtime")


async def answer_screened(graph: CompiledStateGraph, config: dict[str, Any], text: str, verdict: Verdict,
                          persona: str | None, snapshot: StateSnapshot, start: dict[str, Any], *,
                          make_durable: Callable[[bool], Awaitable[None]]) -> AsyncIterator[Event]:
    """The guardrail's polite reply to a screened message; no model and no tool runs.

    The message and the reply are recorded as a step of the ``restore`` node (its only edge leads to the
    end), so the next message starts an ordinary turn. While a write waits for confirmation the thread is
    left as it is (a state update would drop the pending interrupt): the reply, then the question again.
    """
    log.info("guardrail answered thread %s: %s", config["configurable"]["thread_id"], verdict.check,
             extra={"thread_id": config["configurable"]["thread_id"]})
    stage = str({**snapshot.values, **start}.get("stage", Stage.INTAKE))
    waiting = [item for task in snapshot.tasks for item in task.interrupts]
    reply = AIMessage(content=verdict.reply, id=f"guardrail-{uuid.uuid4()}")
    if not waiting:
        update: dict[str, Any] = {**start, "messages": [HumanMessage(text), reply]}
        if persona:
            update["persona"] = persona
        await graph.aupdate_state(config, update, as_node="restore")
        await make_durable(False)
    yield Reply(text=verdict.reply, stage=stage, message_id=reply.id, streamed=False)
    for event in translate("__interrupt__", waiting, set(), stage):
        yield event
