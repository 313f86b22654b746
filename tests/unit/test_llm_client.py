"""build_chat_model against the fake server: structured and recovered tool calls, streaming, LangGraph."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from agent.llm import QwenChatOpenAI, build_chat_model
from agent.settings import Settings
from tests.unit.fake_openai import FakeOpenAI, text, tool_calls


@tool
def get_order(order_id: str) -> str:
    """Look up one order by its id, e.g. A-1001."""
    return "shipped"


@tool
def search_products(query: str, sort: Literal["price", "rating"] = "price") -> str:
    """Search the catalogue."""
    return "[]"


TOOLS = [get_order, search_products]


@pytest.fixture
def fake():
    with FakeOpenAI() as f:
        yield f


@pytest.fixture
def model(fake):
    settings = Settings(llm_base_url=fake.base_url, llm_model="fake-qwen", llm_timeout=5, llm_max_retries=0,
                        llm_max_tokens=77, llm_temperature=0.1)
    return build_chat_model(settings)


def test_build_chat_model_uses_settings(fake):
    s = Settings(llm_base_url="http://elsewhere:1/v1", llm_model="m1", llm_timeout=9, llm_max_retries=3,
                 llm_max_tokens=33, llm_temperature=0.2)
    m = build_chat_model(s, base_url=fake.base_url)
    assert isinstance(m, QwenChatOpenAI)
    assert m.openai_api_base == fake.base_url
    assert (m.model_name, m.max_tokens, m.temperature, m.request_timeout.read, m.max_retries) == ("m1", 33, 0.2, 9, 3)
    assert m.stream_usage is True
    embedded = Settings(llm_base_url="", llm_model="")
    assert build_chat_model(embedded, base_url=fake.base_url).model_name == "qwen2.5-1.5b-instruct-local"


async def test_request_payload(fake, model):
    fake.push(text("hello"))
    await model.bind_tools(TOOLS).ainvoke("hi")
    req = fake.requests[-1]
    assert req["model"] == "fake-qwen" and req["max_tokens"] == 77
    assert [t["function"]["name"] for t in req["tools"]] == ["get_order", "search_products"]


@pytest.mark.parametrize("stream", [False, True])
async def test_structured_tool_calls(fake, model, stream):
    fake.push(tool_calls(("get_order", {"order_id": "A-1"}), ("search_products", {"query": "mug"})))
    bound = model.bind_tools(TOOLS)
    if stream:
        msg = None
        async for c in bound.astream("x"):
            msg = c if msg is None else msg + c
    else:
        msg = await bound.ainvoke("x")
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [
        ("get_order", {"order_id": "A-1"}), ("search_products", {"query": "mug"})]
    assert all(c["id"].startswith("call_fake") for c in msg.tool_calls)


async def test_structured_call_with_bad_args_is_invalid(fake, model):
    fake.push(tool_calls(("get_order", {"id": "A-1"})))
    msg = await model.bind_tools(TOOLS).ainvoke("x")
    assert msg.tool_calls == []
    [bad] = msg.invalid_tool_calls
    assert bad["name"] == "get_order" and "order_id' is required" in bad["error"]


QWEN_TEXT_CALL = 'Let me look.\n<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n</tool_call>'


@pytest.mark.parametrize("stream", [False, True])
async def test_text_call_recovered(fake, model, stream):
    fake.push(text(QWEN_TEXT_CALL, chunk_size=3))
    bound = model.bind_tools(TOOLS)
    if stream:
        chunks = [c async for c in bound.astream("where is A-1001")]
        assert not any("{" in str(c.content) or "tool_call" in str(c.content) for c in chunks)
        msg = chunks[0]
        for c in chunks[1:]:
            msg = msg + c
    else:
        msg = await bound.ainvoke("where is A-1001")
    assert msg.content == "Let me look."
    [call] = msg.tool_calls
    assert call["name"] == "get_order" and call["args"] == {"order_id": "A-1001"}
    assert call["id"].startswith("call_")


async def test_no_tools_no_recovery(fake, model):
    fake.push(text('{"name": "get_order", "arguments": {"order_id": "A-1"}}'))
    msg = await model.ainvoke("give json")
    assert msg.tool_calls == [] and msg.content.startswith("{")


def _graph(model):
    class State(TypedDict):
        messages: Annotated[list, add_messages]

    async def call(state: State):
        return {"messages": [await model.ainvoke(state["messages"])]}

    g = StateGraph(State)
    g.add_node("agent", call)
    g.add_edge(START, "agent")
    g.add_edge("agent", END)
    return g.compile()


async def test_langgraph_messages_stream_tokens(fake, model):
    fake.push(text("Your order has shipped and will arrive tomorrow.", chunk_size=5))
    graph = _graph(model.bind_tools(TOOLS))
    tokens = []
    async for msg, _meta in graph.astream({"messages": [HumanMessage("where?")]}, stream_mode="messages"):
        if isinstance(msg, AIMessageChunk) and msg.content:
            tokens.append(msg.content)
    assert len(tokens) >= 5
    assert "".join(tokens) == "Your order has shipped and will arrive tomorrow."


async def test_langgraph_recovered_call_streams_as_tool_call(fake, model):
    fake.push(text(QWEN_TEXT_CALL + "\n<tool_call>{\"name\": \"cancel_everything\", \"arguments\": {}}</tool_call>"))
    graph = _graph(model.bind_tools(TOOLS))
    streamed = []
    final = None
    async for mode, payload in graph.astream({"messages": [HumanMessage("where?")]},
                                             stream_mode=["messages", "values"]):
        if mode == "messages":
            streamed.append(payload[0])
        else:
            final = payload
    text_seen = "".join(str(m.content) for m in streamed)
    assert "{" not in text_seen and "<tool_call>" not in text_seen
    assert any(getattr(m, "tool_call_chunks", None) for m in streamed)
    last = final["messages"][-1]
    assert isinstance(last, AIMessage)
    assert [c["name"] for c in last.tool_calls] == ["get_order"]
    [bad] = last.invalid_tool_calls
    assert bad["name"] == "cancel_everything" and bad["error"].startswith("Unknown tool 'cancel_everything'")
    assert "deskgraph_invalid_tool_calls" not in last.additional_kwargs
    json.dumps(last.tool_calls)


def test_sync_stream_and_invoke(fake, model):
    fake.push(text(QWEN_TEXT_CALL), text("plain answer"))
    bound = model.bind_tools(TOOLS)
    chunks = list(bound.stream("x"))
    assert any(c.tool_call_chunks for c in chunks)
    assert bound.invoke("y").content == "plain answer"


def test_models_work_across_event_loops(fake):
    """Two asyncio.run() calls (like two pytest-asyncio tests) against the same server URL."""
    import asyncio

    s = Settings(llm_base_url=fake.base_url, llm_model="fake-qwen", llm_timeout=5, llm_max_retries=0)
    assert asyncio.run(build_chat_model(s).ainvoke("a")).content == "OK."
    assert asyncio.run(build_chat_model(s).ainvoke("b")).content == "OK."
