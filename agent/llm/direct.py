"""``QwenChatOpenAI``'s async requests sent by :mod:`agent.llm.transport` instead of the OpenAI SDK.

The body is LangChain's (``_get_request_payload``, the very dict it hands the SDK, with ``extra_body`` merged over it
as the SDK merges it) and the answer goes through LangChain's own converters (``_create_chat_result``,
``_convert_chunk_to_generation_chunk``); only the HTTP layer is ours. A request the SDK path must serve is left to it
(``None`` from :func:`completions_for`): a caller's own httpx client, the Responses API, response headers asked for,
or a ``response_format`` that is a class rather than a JSON schema (the SDK builds and parses that one).
``tests/unit/test_internals_contract.py`` checks the LangChain methods used here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai.chat_models.base import BaseChatOpenAI
from openai.types.chat import ChatCompletion

from agent.llm.transport import ChatCompletions

__all__ = ["agenerate", "astream", "completions_for"]

#: The SDK's defaults where the model sets none (openai.DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES).
_READ_TIMEOUT, _CONNECT_TIMEOUT, _MAX_RETRIES = 600.0, 5.0, 2
#: Arguments of the SDK's methods that are not part of the request body.
_NOT_BODY = ("extra_body", "extra_headers", "extra_query", "timeout")


def completions_for(model: Any, kwargs: dict[str, Any], *, streaming: bool = False) -> ChatCompletions | None:
    """The transport for a request with these call arguments, or None when the SDK path must serve it (a streamed
    ``response_format`` too: the SDK assembles that stream's final completion)."""
    merged = {**model.model_kwargs, **kwargs}
    if (model.http_async_client is not None or model.include_response_headers or model.openai_proxy
            or model._use_responses_api(merged)
            or not isinstance(merged.get("response_format", {}), dict)
            or (streaming and "response_format" in merged)):
        return None
    if model._direct_completions is None:
        model._direct_completions = _build(model)  # one per model object, as the SDK's client is
    return model._direct_completions


def _build(model: BaseChatOpenAI) -> ChatCompletions:
    read, connect = _timeouts(model.request_timeout)
    key = model.openai_api_key.get_secret_value() if model.openai_api_key else None
    headers = dict(model.default_headers or {})
    if model.openai_organization:
        headers.setdefault("OpenAI-Organization", model.openai_organization)
    return ChatCompletions(str(model.openai_api_base or "https://api.openai.com/v1"), key, read_timeout=read,
                           connect_timeout=connect,
                           max_retries=_MAX_RETRIES if model.max_retries is None else model.max_retries,
                           headers=headers, query=model.default_query)


def _timeouts(timeout: Any) -> tuple[float | None, float | None]:
    """(read, connect) seconds from the forms ``request_timeout`` takes (an httpx.Timeout, a number, a pair)."""
    if timeout is None:
        return _READ_TIMEOUT, _CONNECT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout.read, timeout.connect
    if isinstance(timeout, tuple | list):
        connect, read = timeout
        return float(read), float(connect)
    return float(timeout), float(timeout)


def _body(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON the SDK would send for ``payload``: its own arguments with ``extra_body`` merged over them."""
    body = {key: value for key, value in payload.items() if key not in _NOT_BODY}
    body.update(payload.get("extra_body") or {})
    return body


async def agenerate(model: BaseChatOpenAI, completions: ChatCompletions, messages: list[BaseMessage],
                    stop: list[str] | None, **kwargs: Any) -> ChatResult:
    """One non-streaming completion, as ``BaseChatOpenAI._agenerate`` returns it."""
    payload = model._get_request_payload(messages, stop=stop, **kwargs)
    structured = "response_format" in payload
    answer = await completions.create(_body(payload))
    result = model._create_chat_result(answer, {})
    if structured:
        _as_parse_returns(answer, result)
    return result


def _as_parse_returns(answer: dict[str, Any], result: ChatResult) -> None:
    """What the SDK's ``parse()`` adds for a JSON-schema ``response_format``: its finish-reason errors, and the
    ``parsed`` (None: a schema, not a class) and ``refusal`` keys LangChain copies into the message."""
    choices = answer.get("choices") or []
    reason = choices[0].get("finish_reason") if choices else None
    if reason in ("length", "content_filter"):
        completion = ChatCompletion.model_construct(**answer)
        raise (openai.LengthFinishReasonError(completion=completion) if reason == "length"
               else openai.ContentFilterFinishReasonError())
    if result.generations:
        extra = result.generations[0].message.additional_kwargs
        extra["parsed"] = None
        extra["refusal"] = (choices[0].get("message") or {}).get("refusal")


async def astream(model: BaseChatOpenAI, completions: ChatCompletions, messages: list[BaseMessage],
                  stop: list[str] | None, *, stream_usage: bool | None = None,
                  **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
    """One streamed completion, chunk by chunk as ``BaseChatOpenAI._astream`` yields them (without reporting
    tokens: the caller does)."""
    kwargs["stream"] = True
    if model._should_stream_usage(stream_usage, **kwargs):
        kwargs["stream_options"] = {"include_usage": True}
    payload = model._get_request_payload(messages, stop=stop, **kwargs)
    chunk_class: type = AIMessageChunk
    async for event in completions.stream(_body(payload)):
        chunk = model._convert_chunk_to_generation_chunk(event, chunk_class, {})
        if chunk is None:
            continue
        chunk_class = chunk.message.__class__
        yield chunk
