"""Turn exceptions into what a customer may read (friendly, no stack trace) and whether a retry can help."""

from __future__ import annotations

from prompts import replies
from tools.db.errors import is_busy


def describe_failure(exc: BaseException) -> tuple[str, bool]:
    """A customer-facing message and whether retrying the same turn may succeed."""
    from agent.llm.errors import LLMRequestError

    if is_busy(exc):
        return "The system is busy right now. Please try again in a moment; your conversation is saved.", True
    # A request the server rejects as malformed fails the same way again; everything else (down, timeout,
    # 5xx, a broken response) may pass on a retry.
    return replies()["model_error"], not isinstance(exc, LLMRequestError)
