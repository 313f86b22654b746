"""The model layer: chat-model client with Qwen tool-call recovery, embedded llama.cpp server, model pull."""

from agent.llm.client import QwenChatOpenAI, build_chat_model, finalize_message
from agent.llm.errors import (
    LLMConnectionError,
    LLMContextOverflowError,
    LLMError,
    LLMModelNotFoundError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from agent.llm.pull import PullError, pull_model
from agent.llm.recovery import RecoveryResult, recover_tool_calls, validate_tool_calls
from agent.llm.server import ModelServerError, model_server
from agent.llm.streaming import StreamingToolCallRecovery

__all__ = [
    "LLMConnectionError",
    "LLMContextOverflowError",
    "LLMError",
    "LLMModelNotFoundError",
    "LLMRequestError",
    "LLMResponseError",
    "LLMServerError",
    "LLMTimeoutError",
    "ModelServerError",
    "PullError",
    "QwenChatOpenAI",
    "RecoveryResult",
    "StreamingToolCallRecovery",
    "build_chat_model",
    "finalize_message",
    "model_server",
    "pull_model",
    "recover_tool_calls",
    "validate_tool_calls",
]
