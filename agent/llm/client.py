"""The chat model: ``ChatOpenAI`` against any OpenAI-compatible server, with Qwen tool-call recovery.

``build_chat_model(settings)`` is the only constructor the rest of deskgraph uses. The returned
``QwenChatOpenAI`` behaves like ``ChatOpenAI`` (``bind_tools``, ``ainvoke``, ``astream``, LangGraph's
``stream_mode="messages"``) and additionally:

* recovers tool calls written as text (``<tool_call>`` tags, bare/fenced JSON) for the tools offered in
  the request, in both the streaming and the non-streaming path (see :mod:`agent.llm.recovery`);
* validates every call (structured or recovered) against the tool schemas: bad ones land in
  ``AIMessage.invalid_tool_calls`` with a corrective ``error`` text and never as raw JSON content;
* raises :class:`agent.llm.errors.LLMError` subclasses with one-line messages on every failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import aiohttp
import httpx
import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr

from agent.llm import direct
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
from agent.llm.recovery import recover_tool_calls, validate_tool_calls
from agent.llm.streaming import INVALID_CALLS_KEY, RECOVERED_KEY, StreamingToolCallRecovery
from agent.llm.transport import ChatCompletions, ModelHTTPError, ModelStreamError

__all__ = ["QwenChatOpenAI", "build_chat_model", "finalize_message"]

_CONTEXT_WORDS = ("context length", "context size", "context window", "maximum context", "max_model_len",
                  "too many tokens", "context_length_exceeded")


def _translate(exc: BaseException, base_url: str, model: str, timeout: Any) -> LLMError | None:
    """Map an openai/httpx/parsing exception to an LLMError with a one-line message (None: not ours)."""
    where = f"model server {base_url}"
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return LLMTimeoutError(f"No answer from the {where} within {timeout} s (DESKGRAPH_LLM_TIMEOUT).",
                               base_url=base_url)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | aiohttp.ClientConnectionError
                  | aiohttp.ClientPayloadError):
        return LLMConnectionError(
            f"Cannot reach the {where}: {exc.__class__.__name__}: {exc}. Is it running? "
            "Check DESKGRAPH_LLM_BASE_URL or run `deskgraph doctor`.",
            base_url=base_url,
        )
    if isinstance(exc, ModelStreamError):
        return LLMServerError(f"The {where} failed mid-answer: {str(exc)[:300]}", base_url=base_url)
    if isinstance(exc, openai.APIStatusError | ModelHTTPError):
        status = exc.status_code
        detail = (getattr(exc, "message", None) or str(exc))[:300]
        if status == 404:
            return LLMModelNotFoundError(
                f"The {where} answered 404 for model '{model}': {detail}. "
                "Compare DESKGRAPH_LLM_MODEL with the served model name (GET /v1/models).",
                base_url=base_url, status_code=status,
            )
        if status in (400, 413, 422):
            cls = LLMContextOverflowError if any(w in detail.lower() for w in _CONTEXT_WORDS) else LLMRequestError
            return cls(f"The {where} rejected the request (HTTP {status}): {detail}", base_url=base_url,
                       status_code=status)
        return LLMServerError(f"The {where} failed with HTTP {status}: {detail}", base_url=base_url,
                              status_code=status)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | ValueError | KeyError | TypeError
                  | IndexError):
        return LLMResponseError(
            f"The {where} sent a response that is not a valid chat completion: "
            f"{exc.__class__.__name__}: {str(exc)[:200]}",
            base_url=base_url,
        )
    return None


def finalize_message(message: AIMessage, tools: Sequence[Any] | None) -> AIMessage:
    """Last step for every reply: recovered-invalid calls from a stream into ``invalid_tool_calls``,
    text calls recovered when the server gave none, and every call validated against ``tools``."""
    extra = dict(message.additional_kwargs)
    stored = extra.pop(INVALID_CALLS_KEY, None) or []
    content = message.content
    tool_calls = list(message.tool_calls)
    invalid = list(message.invalid_tool_calls)
    metadata = dict(message.response_metadata)
    if tools and not tool_calls and not invalid and not stored and isinstance(content, str):
        result = recover_tool_calls(content, tools)
        if result.found:
            content, tool_calls, invalid = result.content, result.calls, result.invalid
            metadata[RECOVERED_KEY] = True
    if tools and (tool_calls or invalid):
        probe = AIMessage(content="", tool_calls=tool_calls, invalid_tool_calls=invalid)
        tool_calls, invalid = validate_tool_calls(probe, tools)
    invalid += [s for s in stored if isinstance(s, dict)]  # type: ignore[misc]
    if (
        content == message.content
        and tool_calls == message.tool_calls
        and invalid == message.invalid_tool_calls
        and INVALID_CALLS_KEY not in message.additional_kwargs
    ):
        return message
    return AIMessage(
        content=content,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        additional_kwargs=extra,
        response_metadata=metadata,
        usage_metadata=message.usage_metadata,
        id=message.id,
        name=message.name,
    )


def _finalize_result(result: ChatResult, tools: Sequence[Any] | None) -> ChatResult:
    gens = []
    for gen in result.generations:
        msg = gen.message
        if isinstance(msg, AIMessage):
            new = finalize_message(msg, tools)
            if new is not msg:
                info = dict(gen.generation_info or {})
                if new.tool_calls and info.get("finish_reason") == "stop":
                    info["finish_reason"] = "tool_calls"
                gen = ChatGeneration(message=new, generation_info=info or None)
        gens.append(gen)
    return ChatResult(generations=gens, llm_output=result.llm_output)


def _messages_as_extra_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The request's messages handed to the SDK as ``extra_body``: the same JSON goes to the server.

    Why: the SDK walks every argument of a request through its TypedDicts before sending it (to rename aliased
    keys and format dates and files, none of which a chat message has); for the messages, a union of six message
    types tried one after the other, that walk was about a third of the client's CPU per request. ``extra_body`` is
    merged over the body as it is (its keys win, in the body's order), so the ``messages`` argument the SDK
    requires stays an empty list that the merge replaces (``test_internals_contract`` checks the merge).
    """
    if not payload.get("messages"):
        return payload
    extra = {**(payload.get("extra_body") or {}), "messages": payload["messages"]}
    return {**payload, "messages": [], "extra_body": extra}


class QwenChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` for Qwen on vLLM / llama.cpp, with tool-call recovery and clear errors."""

    recover_text_tool_calls: bool = True
    """Recover calls written as text (off: only structured ``tool_calls`` are used)."""

    _direct_completions: ChatCompletions | None = PrivateAttr(default=None)
    """The async requests' HTTP transport (agent.llm.direct), made on first use."""

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        # OpenAI renamed max_tokens; vLLM and llama.cpp servers take the classic name everywhere.
        if "max_completion_tokens" in payload and "max_tokens" not in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return _messages_as_extra_body(payload)

    # -- errors ---------------------------------------------------------------------------
    def _error(self, exc: BaseException) -> LLMError | None:
        timeout = self.request_timeout
        if isinstance(timeout, httpx.Timeout):
            timeout = timeout.read
        return _translate(exc, str(self.openai_api_base or "https://api.openai.com/v1"), self.model_name, timeout)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except LLMError:
            raise
        except Exception as exc:
            err = self._error(exc)
            if err is None:
                raise
            raise err from exc

    @staticmethod
    def _check_result(result: ChatResult) -> ChatResult:
        if not result.generations:
            raise LLMResponseError("The model server returned a completion with an empty 'choices' list.")
        return result

    # -- non-streaming --------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._errors():
            result = self._check_result(super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs))
        return _finalize_result(result, kwargs.get("tools") if self.recover_text_tool_calls else None)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._errors():
            completions = direct.completions_for(self, kwargs)
            result = self._check_result(
                await direct.agenerate(self, completions, messages, stop, **kwargs) if completions
                else await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
            )
        return _finalize_result(result, kwargs.get("tools") if self.recover_text_tool_calls else None)

    # The streaming path assembles the final message in BaseChatModel; fix it up there.
    def _generate_with_cache(self, messages: list[BaseMessage], stop: list[str] | None = None,
                             run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        result = super()._generate_with_cache(messages, stop=stop, run_manager=run_manager, **kwargs)
        return _finalize_result(result, kwargs.get("tools") if self.recover_text_tool_calls else None)

    async def _agenerate_with_cache(self, messages: list[BaseMessage], stop: list[str] | None = None,
                                    run_manager: AsyncCallbackManagerForLLMRun | None = None,
                                    **kwargs: Any) -> ChatResult:
        result = await super()._agenerate_with_cache(messages, stop=stop, run_manager=run_manager, **kwargs)
        return _finalize_result(result, kwargs.get("tools") if self.recover_text_tool_calls else None)

    # -- streaming ------------------------------------------------------------------------
    # The parent is called WITHOUT run_manager: it would report raw tokens (tool-call JSON) to the callbacks.
    # We report what we yield, exactly as the parent would have done.
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        recovery = StreamingToolCallRecovery(kwargs.get("tools") if self.recover_text_tool_calls else None)
        got_choice = False
        with self._errors():
            for chunk in super()._stream(messages, stop=stop, **kwargs):
                got_choice = got_choice or _has_choice(chunk)
                for out in recovery.process(chunk):
                    if run_manager:
                        run_manager.on_llm_new_token(out.text, chunk=out)
                    yield out
            if not got_choice:
                raise LLMResponseError("The model server's stream ended without any choice (empty 'choices').")
        for out in recovery.finish():
            if run_manager:
                run_manager.on_llm_new_token(out.text, chunk=out)
            yield out

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        recovery = StreamingToolCallRecovery(kwargs.get("tools") if self.recover_text_tool_calls else None)
        got_choice = False
        with self._errors():
            completions = direct.completions_for(self, kwargs, streaming=True)
            chunks = (direct.astream(self, completions, messages, stop, **kwargs) if completions
                      else super()._astream(messages, stop=stop, **kwargs))
            async for chunk in chunks:
                got_choice = got_choice or _has_choice(chunk)
                for out in recovery.process(chunk):
                    if run_manager:
                        await run_manager.on_llm_new_token(out.text, chunk=out)
                    yield out
            if not got_choice:
                raise LLMResponseError("The model server's stream ended without any choice (empty 'choices').")
        for out in recovery.finish():
            if run_manager:
                await run_manager.on_llm_new_token(out.text, chunk=out)
            yield out


def _has_choice(chunk: ChatGenerationChunk) -> bool:
    msg = chunk.message
    return bool(
        msg.content
        or getattr(msg, "tool_call_chunks", None)
        or (chunk.generation_info or {}).get("finish_reason")
        or msg.response_metadata.get("finish_reason")
    )


def build_chat_model(settings: Any, *, base_url: str | None = None) -> BaseChatModel:
    """The chat model for ``settings``: a :class:`QwenChatOpenAI` on ``base_url`` (or ``settings.llm_base_url``).

    With the embedded model, get the URL from ``with model_server(settings) as base_url:``.
    """
    url = (base_url or settings.llm_base_url or "").strip()
    if not url:
        raise LLMConnectionError(
            "No model server URL: set DESKGRAPH_LLM_BASE_URL, or start the embedded model with "
            "`with agent.llm.model_server(settings) as base_url:` and pass base_url."
        )
    return QwenChatOpenAI(
        model=settings.effective_model,
        base_url=url,
        api_key=settings.llm_api_key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        # An httpx.Timeout (unhashable) makes langchain-openai build a client per model instead of sharing one
        # process-wide async client, whose pooled connections are bound to the first event loop that used it
        # (a second asyncio.run / pytest-asyncio test would fail with "Event loop is closed").
        timeout=httpx.Timeout(settings.llm_timeout, connect=min(10.0, settings.llm_timeout)),
        max_retries=settings.llm_max_retries,
        stream_usage=True,
    )
