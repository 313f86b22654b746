"""Contracts with the private LangGraph / langchain internals the code leans on.

Each test pins down one assumption of agent/runtime/checkpoints.py (``_DeltaSnapshot``, ``DeltaChannel``
replay, ``writes_sort_key``, the saver hooks), graphs/messages.py (``_messages_delta_reducer``) or
agent/llm/client.py (the private ``ChatOpenAI`` / ``BaseChatModel`` methods ``QwenChatOpenAI`` overrides), on
a tiny example. They fail with the pinned version to check when an upgrade changes one: read the new
release's code for that internal, adapt ours, then raise the pin in pyproject.toml and refresh the lock.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, TypedDict

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, RemoveMessage
from langchain_core.tools import tool

REPO = Path(__file__).resolve().parents[2]
_DEPENDENCIES = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
PINS = {d.split("==")[0]: d.split("==")[1] for d in _DEPENDENCIES if "==" in d}
INTERNALS_OF = ["langgraph", "langgraph-checkpoint", "langgraph-checkpoint-sqlite", "langchain-core",
                "langchain-openai", "openai"]


def _changed(dist: str, what: str) -> str:
    return (f"{what} -- the code relies on this in {dist}=={PINS.get(dist, '?')} (pinned in pyproject.toml; "
            f"installed: {version(dist)}). Check that release's code before changing the pin.")


# -- the pins themselves -------------------------------------------------------------------------------------
def test_internals_packages_are_pinned_and_installed_at_the_pin():
    for dist in INTERNALS_OF:
        assert dist in PINS, f"{dist} must be pinned exactly (==) in pyproject.toml: the code uses its internals"
        assert version(dist) == PINS[dist], (
            f"{dist} {version(dist)} is installed but pyproject.toml pins {PINS[dist]}: install from the lock "
            "(scripts/bootstrap.sh), or raise the pin on purpose and run these contract tests"
        )


# -- langgraph-checkpoint: _DeltaSnapshot, DeltaChannelHistory, writes_sort_key ------------------------------
def test_delta_snapshot_holds_value_and_survives_the_serializer():
    try:
        from langgraph.checkpoint.serde.types import _DeltaSnapshot
    except ImportError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(_changed("langgraph-checkpoint", f"langgraph.checkpoint.serde.types._DeltaSnapshot is gone ({exc})"))
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    msgs = [HumanMessage("hi", id="1")]
    snap = _DeltaSnapshot(msgs)
    assert snap.value is msgs, _changed("langgraph-checkpoint", "_DeltaSnapshot(value).value no longer returns the value")
    serde = JsonPlusSerializer()
    back = serde.loads_typed(serde.dumps_typed(snap))
    assert isinstance(back, _DeltaSnapshot) and back.value == msgs, _changed(
        "langgraph-checkpoint", f"a _DeltaSnapshot read back from a blob is no longer a _DeltaSnapshot: {back!r}")


def test_writes_sort_key_orders_by_path_task_index():
    from langgraph.checkpoint.base import writes_sort_key

    params = list(inspect.signature(writes_sort_key).parameters)
    assert params == ["task_path", "task_id", "idx"], _changed("langgraph-checkpoint", f"writes_sort_key{params}")
    keys = [writes_sort_key("b", "t1", 0), writes_sort_key("a", "t2", 1), writes_sort_key("a", "t2", 0),
            writes_sort_key("a", "t1", 5)]
    assert sorted(keys) == [writes_sort_key("a", "t1", 5), writes_sort_key("a", "t2", 0),
                            writes_sort_key("a", "t2", 1), writes_sort_key("b", "t1", 0)], _changed(
        "langgraph-checkpoint", "writes_sort_key no longer orders writes by (task_path, task_id, idx)")


# -- langgraph: DeltaChannel reconstruction ------------------------------------------------------------------
def test_delta_channel_rebuilds_from_seed_and_replayed_writes():
    from langgraph.channels.delta import DeltaChannel
    from langgraph.checkpoint.serde.types import _DeltaSnapshot

    calls = []

    def reducer(state, writes):
        calls.append((list(state), list(writes)))
        return [*state, *writes]

    spec = DeltaChannel(reducer, snapshot_frequency=3)
    empty = spec.from_checkpoint(None)
    empty.replay_writes([])
    assert empty.get() == [], _changed("langgraph", "DeltaChannel.from_checkpoint(None) no longer starts empty")
    ch = spec.from_checkpoint(_DeltaSnapshot(["a"]))
    assert ch.get() == ["a"], _changed("langgraph", "DeltaChannel.from_checkpoint(_DeltaSnapshot) ignores .value")
    # PendingWrite tuples (task_id, channel, value), oldest first; the cache passes "" as the task id
    ch.replay_writes([("", "messages", "b"), ("t", "messages", "c")])
    assert ch.get() == ["a", "b", "c"] and calls == [(["a"], ["b", "c"])], _changed(
        "langgraph", f"DeltaChannel.replay_writes no longer reduces all values in one call: {calls}")


# -- langgraph: _messages_delta_reducer ----------------------------------------------------------------------
def test_messages_delta_reducer_semantics_the_fast_path_copies():
    try:
        from langgraph.graph.message import _messages_delta_reducer
    except ImportError as exc:  # pragma: no cover
        pytest.fail(_changed("langgraph", f"langgraph.graph.message._messages_delta_reducer is gone ({exc})"))

    params = list(inspect.signature(_messages_delta_reducer).parameters)
    assert params == ["state", "writes"], _changed("langgraph", f"_messages_delta_reducer{params}")
    a, b, c, anon = HumanMessage("a", id="a"), AIMessage("b", id="b"), HumanMessage("c", id="c"), HumanMessage("x")
    # appending new ids: the state plus the flattened writes, the very same objects, ids left as they are
    out = _messages_delta_reducer([a], [[b, anon], c])
    assert len(out) == 4 and all(x is y for x, y in zip(out, [a, b, anon, c], strict=True)), _changed(
        "langgraph", f"_messages_delta_reducer no longer returns state + new messages for new ids: {out}")
    assert out[2].id is None, _changed("langgraph", "_messages_delta_reducer now assigns ids to messages without")
    # the slow paths graphs/messages.py hands back: replace by id, remove by id
    b2 = AIMessage("b2", id="b")
    assert [m.content for m in _messages_delta_reducer([a, b], [[b2]])] == ["a", "b2"], _changed(
        "langgraph", "_messages_delta_reducer no longer replaces a message with the same id in place")
    assert [m.id for m in _messages_delta_reducer([a, b, c], [RemoveMessage(id="b")])] == ["a", "c"], _changed(
        "langgraph", "_messages_delta_reducer no longer removes by RemoveMessage")
    # batching invariance, which DeltaChannel requires
    first, second = [[b], c], [[b2, RemoveMessage(id="a")]]
    stepwise = _messages_delta_reducer(_messages_delta_reducer([a], first), second)
    assert [(m.id, m.content) for m in stepwise] == [
        (m.id, m.content) for m in _messages_delta_reducer([a], first + second)
    ], _changed("langgraph", "_messages_delta_reducer is no longer batching-invariant")


# -- langgraph + checkpoint-sqlite: what checkpoints hold and the saver hooks the cache overrides --------------
def _tiny_graph(checkpointer: Any, reducer: Any, snapshot_frequency: int = 2):
    from langgraph.channels.delta import DeltaChannel
    from langgraph.graph import END, START, StateGraph

    # Functional form: with `from __future__ import annotations` a class body's annotation is a string that
    # LangGraph would evaluate without this function's locals (reducer, snapshot_frequency).
    channel = DeltaChannel(reducer, snapshot_frequency=snapshot_frequency)
    State = TypedDict("State", {"messages": Annotated[list, channel]})  # noqa: UP013

    def reply(state):
        n = len(state["messages"])
        return {"messages": [AIMessage(f"r{n}", id=f"r{n}")]}

    g = StateGraph(State)
    g.add_node("reply", reply)
    g.add_edge(START, "reply")
    g.add_edge("reply", END)
    return g.compile(checkpointer=checkpointer)


def test_checkpoints_hold_snapshots_or_nothing_and_history_replays_to_the_state():
    from langgraph.channels.delta import DeltaChannel
    from langgraph.checkpoint.serde.types import _DeltaSnapshot
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph.message import _messages_delta_reducer

    saver = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
    graph = _tiny_graph(saver, _messages_delta_reducer)
    config = {"configurable": {"thread_id": "t"}}
    for i in range(3):
        graph.invoke({"messages": [HumanMessage(f"h{i}", id=f"h{i}")]}, config)
    stored = [type(t.checkpoint["channel_values"].get("messages")).__name__ for t in saver.list(config)]
    assert set(stored) == {"_DeltaSnapshot", "NoneType"} and stored.count("_DeltaSnapshot") >= 2, _changed(
        "langgraph", f"a DeltaChannel's checkpoints no longer hold a _DeltaSnapshot or nothing: {stored}")

    latest = saver.get_tuple(config)
    history = saver.get_delta_channel_history(config=latest.config, channels=["messages"])
    entry = history["messages"]
    assert set(entry) <= {"seed", "writes"} and isinstance(entry.get("seed"), _DeltaSnapshot | None), _changed(
        "langgraph-checkpoint-sqlite", f"get_delta_channel_history's entry changed shape: {entry!r}")
    assert all(len(w) == 3 and w[1] == "messages" for w in entry["writes"]), _changed(
        "langgraph-checkpoint-sqlite", f"history writes are no longer (task_id, channel, value): {entry['writes']}")
    ch = DeltaChannel(_messages_delta_reducer).from_checkpoint(entry.get("seed"))
    ch.replay_writes(list(entry["writes"]))
    assert [m.id for m in ch.get()] == [m.id for m in graph.get_state(config).values["messages"]], _changed(
        "langgraph-checkpoint-sqlite", "seed + writes from get_delta_channel_history no longer rebuild the state")


_HOOKS = {
    "put_writes": ["self", "config", "writes", "task_id", "task_path"],
    "put": ["self", "config", "checkpoint", "metadata", "new_versions"],
    "get_delta_channel_history": ["self", "config", "channels"],
}


@pytest.mark.parametrize("name", ["put_writes", "put", "get_delta_channel_history"])
def test_saver_hooks_keep_their_signatures(name):
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    for cls, method in ((SqliteSaver, name), (AsyncSqliteSaver, "a" + name)):
        sig = inspect.signature(getattr(cls, method))
        assert list(sig.parameters) == _HOOKS[name], _changed(
            "langgraph-checkpoint-sqlite", f"{cls.__name__}.{method}{sig} (CachedSqliteSaver overrides it)")
    if name == "get_delta_channel_history":  # called with keywords only by Pregel and by our override
        kinds = {p.kind for n, p in inspect.signature(SqliteSaver.get_delta_channel_history).parameters.items()
                 if n != "self"}
        assert kinds == {inspect.Parameter.KEYWORD_ONLY}, _changed(
            "langgraph-checkpoint-sqlite", "get_delta_channel_history's arguments are no longer keyword-only")


def test_reads_go_through_the_saver_history_hook_sync():
    """If Pregel stopped asking the saver for delta history, the cache would silently never be used."""
    from langgraph.channels.delta import DeltaChannel

    from agent.runtime.checkpoints import CachedSqliteSaver
    from graphs.messages import messages_reducer

    saver = CachedSqliteSaver(sqlite3.connect(":memory:", check_same_thread=False),
                              {"messages": DeltaChannel(messages_reducer, snapshot_frequency=100)})
    graph = _tiny_graph(saver, messages_reducer, snapshot_frequency=100)  # no snapshot: history is replayed
    config = {"configurable": {"thread_id": "t"}}
    for i in range(4):
        graph.invoke({"messages": [HumanMessage(f"h{i}", id=f"h{i}")]}, config)
    assert saver.cache.hits > 0, _changed("langgraph", "Pregel no longer reads delta channels via "
                                          "get_delta_channel_history(config=..., channels=...)")
    assert [m.id for m in graph.get_state(config).values["messages"]] == [
        "h0", "r1", "h1", "r3", "h2", "r5", "h3", "r7"]


async def test_reads_go_through_the_saver_history_hook_async():
    import aiosqlite
    from langgraph.channels.delta import DeltaChannel

    from agent.runtime.checkpoints import CachedAsyncSqliteSaver
    from graphs.messages import messages_reducer

    async with aiosqlite.connect(":memory:") as conn:
        saver = CachedAsyncSqliteSaver(conn, {"messages": DeltaChannel(messages_reducer, snapshot_frequency=100)})
        graph = _tiny_graph(saver, messages_reducer, snapshot_frequency=100)
        config = {"configurable": {"thread_id": "t"}}
        for i in range(4):
            await graph.ainvoke({"messages": [HumanMessage(f"h{i}", id=f"h{i}")]}, config)
        assert saver.cache.hits > 0, _changed("langgraph", "async Pregel no longer reads delta channels via "
                                              "aget_delta_channel_history(config=..., channels=...)")


@pytest.mark.parametrize("inline", [False, True], ids=["thread", "inline"])
async def test_one_trip_writes_store_the_stock_saver_rows_through_aiosqlite_private_execute(tmp_path, inline):
    """saver_writes runs the stock AsyncSqliteSaver's statements in one call of aiosqlite's private
    ``Connection._execute(fn, *args)`` on its sqlite3 connection (``Connection._conn``), or on the loop's thread
    (``sqlite_inline``): the rows must stay the stock saver's, and those two internals must still be there."""
    import aiosqlite
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agent.runtime.saver_writes import SqliteOneTripWrites

    class OneTrip(SqliteOneTripWrites, AsyncSqliteSaver):
        pass

    checkpoint = {**empty_checkpoint(), "id": "1f0-c2", "channel_values": {"messages": [HumanMessage("hi", id="h")]},
                  "channel_versions": {"messages": 2}}
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "1f0-c1"}}
    writes = {"plain": [("messages", [AIMessage("ok", id="a")]), ("stage", "intake")],
              "special": [("__error__", "boom"), ("__interrupt__", [{"value": "confirm?"}])],
              "mixed": [("__error__", "boom"), ("stage", "intake")]}

    async def rows(cls: type, name: str) -> dict[str, list[tuple]]:
        async with aiosqlite.connect(tmp_path / name, check_same_thread=False) as conn:
            saver = cls(conn)
            saver.inline_calls = inline
            saved = await saver.aput(config, checkpoint, {"source": "loop", "step": 1}, {"messages": 2})
            for kind, some in writes.items():
                await saver.aput_writes(saved, some, task_id=f"task-{kind}", task_path="~/reply")
                # Again with other values: special channels replace what was stored, the others keep it.
                again = [(channel, f"{value} again") for channel, value in some]
                await saver.aput_writes(saved, again, task_id=f"task-{kind}", task_path="~/reply")
            return {t: sorted(await (await conn.execute(f"SELECT * FROM {t}")).fetchall())
                    for t in ("checkpoints", "writes")}

    ours, stock = await rows(OneTrip, "ours.db"), await rows(AsyncSqliteSaver, "stock.db")
    assert len(stock["writes"]) == 6 and ours == stock, _changed(
        "langgraph-checkpoint-sqlite", f"AsyncSqliteSaver's aput / aput_writes now write other rows: {stock}; "
        "saver_writes copies their statements")


