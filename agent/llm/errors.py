"""Clear, catchable model-client errors.

Each one also derives from LangChain's provider-neutral ``Model*Error`` so code that catches those works.
``LLMError`` is the one to catch for "the model call failed".
"""

from __future__ import annotations

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelTimeoutError,
)

__all__ = [
    "LLMConnectionError",
    "LLMContextOverflowError",
    "LLMError",
    "LLMModelNotFoundError",
    "LLMRequestError",
    "LLMResponseError",
    "LLMServerError",
    "LLMTimeoutError",
]


class LLMError(ModelError):
    """A model request failed; ``str(exc)`` says what and where in one line."""

    def __init__(self, message: str, *, base_url: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.base_url = base_url
        self.status_code = status_code


class LLMConnectionError(LLMError, ModelConnectionError):
    """The server could not be reached (refused, DNS, reset)."""


class LLMTimeoutError(LLMError, ModelTimeoutError):
    """The server did not answer within ``llm_timeout``."""


class LLMServerError(LLMError, ModelAPIError):
    """The server answered with an HTTP error status (5xx, or an unexpected 4xx)."""


class LLMRequestError(LLMError, ModelInvalidRequestError):
    """The server rejected the request (HTTP 400/422), e.g. context too long or bad tool schema."""


class LLMModelNotFoundError(LLMError, ModelNotFoundError):
    """The server does not serve the requested model name (HTTP 404)."""


class LLMResponseError(LLMError, ModelAPIError):
    """The server answered 200 with a body that is not a usable chat completion (bad JSON, no choices)."""


class LLMContextOverflowError(LLMRequestError, ContextOverflowError):
    """The prompt does not fit the served model's context (``--max-model-len`` / ``embedded_ctx``)."""
