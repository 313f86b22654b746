"""What both dialogues (the agent loop in ``graphs.nodes``, the flows in ``graphs.flows``) build their nodes from:
the graph's options, message text, call ids, stage moves, lookups written as tool pairs."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from graphs.state import Stage, StageChange, SupportState


@dataclass(frozen=True)
class GraphOptions:
    """Per-deployment knobs of the graph (the graph itself reads no settings)."""

    today: dt.date | None = None
    context_tokens: int = 32768
    max_output_tokens: int = 512
    tool_call_retries: int = 2
    escalate_after_tool_errors: int = 3
    escalate_after_misunderstandings: int = 3
    max_model_calls_per_turn: int = 8
    default_persona: str = "default"
    dialogue: str = "flows"
    """``flows``: code drives each task, the model reads messages; ``agent``: the model plans in a tool loop."""
    agent_understand: bool = False
    """Agent dialogue: one ``understand`` step (the flows' request plan) before the model's loop each turn."""


def message_text(message: AnyMessage) -> str:
    return message.content if isinstance(message.content, str) else json.dumps(message.content)


def times_asked(messages: list[AnyMessage], question: str) -> int:
    """How often the agent already asked this question (case and spacing aside; a rephrased asking quotes it)."""
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    if not question.rstrip().endswith("?"):
        return 0
    return sum(1 for m in messages if isinstance(m, AIMessage) and not m.tool_calls
               and norm(question) in norm(message_text(m)))


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def thread_of(config: RunnableConfig) -> str:
    return str(config.get("configurable", {}).get("thread_id", "unknown"))


def is_error(result: str) -> bool:
    return result.startswith("Error") or result.startswith("Unknown action")


def move_stage(state: SupportState, target: Stage, reason: str) -> dict[str, Any]:
    """A stage change, recorded with its reason."""
    source = state.get("stage", Stage.INTAKE)
    if source == target:
        return {}
    change = StageChange(source=str(source), target=str(target), reason=reason, turn=state.get("turn", 0))
    # Stored as the plain string: checkpoints then hold only built-in types.
    return {"stage": target.value, "stage_history": [*state.get("stage_history", []), change]}


def tool_pair(name: str, args: dict[str, Any], result: str, ok: bool = True) -> list[AnyMessage]:
    """A lookup the graph made itself, written as a call plus its result so the model sees both."""
    call_id = new_call_id()
    return [
        AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}]),
        ToolMessage(content=result, tool_call_id=call_id, name=name, status="success" if ok else "error"),
    ]

