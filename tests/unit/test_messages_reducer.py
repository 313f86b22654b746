"""The fast message reducer gives exactly LangGraph's delta-reducer result, and stays batching-invariant."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.graph.message import _messages_delta_reducer

from graphs import messages as reducer
from graphs.messages import messages_reducer

_ids = st.sampled_from(["a", "b", "c", "d", "e", None])


@st.composite
def message(draw):
    mid = draw(_ids)
    kind = draw(st.sampled_from(["human", "ai", "remove"]))
    if kind == "remove" and mid is not None:
        return RemoveMessage(id=mid)
    text = draw(st.text(max_size=5))
    return HumanMessage(text, id=mid) if kind == "human" else AIMessage(text, id=mid)


writes = st.lists(st.one_of(message(), st.lists(message(), max_size=3)), max_size=4)


def _dump(messages):
    return [(type(m).__name__, m.id, m.content) for m in messages]


@settings(max_examples=300, deadline=None)
@given(first=writes, second=writes)
def test_same_result_as_langgraph_and_batching_invariant(first, second):
    expected = _messages_delta_reducer(_messages_delta_reducer([], first), second)
    stepwise = messages_reducer(messages_reducer([], first), second)
    batched = messages_reducer([], first + second)
    assert _dump(stepwise) == _dump(expected) == _dump(batched)


def test_append_path_does_not_touch_the_input_list():
    state = [HumanMessage("hi", id="1")]
    result = messages_reducer(state, [[AIMessage("hello", id="2")]])
    assert _dump(state) == [("HumanMessage", "1", "hi")]
    assert _dump(result) == [("HumanMessage", "1", "hi"), ("AIMessage", "2", "hello")]
    # an existing id is an edit, not an append: handled like LangGraph does
    edited = messages_reducer(result, [AIMessage("hello again", id="2")])
    assert _dump(edited) == [("HumanMessage", "1", "hi"), ("AIMessage", "2", "hello again")]


def test_a_copy_of_a_history_is_found_among_many_conversations_and_a_same_shape_list_is_not_taken_for_it():
    history = [HumanMessage(f"m{i}", id=f"h{i}") for i in range(50)]
    known = reducer._ids_of(history)
    for n in range(500):  # other conversations' lists, remembered since
        reducer._ids_of([HumanMessage("x", id=f"c{n}-0"), AIMessage("y", id=f"c{n}-1")])
    assert reducer._ids_of(list(history)) is known  # a shallow copy: the remembered set, not read again
    swapped = [history[0], HumanMessage("other", id="swapped"), *history[2:]]  # same length, first and last
    assert reducer._ids_of(swapped) == (known - {"h1"}) | {"swapped"}
    assert reducer._ids_of(list(history)) == known
