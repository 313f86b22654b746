"""Pure routing functions: each reads the state and names the next node."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, ToolMessage

from graphs.operator import after_handover
from graphs.state import Stage, SupportState


def after_begin_turn(
    state: SupportState,
) -> Literal["operator_confirm", "handover_note", "confirm_write", "escalate", "tools", "agent"]:
    """Handed-over threads belong to the person (their proposal's answer, or a note for them); a pending write
    waits for its answer; a request code read from the text goes to the tool layer; else the stage's model works."""
    if state.get("ticket"):
        return after_handover(state)
    if state.get("pending_confirmation"):
        return "confirm_write"
    if state.get("stage") == Stage.ESCALATION:
        return "escalate"
    last = state["messages"][-1] if state.get("messages") else None
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "agent"


def after_agent(state: SupportState, max_invalid: int) -> Literal["tools", "agent", "give_up", "__end__"]:
    """A valid call runs; a corrected invalid call goes back to the model until the retries are used up."""
    last = state["messages"][-1]
    if isinstance(last, ToolMessage):  # the agent answered an invalid call with a correction
        return "agent" if state.get("turn_invalid_calls", 0) <= max_invalid else "give_up"
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"


def after_tools(state: SupportState) -> Literal["confirm_write", "escalate", "agent"]:
    """Writes wait for confirmation; a transfer (or a rule) may have moved the case to escalation."""
    if state.get("pending_confirmation"):
        return "confirm_write"
    if state.get("stage") == Stage.ESCALATION:
        return "escalate"
    return "agent"


def after_confirm(state: SupportState) -> Literal["agent", "__end__"]:
    """A confirmed write (or a customer's other request) goes back to the model; a plain no ends the turn."""
    last = state["messages"][-1]
    return "__end__" if isinstance(last, AIMessage) and not last.tool_calls else "agent"


def after_give_up(state: SupportState) -> Literal["escalate", "__end__"]:
    """Too many misunderstandings in a row hand the case to a human."""
    return "escalate" if state.get("stage") == Stage.ESCALATION else "__end__"
