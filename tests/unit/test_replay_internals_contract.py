"""Contracts with the LangGraph / langchain internals the recorded replay leans on (agent/runtime/recording.py,
replay_model.py, replay_span.py): where a task's config says which checkpoint it runs from, how a run's input and a
confirmation's answer are stored, and the private BaseChatModel hooks ``RecordingChatModel`` forwards."""

from __future__ import annotations

import inspect
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agent.runtime.recording import asked_from
from agent.runtime.replay_span import _INPUT_CHANNEL, _INTERRUPT, _NULL_TASK, _RESUME


class _State(TypedDict, total=False):
    text: str
    answer: str


def test_a_tasks_config_names_its_checkpoint_and_the_input_and_answer_are_stored_where_replay_reads_them():
    seen: list[Any] = []

    def ask(state: _State, config: RunnableConfig) -> _State:
        seen.append(asked_from(config))
        return {"answer": interrupt("sure?")}

    builder = StateGraph(_State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    saver = InMemorySaver()
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"text": "hi"}, config)
    asking = graph.get_state(config)
    graph.invoke(Command(resume="yes"), config)
    where = seen[0]
    assert where is not None and where.node == "ask" and where.checkpoint_ns == "", "checkpoint_ns/checkpoint_map"
    assert where.root_checkpoint_id == asking.config["configurable"]["checkpoint_id"]
    assert where.execution is not None and seen[1].execution is not where.execution, "a scratchpad per task run"
    tuples = list(saver.list(config))
    first = tuples[-1]
    assert first.metadata["source"] == "input" and first.checkpoint["channel_values"][_INPUT_CHANNEL] == {"text": "hi"}
    waiting = saver.get_tuple(asking.config)
    channels = {(task, channel) for task, channel, _ in waiting.pending_writes}
    assert (_NULL_TASK, _RESUME) in channels and any(channel == _INTERRUPT for _, channel in channels)


def test_the_private_chat_model_hooks_recording_forwards_exist_with_these_keywords():
    for name in ("_should_stream", "_should_use_protocol_streaming"):
        assert "async_api" in inspect.signature(getattr(BaseChatModel, name)).parameters, name
    for name in ("_generate", "_agenerate", "_stream", "_astream"):
        assert {"messages", "stop", "run_manager"} <= set(inspect.signature(getattr(BaseChatModel, name)).parameters)