@pytest.mark.parametrize("inline", [False, True], ids=["thread", "inline"])
async def test_one_trip_read_returns_the_stock_saver_checkpoint_tuple(tmp_path, inline):
    """saver_reads answers ``aget_tuple`` from the stock saver's two statements (through aiosqlite's private
    ``_execute`` / ``_conn`` and the stock saver's ``_has_task_path``): the tuple must be the stock saver's."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from agent.runtime.saver_reads import SqliteOneTripRead
    from graphs.messages import messages_reducer

    class OneTrip(SqliteOneTripRead, AsyncSqliteSaver):
        pass

    async with aiosqlite.connect(tmp_path / "cp.db", check_same_thread=False) as conn:
        stock = AsyncSqliteSaver(conn)
        graph = _tiny_graph(stock, messages_reducer)
        for i in range(3):
            await graph.ainvoke({"messages": [HumanMessage(f"h{i}", id=f"h{i}")]}, {"configurable": {"thread_id": "t"}})
        latest = await stock.aget_tuple({"configurable": {"thread_id": "t"}})
        await stock.aput_writes(latest.config, [("messages", [AIMessage("pending", id="p")])], "task-1", "~/reply")
        ours = OneTrip(conn)
        ours.inline_calls = inline
        configs = [{"configurable": {"thread_id": "t"}}, latest.config, latest.parent_config,
                   {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "no-such-id"}},
                   {"configurable": {"thread_id": "nobody"}}]
        for config in configs:
            expected = await stock.aget_tuple(config)
            assert await ours.aget_tuple(config) == expected, _changed(
                "langgraph-checkpoint-sqlite", f"AsyncSqliteSaver.aget_tuple({config}) now answers {expected}; "
                "saver_reads copies its statements and its parsing")
        assert (await ours.aget_tuple(latest.config)).pending_writes == [
            ("task-1", "messages", [AIMessage("pending", id="p")])]


# -- langchain-openai / langchain-core: the private methods QwenChatOpenAI overrides ---------------------------
OVERRIDDEN = {"_get_request_payload", "_generate", "_agenerate", "_generate_with_cache", "_agenerate_with_cache",
              "_stream", "_astream"}
OWN_HELPERS = {"_error", "_errors", "_check_result"}


def test_qwen_overrides_exactly_the_expected_private_methods():
    from langchain_openai import ChatOpenAI

    from agent.llm.client import QwenChatOpenAI

    ours = {n for n in vars(QwenChatOpenAI) if n.startswith("_") and not n.startswith("__") and callable(
        getattr(QwenChatOpenAI, n))}
    overrides = {n for n in ours if hasattr(ChatOpenAI, n)}
    assert overrides == OVERRIDDEN, _changed(
        "langchain-openai", f"QwenChatOpenAI now overrides {sorted(overrides)}; expected {sorted(OVERRIDDEN)} "
        "(a name vanished from ChatOpenAI, or one of our helpers now shadows a new ChatOpenAI method; "
        "a new override needs a contract here)")
    assert ours - overrides == OWN_HELPERS


@pytest.mark.parametrize("name", sorted(OVERRIDDEN - {"_get_request_payload", "_stream", "_astream"}))
def test_overridden_generate_methods_keep_their_signature(name):
    from langchain_openai import ChatOpenAI

    sig = inspect.signature(getattr(ChatOpenAI, name))
    assert list(sig.parameters) == ["self", "messages", "stop", "run_manager", "kwargs"], _changed(
        "langchain-core" if name.endswith("_with_cache") else "langchain-openai", f"ChatOpenAI.{name}{sig}")


@pytest.mark.parametrize("name,params", [
    ("_create_chat_result", ["self", "response", "generation_info"]),
    ("_convert_chunk_to_generation_chunk", ["self", "chunk", "default_chunk_class", "base_generation_info"]),
    ("_should_stream_usage", ["self", "stream_usage", "kwargs"]),
    ("_use_responses_api", ["self", "payload"]),
])
def test_langchain_methods_the_direct_requests_call_keep_their_signature(name, params):
    """agent/llm/direct.py sends the async requests itself and reads the answers with these (the body-equality
    tests in test_llm_transport.py check what they do)."""
    from langchain_openai.chat_models.base import BaseChatOpenAI

    sig = inspect.signature(getattr(BaseChatOpenAI, name))
    assert list(sig.parameters) == params, _changed("langchain-openai", f"BaseChatOpenAI.{name}{sig}")


def test_stream_methods_take_messages_stop_and_optional_run_manager():
    from langchain_openai.chat_models.base import BaseChatOpenAI

    for name in ("_stream", "_astream"):
        sig = inspect.signature(getattr(BaseChatOpenAI, name))
        params = sig.parameters
        assert list(params)[:4] == ["self", "messages", "stop", "run_manager"] and params[
            "run_manager"].default is None, _changed(
            "langchain-openai", f"BaseChatOpenAI.{name}{sig} (QwenChatOpenAI calls it without run_manager)")


def _completion(body: dict) -> httpx.Response:
    if body.get("stream"):
        chunks = [{"role": "assistant", "content": "Hel"}, {"content": "lo"}]
        lines = [json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                             "choices": [{"index": 0, "delta": d, "finish_reason": None}]}) for d in chunks]
        lines.append(json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                 "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        text = "".join(f"data: {line}\n\n" for line in lines) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json={
        "id": "c", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


@tool
def get_order_details(order_id: str) -> str:
    """Look up an order."""
    return order_id


@pytest.fixture
def probe():
    """A ChatOpenAI subclass that wraps the same private methods as QwenChatOpenAI and records the calls."""
    from langchain_openai import ChatOpenAI

    requests: list[dict] = []
    calls: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        return _completion(body)

    def wrap(name):
        def method(self, *args, **kwargs):
            calls.append((name, kwargs))
            return getattr(super(Probe, self), name)(*args, **kwargs)
        return method

    def awrap(name):
        async def method(self, *args, **kwargs):
            calls.append((name, kwargs))
            return await getattr(super(Probe, self), name)(*args, **kwargs)
        return method

    def swrap(name):
        def method(self, *args, **kwargs):
            calls.append((name, kwargs))
            yield from getattr(super(Probe, self), name)(*args, **kwargs)
        return method

    def aswrap(name):
        async def method(self, *args, **kwargs):
            calls.append((name, kwargs))
            async for chunk in getattr(super(Probe, self), name)(*args, **kwargs):
                yield chunk
        return method

    def payload(self, input_, *, stop=None, **kwargs):
        calls.append(("_get_request_payload", kwargs))
        return {**ChatOpenAI._get_request_payload(self, input_, stop=stop, **kwargs), "seed": 4242}

    Probe = type("Probe", (ChatOpenAI,), {
        "_generate": wrap("_generate"), "_generate_with_cache": wrap("_generate_with_cache"),
        "_agenerate": awrap("_agenerate"), "_agenerate_with_cache": awrap("_agenerate_with_cache"),
        "_stream": swrap("_stream"), "_astream": aswrap("_astream"), "_get_request_payload": payload,
    })

    def make(**kwargs):
        return Probe(model="m", api_key="k", base_url="http://fake/v1", max_retries=0,
                     http_client=httpx.Client(transport=httpx.MockTransport(handler)),
                     http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)), **kwargs)

    return make, calls, requests


def _names(calls):
    return [name for name, _ in calls]


def test_invoke_dispatch_and_tools_reach_generate(probe):
    make, calls, requests = probe
    out = make().bind_tools([get_order_details]).invoke([HumanMessage("hi")])
    assert out.content == "Hello"
    assert _names(calls) == ["_generate_with_cache", "_generate", "_get_request_payload"], _changed(
        "langchain-core", f"invoke() no longer goes _generate_with_cache -> _generate: {_names(calls)}")
    tools = dict(calls)["_generate"].get("tools")
    assert tools and tools[0]["function"]["name"] == "get_order_details", _changed(
        "langchain-openai", f"bound tools no longer reach _generate as kwargs['tools']: {tools!r}")
    assert requests[-1]["seed"] == 4242, _changed(
        "langchain-openai", "the dict _get_request_payload returns is no longer the request body")


def test_streaming_invoke_assembles_in_generate_with_cache_from_stream(probe):
    make, calls, requests = probe
    out = make(streaming=True).bind_tools([get_order_details]).invoke([HumanMessage("hi")])
    assert out.content == "Hello"
    assert _names(calls)[:2] == ["_generate_with_cache", "_stream"] and "_generate" not in _names(calls), _changed(
        "langchain-core", f"a streaming invoke() no longer assembles _stream's chunks in _generate_with_cache: "
        f"{_names(calls)}")
    assert dict(calls)["_stream"].get("tools"), _changed("langchain-openai", "tools no longer reach _stream")
    assert requests[-1]["stream"] is True and requests[-1]["seed"] == 4242


def test_stream_reports_tokens_itself_and_calls_stream_without_run_manager(probe):
    make, calls, _ = probe
    chunks = list(make().stream([HumanMessage("hi")]))
    assert "".join(c.content for c in chunks) == "Hello" and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert _names(calls)[0] == "_stream" and dict(calls)["_stream"].get("run_manager") is None, _changed(
        "langchain-core", "stream() now hands _stream a run_manager: QwenChatOpenAI then reports tokens itself; "
        "check that BaseChatModel no longer reports them too (double tokens in the UI)")


@pytest.mark.parametrize("how", ["invoke", "response_format", "stream"])
def test_extra_body_is_merged_over_the_body_so_qwen_messages_reach_the_server_unchanged(how):
    """QwenChatOpenAI hands the SDK its messages as ``extra_body`` (the SDK's walk of the ``messages`` argument
    cost a third of a request's CPU): the server must get the very body the plain ChatOpenAI sends."""
    from langchain_core.messages import SystemMessage
    from langchain_openai import ChatOpenAI

    from agent.llm.client import QwenChatOpenAI

    def body_sent(cls):
        sent: list[dict] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(json.loads(request.content))
            return _completion(sent[-1])

        model = cls(model="m", api_key="k", base_url="http://fake/v1", max_retries=0,
                    http_client=httpx.Client(transport=httpx.MockTransport(handler)))
        messages = [SystemMessage("be brief"), HumanMessage("hi")]
        if how == "stream":
            assert "".join(c.text for c in model.stream(messages)) == "Hello"
        else:
            fmt = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": True}}
            bound = model.bind(response_format=fmt) if how == "response_format" else model
            assert bound.invoke(messages).content == "Hello"
        return sent[-1]

    plain, ours = body_sent(ChatOpenAI), body_sent(QwenChatOpenAI)
    assert ours["messages"] == [{"content": "be brief", "role": "system"}, {"content": "hi", "role": "user"}]
    assert list(ours) == list(plain) and ours["messages"] == plain["messages"], _changed(
        "openai", f"extra_body is no longer merged over the request body as it is: sent {ours}, expected {plain}")


class _Tokens:
    """A run manager stand-in that records the tokens reported to it."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_parent_stream_reports_tokens_to_a_run_manager_it_is_given(probe):
    """Why QwenChatOpenAI calls the parent's _stream WITHOUT run_manager: the parent would report raw tokens."""
    make, _, _ = probe
    rm = _Tokens()
    out = "".join(c.text for c in make()._stream([HumanMessage("hi")], run_manager=rm))
    assert out == "Hello" and "".join(rm.tokens) == "Hello", _changed(
        "langchain-openai", f"BaseChatOpenAI._stream no longer reports its chunks to run_manager: {rm.tokens}")


def test_qwen_stream_reports_each_token_exactly_once():
    from langchain_core.callbacks import BaseCallbackHandler

    from agent.llm.client import QwenChatOpenAI

    class Count(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    transport = httpx.MockTransport(lambda request: _completion(json.loads(request.content)))
    model = QwenChatOpenAI(model="m", api_key="k", base_url="http://fake/v1", max_retries=0,
                           http_client=httpx.Client(transport=transport))
    counter = Count()
    text = "".join(c.text for c in model.stream([HumanMessage("hi")], config={"callbacks": [counter]}))
    assert text == "Hello" and "".join(counter.tokens) == "Hello", _changed(
        "langchain-core", f"streamed tokens reach the callbacks {counter.tokens!r} for the text {text!r}")
    # handed a run manager (LangChain's event-stream path does), QwenChatOpenAI reports each token itself, once
    rm = _Tokens()
    text = "".join(c.text for c in model._stream([HumanMessage("hi")], run_manager=rm))
    assert text == "Hello" and "".join(rm.tokens) == "Hello", _changed(
        "langchain-openai", f"tokens reported {rm.tokens!r} for the text {text!r}")


async def test_async_dispatch(probe):
    make, calls, _ = probe
    model = make()
    assert (await model.ainvoke([HumanMessage("hi")])).content == "Hello"
    assert _names(calls)[:2] == ["_agenerate_with_cache", "_agenerate"], _changed(
        "langchain-core", f"ainvoke() no longer goes _agenerate_with_cache -> _agenerate: {_names(calls)}")
    calls.clear()
    assert "".join([c.content async for c in model.astream([HumanMessage("hi")])]) == "Hello"
    assert _names(calls)[0] == "_astream" and dict(calls)["_astream"].get("run_manager") is None, _changed(
        "langchain-core", "astream() now hands _astream a run_manager: QwenChatOpenAI then reports tokens itself; "
        "check that BaseChatModel no longer reports them too")


def test_qwen_payload_sends_max_tokens_by_its_classic_name():
    from langchain_openai import ChatOpenAI

    from agent.llm.client import QwenChatOpenAI

    kwargs = dict(model="m", api_key="k", base_url="http://fake/v1", max_tokens=7)
    stock = ChatOpenAI(**kwargs)._get_request_payload([HumanMessage("hi")])
    ours = QwenChatOpenAI(**kwargs)._get_request_payload([HumanMessage("hi")])
    assert stock.get("max_completion_tokens") == 7, _changed(
        "langchain-openai", f"ChatOpenAI no longer sends max_tokens as max_completion_tokens: {sorted(stock)}")
    assert ours.get("max_tokens") == 7 and "max_completion_tokens" not in ours, _changed(
        "langchain-openai", f"QwenChatOpenAI's payload lost max_tokens: {sorted(ours)}")


# -- langgraph: breakpoints inside a subgraph called from a node (agent/runtime/stepping.py) --------------------
def test_a_subgraph_called_from_a_node_is_found_and_honours_its_own_breakpoints():
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph

    class S(TypedDict):
        trail: Annotated[list[str], lambda a, b: a + b]

    inner_builder = StateGraph(S)
    inner_builder.add_node("first", lambda s: {"trail": ["first"]})
    inner_builder.add_node("second", lambda s: {"trail": ["second"]})
    inner_builder.add_edge(START, "first")
    inner_builder.add_edge("first", "second")
    inner = inner_builder.compile(name="flow")

    def run_flow(state: S, config: RunnableConfig) -> dict:
        out = inner.invoke(state, config)
        return {"trail": out["trail"][len(state["trail"]):]}

    outer_builder = StateGraph(S)
    outer_builder.add_node("flow", run_flow)
    outer_builder.add_edge(START, "flow")
    outer = outer_builder.compile(checkpointer=InMemorySaver())
    assert dict(outer.get_subgraphs()).get("flow") is inner, _changed(
        "langgraph", "get_subgraphs() no longer finds a compiled graph among a node function's nonlocals")
    inner.interrupt_before_nodes = ["second"]  # what stepping sets for a turn
    config = {"configurable": {"thread_id": "t"}}
    outer.invoke({"trail": []}, config)
    snap = outer.get_state(config, subgraphs=True)
    assert snap.next == ("flow",) and snap.tasks[0].state.next == ("second",), _changed(
        "langgraph", "a nested graph no longer stops before the nodes of its own interrupt_before_nodes")
    assert outer.invoke(None, config)["trail"] == ["first", "second"], _changed(
        "langgraph", "resuming the parent no longer resumes the nested graph past its breakpoint")


# -- langgraph-checkpoint-sqlite: the tables agent/runtime/saver_retention.py writes ----------------------------
def test_sqlite_saver_tables_as_retention_writes_them(tmp_path):
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(tmp_path / "cp.db", check_same_thread=False)
    SqliteSaver(conn).setup()
    # The retention SQL names every column (order does not matter), and copies rows column for column.
    columns = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in ("checkpoints", "writes")}
    assert columns == {
        "checkpoints": {"thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id", "type", "checkpoint",
                        "metadata"},
        "writes": {"thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "task_path", "idx", "channel", "type",
                   "value"}}, _changed("langgraph-checkpoint-sqlite", f"the saver's tables changed: {columns}")
    conn.close()


@pytest.mark.parametrize("values_rows", [64, 1], ids=["rows-listed", "larger-batches-unnested"])
async def test_postgres_one_statement_writes_store_the_stock_saver_rows(postgres_url, values_rows, monkeypatch):
    """postgres_writes sends the stock AsyncPostgresSaver's rows in one statement, as VALUES rows (or, past
    VALUES_ROWS rows, as arrays one statement unnests): its blob and checkpoint upserts, its writes' conflict rules,
    its split of the channel values. The rows must stay the stock saver's, in the stock saver's tables."""
    import psycopg
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.serde.types import _DeltaSnapshot

    from agent.runtime import postgres_writes
    from agent.runtime.postgres_writes import PostgresOneTripWrites

    monkeypatch.setattr(postgres_writes, "VALUES_ROWS", values_rows)

    class OneStatement(PostgresOneTripWrites, AsyncPostgresSaver):
        pass

    checkpoint = {**empty_checkpoint(), "id": "1f0-c2",
                  "channel_values": {"messages": _DeltaSnapshot([HumanMessage("hi", id="h")]), "stage": "intake",
                                     "tasks": [{"task": "cancel"}], "turn": 3, "ticket": None},
                  "channel_versions": {"messages": "2", "stage": "2", "tasks": "2", "turn": "1", "ticket": "1"}}
    versions = {"messages": "2", "stage": "2", "tasks": "2", "ticket": "1"}
    writes = {"plain": [("messages", [AIMessage("ok", id="a")]), ("stage", "intake")],
              "special": [("__error__", "boom"), ("__interrupt__", [{"value": "confirm?"}])],
              "mixed": [("__error__", "boom"), ("stage", "intake")],
              "twice": [("__interrupt__", "first"), ("__interrupt__", "second")]}

    async def rows(cls: type, thread: str) -> dict[str, list[tuple]]:
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            saver = cls(conn)
            await saver.setup()
            config = {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": "1f0-c1"}}
            saved = await saver.aput(config, checkpoint, {"source": "loop", "step": 1}, versions)
            assert saved == {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": "1f0-c2"}}
            await saver.aput({**config, "configurable": {**config["configurable"], "checkpoint_id": "1f0-c2"}},
                             {**checkpoint, "id": "1f0-c3", "channel_values": {"turn": 4}}, {"step": 2}, {})
            for kind, some in writes.items():
                await saver.aput_writes(saved, some, task_id=f"task-{kind}", task_path="~/reply")
                # Again with other values: special channels replace what was stored, the others keep it.
                again = [(channel, f"{value} again") for channel, value in some]
                await saver.aput_writes(saved, again, task_id=f"task-{kind}", task_path="~/reply")
            found = {}
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                cursor = await conn.execute(f"SELECT * FROM {table} WHERE thread_id = %s", [thread])
                found[table] = sorted(tuple(r)[1:] for r in await cursor.fetchall())  # thread_id first
            return found

    ours, stock = await rows(OneStatement, "ours"), await rows(AsyncPostgresSaver, "stock")
    assert len(stock["checkpoint_blobs"]) == 2 and len(stock["checkpoint_writes"]) == 7, stock
    assert ours == stock, _changed(
        "langgraph-checkpoint-postgres", f"AsyncPostgresSaver's aput / aput_writes now write other rows: {stock}; "
        "postgres_writes copies their statements")


@pytest.mark.parametrize("inline_writes", [32, 0], ids=["writes-decoded-on-the-loop", "writes-decoded-on-a-thread"])
async def test_postgres_read_on_the_loop_is_the_stock_saver_tuple(postgres_url, inline_writes, monkeypatch):
    """postgres_reads builds a read's CheckpointTuple without the stock saver's thread hop for its pending writes:
    the tuple (config, checkpoint with its blobs, metadata, parent, writes in the stock order) must stay the
    stock saver's, with and without writes, for the latest checkpoint and one by id."""
    import psycopg
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from agent.runtime import postgres_reads
    from agent.runtime.postgres_reads import PostgresInlineRead

    monkeypatch.setattr(postgres_reads, "INLINE_WRITES", inline_writes)

    class OnTheLoop(PostgresInlineRead, AsyncPostgresSaver):
        pass

    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        stock, ours = AsyncPostgresSaver(conn), OnTheLoop(conn)
        await stock.setup()
        config = {"configurable": {"thread_id": "read", "checkpoint_ns": ""}}
        first = await stock.aput(config, {**empty_checkpoint(), "id": "1f0-r1", "channel_values": {"turn": 1}},
                                 {"source": "input", "step": -1}, {})
        second = await stock.aput(first, {**empty_checkpoint(), "id": "1f0-r2",
                                          "channel_values": {"stage": "intake", "reading": {"task": "cancel"}},
                                          "channel_versions": {"stage": "2", "reading": "2"}},
                                  {"source": "loop", "step": 0}, {"stage": "2", "reading": "2"})
        await stock.aput_writes(second, [("messages", [AIMessage("ok", id="a")]), ("stage", "order_desk")], "t-b")
        await stock.aput_writes(second, [("__interrupt__", [{"value": "confirm?"}])], "t-a")
        for read in (config, first, second):
            theirs = await stock.aget_tuple(read)
            assert await ours.aget_tuple(read) == theirs, _changed(
                "langgraph-checkpoint-postgres", f"AsyncPostgresSaver's read now builds another tuple: {theirs}; "
                "postgres_reads copies its _load_checkpoint_tuple")
        assert len((await ours.aget_tuple(config)).pending_writes) == 3
