"""The agent dialogue's optional reading step (``GraphOptions.agent_understand``): each customer message read into
the flows' request plan before the model's tool loop, so both dialogues can be compared on one reading."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from graphs.dialogue import message_text
from graphs.state import SupportState


def read_request_node(model: BaseChatModel) -> Callable[[SupportState, RunnableConfig], Awaitable[dict[str, Any]]]:
    """The node: the model without tools, under the request plan's JSON schema (as the flows ask it)."""
    from graphs.flows.understand import understand

    async def read_request(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        last = state["messages"][-1] if state.get("messages") else None
        if not isinstance(last, HumanMessage):
            return {"understanding": None}
        replies = [m for m in state["messages"][:-1] if isinstance(m, AIMessage) and not m.tool_calls]
        previous = message_text(replies[-1]) if replies else None
        understood, asked = await understand(model, message_text(last), previous, config)
        return {"understanding": understood.model_dump(mode="json", exclude_defaults=True),
                "turn_model_calls": state.get("turn_model_calls", 0) + (1 if asked else 0)}

    return read_request
