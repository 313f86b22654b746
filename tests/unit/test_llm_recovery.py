"""Tool-call recovery from Qwen text output, schema validation, and the streaming recovery."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool

from agent.llm.recovery import recover_tool_calls, tool_specs, validate_arguments, validate_tool_calls
from agent.llm.streaming import INVALID_CALLS_KEY, StreamingToolCallRecovery


@tool
def get_order(order_id: str) -> str:
    """Look up one order by its id."""
    return ""


@tool
def search_products(query: str, tags: list[str] | None = None, sort: Literal["price", "rating"] = "price") -> str:
    """Search the catalogue."""
    return ""


RETURN_SCHEMA = {
    "type": "function",
    "function": {
        "name": "start_return",
        "description": "Start a return.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string"},
                "items": {"type": "array", "items": {"type": "string"}},
                "reason": {"type": "string", "enum": ["damaged", "wrong_item", "changed_mind"]},
            },
            "required": ["order_id", "items", "reason"],
            "additionalProperties": False,
        },
    },
}

TOOLS = [get_order, search_products, RETURN_SCHEMA]

G = ("get_order", {"order_id": "A-1001"})

# (id, text, expected valid calls [(name, args)], expected invalid [(name, error fragment)], expected content)
CORPUS = [
    ("tagged", '<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n</tool_call>', [G], [], ""),
    ("tagged-multi",
     '<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n</tool_call>\n'
     '<tool_call>\n{"name": "search_products", "arguments": {"query": "mug", "tags": ["blue"]}}\n</tool_call>',
     [G, ("search_products", {"query": "mug", "tags": ["blue"]})], [], ""),
    ("tagged-unclosed",
     '<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n</tool_call>\n'
     '<tool_call>\n{"name": "search_products", "arguments": {"query": "mug"}}',
     [G, ("search_products", {"query": "mug"})], [], ""),
    ("tagged-text-around",
     'Sure, let me check that.\n<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n'
     '</tool_call>\nOne moment please.',
     [G], [], "Sure, let me check that.\n\nOne moment please."),
    ("bare", '{"name": "get_order", "arguments": {"order_id": "A-1001"}}', [G], [], ""),
    ("bare-parameters", '{"name": "get_order", "parameters": {"order_id": "A-1001"}}', [G], [], ""),
    ("bare-args-string", '{"name": "get_order", "arguments": "{\\"order_id\\": \\"A-1001\\"}"}', [G], [], ""),
    ("fenced", 'I will look it up.\n```json\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n```',
     [G], [], "I will look it up."),
    ("fenced-no-lang", '```\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n```', [G], [], ""),
    ("list", '[{"name": "get_order", "arguments": {"order_id": "A-1001"}}, '
             '{"name": "get_order", "arguments": {"order_id": "A-1002"}}]',
     [G, ("get_order", {"order_id": "A-1002"})], [], ""),
    ("openai-shape", '{"type": "function", "function": {"name": "get_order", "arguments": "{\\"order_id\\": \\"A-1001\\"}"}}',
     [G], [], ""),
    ("text-before-bare", 'Checking now: {"name": "get_order", "arguments": {"order_id": "A-1001"}} done',
     [G], [], "Checking now:  done"),
    ("duplicate", '{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n'
                  '{"name": "get_order", "arguments": {"order_id": "A-1001"}}', [G], [], ""),
    ("unknown-tool", '<tool_call>\n{"name": "refund_everything", "arguments": {"order_id": "A-1"}}\n</tool_call>',
     [], [("refund_everything", "Unknown tool 'refund_everything'. Available tools: get_order, search_products, "
                                "start_return.")], ""),
    ("missing-required", '{"name": "get_order", "arguments": {}}', [],
     [("get_order", "Argument 'order_id' is required.")], ""),
    ("wrong-type", '{"name": "get_order", "arguments": {"order_id": 1001}}', [],
     [("get_order", "Argument 'order_id' must be a string.")], ""),
    ("array-of-strings-wrong", '{"name": "start_return", "arguments": {"order_id": "A-1", "items": "mug", '
                               '"reason": "damaged"}}', [],
     [("start_return", "Argument 'items' must be a list.")], ""),
    ("array-item-wrong", '{"name": "start_return", "arguments": {"order_id": "A-1", "items": [3], '
                         '"reason": "damaged"}}', [],
     [("start_return", "Argument 'items[0]' must be a string.")], ""),
    ("enum-violation", '{"name": "start_return", "arguments": {"order_id": "A-1", "items": ["mug"], '
                       '"reason": "broken"}}', [],
     [("start_return", 'Argument \'reason\' must be one of "damaged", "wrong_item", "changed_mind".')], ""),
    ("extra-key", '{"name": "get_order", "arguments": {"order_id": "A-1", "customer": "bob"}}', [],
     [("get_order", "Unexpected argument 'customer'")], ""),
    ("mixed-valid-invalid",
     '<tool_call>{"name": "get_order", "arguments": {"order_id": "A-1001"}}</tool_call>'
     '<tool_call>{"name": "search_products", "arguments": {"sort": "size"}}</tool_call>',
     [G], [("search_products", "Argument 'query' is required.")], ""),
    ("broken-json-tagged", '<tool_call>\n{"name": "get_order", "arguments": {"order_id": A-1001}}\n</tool_call>',
     [], [("get_order", "not valid JSON")], ""),
    ("cut-off-bare", 'Let me see. {"name": "get_order", "arguments": {"order_id": "A-10', [],
     [("get_order", "not valid JSON")], "Let me see."),
    ("args-not-json-string", '{"name": "get_order", "arguments": "order A-1001"}', [],
     [("get_order", "not valid JSON")], ""),
    ("optional-null", '{"name": "search_products", "arguments": {"query": "mug", "tags": null}}',
     [("search_products", {"query": "mug", "tags": None})], [], ""),
    # --- not calls: stay content
    ("prose-braces", "Use the code {SAVE10} at checkout; sets like {a, b} are fine.", [], [],
     "Use the code {SAVE10} at checkout; sets like {a, b} are fine."),
    ("prose-json-not-call", 'Your order data: {"order_id": "A-1", "status": "shipped"}.', [], [],
     'Your order data: {"order_id": "A-1", "status": "shipped"}.'),
    ("name-not-a-tool-no-args", 'Customer record: {"name": "Jane Doe"}', [], [], 'Customer record: {"name": "Jane Doe"}'),
    ("code-block-not-call", "Example:\n```python\nprint({1: 2})\n```", [], [], "Example:\n```python\nprint({1: 2})\n```"),
    ("plain", "Your order A-1001 has shipped.", [], [], "Your order A-1001 has shipped."),
    ("empty", "", [], [], ""),
]


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus(case):
    _id, text, valid, invalid, content = case
    result = recover_tool_calls(text, TOOLS)
    assert [(c["name"], c["args"]) for c in result.calls] == valid
    assert len(result.invalid) == len(invalid), result.invalid
    for got, (name, fragment) in zip(result.invalid, invalid, strict=True):
        assert got["name"] == name
        assert fragment in got["error"], got["error"]
        assert got["id"].startswith("call_")
        assert isinstance(got["args"], str)
    assert result.content == content
    if result.found:
        assert '"arguments"' not in result.content and "<tool_call>" not in result.content
    ids = [c["id"] for c in result.calls + result.invalid]
    assert len(set(ids)) == len(ids) and all(i.startswith("call_") and len(i) > 10 for i in ids)


def test_no_tools_offered_recovers_nothing():
    text = '{"name": "get_order", "arguments": {"order_id": "A-1"}}'
    assert recover_tool_calls(text, []).content == text
    assert not recover_tool_calls(text, None).found


def test_tool_specs_accepts_all_shapes():
    specs = tool_specs([get_order, RETURN_SCHEMA, {"name": "ping", "parameters": {"type": "object", "properties": {}}}])
    assert list(specs) == ["get_order", "start_return", "ping"]
    assert specs["get_order"].parameters["required"] == ["order_id"]


def test_validate_arguments_subset():
    schema = RETURN_SCHEMA["function"]["parameters"]
    assert validate_arguments({"order_id": "A", "items": ["x"], "reason": "damaged"}, schema) == []
    assert validate_arguments([], schema) == ["Arguments must be a JSON object."]
    assert "Argument 'order_id' is required." in validate_arguments({"items": [], "reason": "damaged"}, schema)
    assert validate_arguments({"n": True}, {"properties": {"n": {"type": "integer"}}}) == [
        "Argument 'n' must be an integer."]


def test_validate_tool_calls_on_message():
    msg = AIMessage(
        content="",
        tool_calls=[
            {"name": "get_order", "args": {"order_id": "A-1"}, "id": "c1"},
            {"name": "get_order", "args": {"order_id": "A-1"}, "id": "c1b"},  # duplicate: dropped
            {"name": "get_order", "args": {"order_id": 5}, "id": "c2"},
            {"name": "nope", "args": {}, "id": "c3"},
        ],
        invalid_tool_calls=[{"name": "get_order", "args": "{oops", "id": "c4", "error": None}],
    )
    valid, invalid = validate_tool_calls(msg, TOOLS)
    assert [(c["id"], c["args"]) for c in valid] == [("c1", {"order_id": "A-1"})]
    assert [(i["id"], i["error"]) for i in invalid] == [
        ("c2", "Argument 'order_id' must be a string."),
        ("c3", "Unknown tool 'nope'. Available tools: get_order, search_products, start_return."),
        ("c4", "Arguments of 'get_order' are not valid JSON; give them as a JSON object."),
    ]
    assert invalid[0]["args"] == '{"order_id": 5}'


# --------------------------------------------------------------------------------------------
# streaming


def _chunks(text: str, size: int) -> list[ChatGenerationChunk]:
    out = [ChatGenerationChunk(message=AIMessageChunk(content=""))]
    out += [ChatGenerationChunk(message=AIMessageChunk(content=text[i:i + size])) for i in range(0, len(text), size)]
    out.append(ChatGenerationChunk(message=AIMessageChunk(content=""), generation_info={"finish_reason": "stop"}))
    return out


def _run(text: str, size: int = 3, tools=TOOLS) -> list[ChatGenerationChunk]:
    rec = StreamingToolCallRecovery(tools)
    emitted: list[ChatGenerationChunk] = []
    for c in _chunks(text, size):
        emitted += rec.process(c)
    emitted += rec.finish()
    return emitted


def _merge(chunks: list[ChatGenerationChunk]) -> AIMessageChunk:
    msg = chunks[0].message
    for c in chunks[1:]:
        msg = msg + c.message
    return msg


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_stream_prose_passes_through_as_it_comes(size):
    text = "Your order A-1001 shipped on Monday. It should arrive {soon}."
    emitted = _run(text, size)
    contents = [c.message.content for c in emitted if c.message.content]
    assert "".join(contents) == text
    if size <= 7:
        assert len(contents) > 5  # streamed, not buffered until the end


@pytest.mark.parametrize("size", [1, 2, 5, 1000])
@pytest.mark.parametrize("text", [
    '<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n</tool_call>',
    '  {"name": "get_order", "arguments": {"order_id": "A-1001"}}',
    '```json\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}\n```',
    '[{"name": "get_order", "arguments": {"order_id": "A-1001"}}]',
], ids=["tagged", "bare", "fenced", "list"])
def test_stream_call_buffered_and_emitted_once(text, size):
    emitted = _run(text, size)
    assert all(not c.message.content for c in emitted)  # no raw JSON ever shown
    with_calls = [c for c in emitted if c.message.tool_call_chunks]
    assert len(with_calls) == 1
    [tcc] = with_calls[0].message.tool_call_chunks
    assert tcc["name"] == "get_order" and json.loads(tcc["args"]) == {"order_id": "A-1001"}
    assert tcc["index"] == 0 and tcc["id"].startswith("call_")
    merged = _merge(emitted)
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [G]
    assert any((c.generation_info or {}).get("finish_reason") == "stop" for c in emitted)  # metadata kept


def test_stream_text_then_call_midway():
    text = 'Let me check that for you.\n<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-1001"}}'
    emitted = _run(text, 4)
    shown = "".join(c.message.content for c in emitted)
    assert shown == "Let me check that for you."
    assert [(c["name"], c["args"]) for c in _merge(emitted).tool_calls] == [G]


def test_stream_two_calls_get_distinct_indexes():
    text = ('<tool_call>{"name": "get_order", "arguments": {"order_id": "A-1001"}}</tool_call>\n'
            '<tool_call>{"name": "search_products", "arguments": {"query": "mug"}}</tool_call>')
    merged = _merge(_run(text, 6))
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [G, ("search_products", {"query": "mug"})]
    assert [t["index"] for t in merged.tool_call_chunks] == [0, 1]


def test_stream_invalid_call_not_emitted_as_tool_call_chunk():
    emitted = _run('{"name": "refund_everything", "arguments": {}}', 5)
    merged = _merge(emitted)
    assert merged.tool_calls == [] and merged.content == ""
    [bad] = merged.additional_kwargs[INVALID_CALLS_KEY]
    assert bad["error"].startswith("Unknown tool 'refund_everything'")


def test_stream_buffered_non_call_is_emitted_as_content():
    text = '{"order_id": "A-1", "status": "shipped"} is what I found.'
    emitted = _run(text, 4)
    assert "".join(c.message.content for c in emitted) == text
    assert not _merge(emitted).tool_calls


def test_stream_without_tools_is_untouched():
    text = '{"name": "get_order", "arguments": {"order_id": "A-1001"}}'
    chunks = _chunks(text, 4)
    rec = StreamingToolCallRecovery([])
    emitted = [o for c in chunks for o in rec.process(c)] + rec.finish()
    assert emitted == chunks


def test_stream_structured_chunks_pass_untouched():
    rec = StreamingToolCallRecovery(TOOLS)
    first = ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
        {"name": "get_order", "args": '{"order_', "id": "srv1", "index": 0}]))
    second = ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
        {"name": None, "args": 'id": "A-1001"}', "id": None, "index": 0}]))
    out = rec.process(first) + rec.process(second) + rec.finish()
    assert out == [first, second]
    assert _merge(out).tool_calls[0]["args"] == {"order_id": "A-1001"}


def test_product_tools_are_checked_with_their_declared_pydantic_models():
    from agent.llm.arguments import arguments_model
    from graphs.state import Stage
    from graphs.tool_layer import stage_tool_specs
    from tools.catalog import TOOL_ARGS

    offered = {t["function"]["name"]: t["function"]["parameters"] for t in stage_tool_specs(Stage.ORDER_DESK)}
    assert arguments_model("get_order_details", offered["get_order_details"]) is TOOL_ARGS["get_order_details"]
    # Same name, other arguments: a caller's own tool, checked against the schema it offered.
    other = {"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]}
    assert arguments_model("get_order_details", other) is not TOOL_ARGS["get_order_details"]
    assert validate_arguments({"order_id": 1234567}, offered["get_order_details"], "get_order_details") == [
        "Argument 'order_id' must be a string."]
    assert validate_arguments({"order_id": "#W1", "x": 1}, offered["get_order_details"], "get_order_details")[0] \
        .startswith("Unexpected argument 'x'")
