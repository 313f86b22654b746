"""Turns in flight in one process are not capped by the event loop's default executor.

The loop's default executor has min(32, cores + 4) threads (6 on a 2-core machine). While graph nodes were
synchronous, LangGraph ran each of them there, and the synchronous model client held a thread for the whole
model request: at most that many model requests were in flight at once. Now every node is async and the model is
awaited: 32 conversations against a model that answers in 0.5 s have (nearly) all their requests in flight at
once, in both dialogues, through the runtime every front end uses.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from agent.runtime import SupportRuntime
from tests.graph import api_support
from tests.graph.api_support import LENA, shop_settings

CONVERSATIONS = 32
LATENCY = 0.5
DEFAULT_EXECUTOR_THREADS = min(32, (os.cpu_count() or 1) + 4)


class SlowModel(BaseChatModel):
    """Answers every request after ``LATENCY`` seconds (an empty reading for the flows, a reply otherwise) and
    counts the requests in flight."""

    _in_flight: int = PrivateAttr(default=0)
    _peak: int = PrivateAttr(default=0)
    _requests: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "slow"

    @property
    def peak(self) -> int:
        return self._peak

    @property
    def requests(self) -> int:
        return self._requests

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:  # the agent dialogue offers tools
        return self.bind(tools=list(tools), **kwargs)

    def _reply(self, kwargs: dict[str, Any]) -> ChatResult:
        content = "{}" if kwargs.get("response_format") else "Your order #W1000002 was delivered."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content))])

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        raise AssertionError("a node called the model synchronously")

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                         **kwargs: Any) -> ChatResult:
        self._requests += 1
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        try:
            await asyncio.sleep(LATENCY)
        finally:
            self._in_flight -= 1
        return self._reply(kwargs)


@pytest.mark.parametrize("dialogue", ["flows", "agent"])
async def test_32_conversations_keep_more_model_requests_in_flight_than_the_default_executor_has_threads(
        tmp_path, dialogue):
    model = SlowModel()
    settings = shop_settings(tmp_path, dialogue=dialogue)
    async with SupportRuntime.open(settings, model=model) as runtime:
        outcomes = await asyncio.gather(*[
            runtime.turn(f"c{n}", "Was my order #W1000002 delivered? And where is it now?", customer_id=LENA)
            for n in range(CONVERSATIONS)])
    assert all(outcome.reply and "error" not in [e.kind for e in outcome.events] for outcome in outcomes)
    assert model.requests >= CONVERSATIONS
    assert model.peak > DEFAULT_EXECUTOR_THREADS, (model.peak, DEFAULT_EXECUTOR_THREADS)
    assert model.peak >= CONVERSATIONS * 3 // 4  # not merely above the cap: nearly every conversation at once


@pytest.mark.parametrize("dialogue", ["flows", "agent"])
async def test_a_turn_takes_no_thread_of_the_loops_default_executor(tmp_path, dialogue, monkeypatch):
    """Not a routing function of a conditional edge (LangGraph runs a synchronous one there), not a customer
    token's check, not the model request (aiohttp's proxy lookup): through the API, as a signed-in customer."""
    monkeypatch.setitem(globals(), "LATENCY", 0.01)  # SlowModel's, at once
    settings = shop_settings(tmp_path, dialogue=dialogue, api_auth="on")
    async with api_support.client(settings, SlowModel()) as client:
        loop = asyncio.get_running_loop()
        hops: list[object] = []
        real = loop.run_in_executor

        def counted(executor, fn, *args):  # noqa: ANN001, ANN202
            if executor is None:
                hops.append(getattr(fn, "func", fn))
            return real(executor, fn, *args)

        monkeypatch.setattr(loop, "run_in_executor", counted)
        for text in ("Was my order #W1000002 delivered?", "And where is it now?"):
            answer = await client.post("/threads/t1/messages", json={"text": text},
                                       headers=api_support.customer_headers(LENA))
            assert answer.status_code == 200 and '"reply"' in answer.text, answer.text[-300:]
    assert hops == []
