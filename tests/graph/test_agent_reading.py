"""Issue 15: the agent dialogue may read each message into the same request plan as the flows before its loop
(``DESKGRAPH_AGENT_UNDERSTAND``), so both modes can be compared on one reading."""

from __future__ import annotations

import asyncio
import json

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.testing import ScriptedChatModel
from graphs import GraphOptions, build_support_graph
from tests.fixtures_data import small_dataset
from tools import RetailStore


def _run(option: bool, tmp_path) -> ScriptedChatModel:
    store = RetailStore.open(tmp_path / f"s{option}.db")
    store.load_json(small_dataset())
    reading = json.dumps({"act": "request", "tasks": ["return"], "all_items": True,
                          "except_items": ["the mug"]})
    model = ScriptedChatModel([reading, "Which order is it?"] if option else ["Which order is it?"])
    graph = build_support_graph(model=model, store=store, checkpointer=InMemorySaver(),
                                options=GraphOptions(dialogue="agent", agent_understand=option))
    text = "Please return everything except the mug."
    asyncio.run(graph.ainvoke({"messages": [HumanMessage(text)]}, {"configurable": {"thread_id": "t"}}))
    model.assert_complete()
    store.close()
    return model


def test_the_agent_sees_the_request_plan_after_its_history(tmp_path):
    model = _run(True, tmp_path)
    agent_messages, _ = model.requests[-1]
    last = agent_messages[-1]
    assert isinstance(last, SystemMessage) and '"except_items": ["the mug"]' in last.content
    assert '"all_items": true' in last.content


def test_without_the_setting_the_agent_is_asked_alone(tmp_path):
    model = _run(False, tmp_path)
    assert len(model.requests) == 1
    assert not any("request plan" in str(m.content) for m in model.requests[0][0])
