"""A strict scripted chat model: the test double for everything that needs a model but not its wits.

It replies with scripted messages in order, fails when the graph asks for more than was scripted, and
``assert_complete()`` fails when a scripted reply was left unused. It streams like a real server (text in
small chunks, tool calls as one chunk) so streaming code paths are exercised too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

Reply = AIMessage | str | Callable[[list[BaseMessage], list[str]], AIMessage | str]


class ScriptExhaustedError(AssertionError):
    """The code under test asked the model for more replies than were scripted."""


def tool_call(name: str, **args: Any) -> AIMessage:
    """A scripted reply that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}",
                                              "type": "tool_call"}])


class ScriptedChatModel(BaseChatModel):
    """Replies from a script; records every request (messages and offered tool names)."""

    _script: list[Reply] = PrivateAttr(default_factory=list)
    _requests: list[tuple[list[BaseMessage], list[str]]] = PrivateAttr(default_factory=list)

    def __init__(self, script: Sequence[Reply] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._script = list(script)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def requests(self) -> list[tuple[list[BaseMessage], list[str]]]:
        """Every request so far: the messages sent and the names of the tools offered."""
        return self._requests

    def extend(self, replies: Sequence[Reply]) -> None:
        """Script more replies (e.g. for a later turn)."""
        self._script.extend(replies)

    def assert_complete(self) -> None:
        """Fail when scripted replies were left unused."""
        if self._script:
            raise AssertionError(f"{len(self._script)} scripted repl(ies) unused: {self._script!r}")

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):  # noqa: ANN201 - a Runnable binding
        """Remember the offered tools per request, as a real model's bind_tools would send them."""
        return self.bind(tools=list(tools), **kwargs)

    def _next(self, messages: list[BaseMessage], tools: list[Any] | None) -> AIMessage:
        names = [t["function"]["name"] if isinstance(t, dict) else getattr(t, "name", str(t)) for t in tools or []]
        self._requests.append((list(messages), names))
        if not self._script:
            last = messages[-1].content if messages else ""
            raise ScriptExhaustedError(f"model asked for an unscripted reply (last message: {last!r})")
        reply = self._script.pop(0)
        if callable(reply) and not isinstance(reply, AIMessage):
            reply = reply(list(messages), names)
        if isinstance(reply, str):
            reply = AIMessage(content=reply)
        return reply.model_copy(update={"id": reply.id or f"run-{uuid.uuid4()}"})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages, kwargs.get("tools")))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        reply = self._next(messages, kwargs.get("tools"))
        text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        pieces = [text[i:i + 8] for i in range(0, len(text), 8)] or [""]
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece, id=reply.id))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        if reply.tool_calls:
            chunks = [{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i,
                       "type": "tool_call_chunk"} for i, c in enumerate(reply.tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", id=reply.id, tool_call_chunks=chunks))
        if reply.usage_metadata:  # as a server asked for its usage sends it: in a last chunk of its own
            yield ChatGenerationChunk(message=AIMessageChunk(content="", id=reply.id,
                                                             usage_metadata=reply.usage_metadata))


class PerfectUnderstandingModel(BaseChatModel):
    """The "perfect understanding" double of the flows dialogue: it answers every understanding request
    (a request with a ``response_format``) with the annotated understanding of the customer's message, and
    every other request (an open question) with a fixed, fact-free sentence. With it, a scenario fails only
    when the dialogue code is wrong."""

    _understandings: dict[str, str] = PrivateAttr(default_factory=dict)
    _misses: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, understandings: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._understandings = {_norm(text): json.dumps(value) for text, value in understandings.items()}

    @property
    def _llm_type(self) -> str:
        return "perfect-understanding"

    @property
    def misses(self) -> list[str]:
        """Customer messages that had no annotated understanding (answered with an empty one)."""
        return self._misses

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        if kwargs.get("response_format"):
            text = next((str(m.content) for m in reversed(messages) if m.type == "human"), "")
            content = self._understandings.get(_norm(text))
            if content is None:
                self._misses.append(text)
                content = "{}"
        else:
            content = "I can help with this store's orders and products: status, changes, returns and exchanges."
        message = AIMessage(content=content, id=f"run-{uuid.uuid4()}",
                            usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        return ChatResult(generations=[ChatGeneration(message=message)])


def _norm(text: str) -> str:
    return " ".join(str(text).split()).strip().lower()


def perfect_understanding_model(understandings: dict[str, Any]) -> PerfectUnderstandingModel:
    """The perfect-understanding double for a scenario: customer message text -> its annotated understanding."""
    return PerfectUnderstandingModel(understandings)
