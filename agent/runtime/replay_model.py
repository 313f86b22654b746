"""The model of a recorded replay: it answers every request with the response the original run got there."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import PrivateAttr

from agent.runtime.recording import RecordedResponse, asked_from


class ReplayDivergedError(RuntimeError):
    """The replay asked the model for something the original run did not ask for at that point."""


class RecordedChatModel(BaseChatModel):
    """Answers requests with recorded responses, in the order the original run got them; no server involved.

    Each request must come from the node that made the original request at that point; a request from another
    node, or one more than was recorded, is a divergence (``ReplayDivergedError``), never a made-up answer.
    """

    _queue: deque[RecordedResponse] = PrivateAttr(default_factory=deque)

    def __init__(self, responses: Sequence[RecordedResponse], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._queue = deque(responses)

    @property
    def _llm_type(self) -> str:
        return "recorded"

    @property
    def unused(self) -> list[RecordedResponse]:
        """Recorded responses the replay has not asked for (yet)."""
        return list(self._queue)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        """Nothing to bind: the recorded answer already is what the model said with these tools."""
        return self

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """The next recorded response, when it was given to the same node."""
        where = asked_from(config)
        node = where.node if where else "?"
        if not self._queue:
            raise ReplayDivergedError(f"the replay asked the model in {node}, where the original run did not")
        if self._queue[0].node != node:
            raise ReplayDivergedError(f"the replay asked the model in {node}, the original run in "
                                      f"{self._queue[0].node}")
        return self._queue.popleft().message

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """``invoke``: nothing to wait for."""
        return self.invoke(input, config, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        # Reached only by a caller that bypasses invoke (none in the graphs): answer in order all the same.
        return ChatResult(generations=[ChatGeneration(message=self.invoke(messages))])
