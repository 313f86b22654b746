"""What the model sees: as many recent messages as fit a token budget; the full history stays in state."""

from __future__ import annotations

import json
from collections.abc import Sequence

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

# Qwen's tokenizer averages a little over 3 characters per token on English and JSON; estimating with 3
# errs on the safe side without a tokenizer dependency.
CHARS_PER_TOKEN = 3
PER_MESSAGE_TOKENS = 6


_estimates: dict[str, int] = {}
_MAX_ESTIMATES = 100_000


def estimate_tokens(message: AnyMessage) -> int:
    """A conservative token estimate of one message in Qwen's chat template (remembered per message id:
    messages in the history never change, and the window is re-measured every model call)."""
    if message.id is not None and message.id in _estimates:
        return _estimates[message.id]
    tokens = _estimate(message)
    if message.id is not None:
        if len(_estimates) >= _MAX_ESTIMATES:
            _estimates.clear()
        _estimates[message.id] = tokens
    return tokens


def _estimate(message: AnyMessage) -> int:
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    size = len(text)
    if isinstance(message, AIMessage) and message.tool_calls:
        size += sum(len(c["name"]) + len(json.dumps(c["args"])) + 30 for c in message.tool_calls)
    return size // CHARS_PER_TOKEN + PER_MESSAGE_TOKENS


def estimate_text_tokens(text: str) -> int:
    """Token estimate of a plain string (system prompt, tool schemas)."""
    return len(text) // CHARS_PER_TOKEN + PER_MESSAGE_TOKENS


def recent_window(messages: Sequence[AnyMessage], budget_tokens: int) -> list[AnyMessage]:
    """The longest suffix of ``messages`` within the budget that starts at a customer message.

    Walks backwards only as far as needed, so the cost depends on the window, not the history. The latest
    customer message and what follows it are always kept, even over budget: without them there is no turn.
    """
    last_human = next((i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)), 0)
    used = 0
    start = len(messages)
    for i in range(len(messages) - 1, -1, -1):
        used += estimate_tokens(messages[i])
        if used > budget_tokens and i < last_human:
            break
        start = i
    # A window must not open on a tool result or on the tail of a tool exchange.
    while start < last_human and not isinstance(messages[start], HumanMessage):
        start += 1
    window = list(messages[start:])
    while window and isinstance(window[0], ToolMessage):
        window.pop(0)
    return window
