"""Issue 10, point 8: /metrics in Prometheus text for operators, counted from the runtime's events and the
model's usage; one JSON log line per turn."""

from __future__ import annotations

import json
import logging

from agent.observability import REGISTRY, JsonFormatter
from agent.testing import ScriptedChatModel, tool_call
from tests.graph.api_support import LENA, client, customer_headers, operator_headers, shop_settings


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_turns_tools_confirmations_and_escalations(tmp_path, caplog):
    settings = shop_settings(tmp_path)
    before = {
        "turns": _value("deskgraph_turns_total", stage="order_desk", outcome="ok"),
        "latency": _value("deskgraph_turn_latency_seconds_count", stage="order_desk"),
        "models": _value("deskgraph_model_calls_total", stage="order_desk"),
        "tool": _value("deskgraph_tool_calls_total", tool="get_order_details", stage="order_desk"),
        "tool_err": _value("deskgraph_tool_errors_total", tool="get_order_details", stage="order_desk"),
        "asked": _value("deskgraph_confirmations_total", tool="cancel_pending_order", decision="asked"),
        "declined": _value("deskgraph_confirmations_total", tool="cancel_pending_order", decision="declined"),
        "escalated": _value("deskgraph_escalations_total", stage="order_desk"),
        "busy": _value("deskgraph_turns_refused_total", reason="busy"),
    }
    model = ScriptedChatModel(["Hello Lena.", tool_call("get_order_details", order_id="#W9999999"), "No such order.",
                               tool_call("transfer_to_escalation", reason="wants a human"),
                               tool_call("transfer_to_human_agents", summary="Lena wants a human.")])
    caplog.set_level(logging.INFO, logger="agent.turns")
    async with client(settings, model) as c:
        lena, op = customer_headers(LENA), operator_headers(settings)
        await c.post("/threads/m1/messages", json={"text": "hi"}, headers=lena)
        await c.post("/threads/m1/messages", json={"text": "and my other order?"}, headers=lena)
        await c.post("/threads/m1/messages", json={"text": "cancel #W1000001, ordered by mistake"}, headers=lena)
        await c.post("/threads/m1/confirmation", json={"approved": False}, headers=lena)
        await c.post("/threads/m1/messages", json={"text": "I want a human"}, headers=lena)
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers=lena)).status_code == 403
        r = await c.get("/metrics", headers=op)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "deskgraph_turn_latency_seconds_bucket" in r.text and "# TYPE deskgraph_turns_total counter" in r.text
    assert _value("deskgraph_turns_total", stage="order_desk", outcome="ok") - before["turns"] >= 2
    assert _value("deskgraph_turn_latency_seconds_count", stage="order_desk") - before["latency"] >= 4
    assert _value("deskgraph_model_calls_total", stage="order_desk") - before["models"] >= 4
    assert _value("deskgraph_tool_calls_total", tool="get_order_details", stage="order_desk") - before["tool"] >= 1
    assert _value("deskgraph_tool_errors_total", tool="get_order_details", stage="order_desk") > before["tool_err"]
    assert _value("deskgraph_confirmations_total", tool="cancel_pending_order", decision="asked") == \
        before["asked"] + 1
    assert _value("deskgraph_confirmations_total", tool="cancel_pending_order", decision="declined") == \
        before["declined"] + 1
    assert _value("deskgraph_escalations_total", stage="order_desk") == before["escalated"] + 1
    lines = [json.loads(JsonFormatter().format(rec)) for rec in caplog.records if rec.getMessage() == "turn finished"]
    assert len(lines) == 5 and all(line["thread_id"] == "m1" and "latency_ms" in line and line["stage"]
                                   for line in lines)
    model.assert_complete()


async def test_each_model_answer_and_its_tokens_count_once_under_the_turns_stage(tmp_path):
    """The runtime's model counts each answer for the turn that asked (observer.count_model_answer): one call and
    the tokens the server reported, under the stage the turn was in; a model answer outside a turn counts nothing."""
    from langchain_core.messages import AIMessage

    from agent.runtime import SupportRuntime
    from agent.runtime.observer import count_model_answer

    usage = {"input_tokens": 31, "output_tokens": 5, "total_tokens": 36}
    model = ScriptedChatModel([AIMessage("Hello, how can I help?", usage_metadata=usage)])
    before = [_value("deskgraph_model_calls_total", stage="intake"),
              _value("deskgraph_model_tokens_total", stage="intake", direction="input"),
              _value("deskgraph_model_tokens_total", stage="intake", direction="output")]
    async with SupportRuntime.open(shop_settings(tmp_path, dialogue="agent"), model=model) as runtime:
        [event async for event in runtime.send("t", "hello")]
        after = [_value("deskgraph_model_calls_total", stage="intake"),
                 _value("deskgraph_model_tokens_total", stage="intake", direction="input"),
                 _value("deskgraph_model_tokens_total", stage="intake", direction="output")]
        assert [a - b for a, b in zip(after, before, strict=True)] == [1, 31, 5]
    count_model_answer({"configurable": {"thread_id": "t"}}, AIMessage("asked outside a turn", usage_metadata=usage))
    assert _value("deskgraph_model_calls_total", stage="intake") == after[0]
    model.assert_complete()
