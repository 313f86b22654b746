"""The message history's reducer: LangGraph's batching-invariant delta reducer, with an O(1) append path.

``_messages_delta_reducer`` rebuilds an id index of the whole history on every write, so each step costs time
proportional to the conversation. Almost every write in this graph only appends messages with new ids; for
those the result is ``state + new`` and the id set of the new list is the old set plus the new ids. The id
sets of the most recent lists are remembered (lists are never mutated in place by LangGraph or the nodes), so
that check is cheap. Anything else (removals, edits of an existing id, raw dicts) goes through the
stock reducer, so the result is always exactly what it would give, and batching invariance carries over.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from threading import Lock
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langgraph.graph.message import _messages_delta_reducer

#: Remembered lists, most recent last. Many conversations run at once, each writing several lists a turn: too few
#: and a conversation's list is gone by its next step (its id set then read afresh, in time growing with it).
_RECENT = 1024
#: By shape (length, first and last message's identity): a shallow copy LangGraph hands around has its list's
#: shape, so it is found in one lookup, then checked element by element.
_id_sets: OrderedDict[tuple[int, int, int], tuple[list[AnyMessage], set[str]]] = OrderedDict()
_lock = Lock()


def _shape(messages: list[AnyMessage]) -> tuple[int, int, int]:
    return (len(messages), id(messages[0]), id(messages[-1])) if messages else (0, 0, 0)


def _ids_of(messages: list[AnyMessage]) -> set[str]:
    with _lock:
        entry = _id_sets.get(_shape(messages))
        # The same list, or one holding the very same message objects (an identity check runs at C speed, unlike
        # reading every id): then the same ids. The remembered list is kept referenced, so no id() is reused.
        if entry is not None and (entry[0] is messages or all(map(operator.is_, entry[0], messages))):
            return entry[1]
    ids = {m.id for m in messages if m.id is not None}
    _remember(messages, ids)
    return ids


def _remember(messages: list[AnyMessage], ids: set[str]) -> None:
    shape = _shape(messages)
    with _lock:
        _id_sets[shape] = (messages, ids)
        _id_sets.move_to_end(shape)
        while len(_id_sets) > _RECENT:
            _id_sets.popitem(last=False)


def messages_reducer(state: list[AnyMessage], writes: list[Any]) -> list[AnyMessage]:
    """Same result as LangGraph's ``_messages_delta_reducer``; constant work per appended message."""
    flat: list[Any] = []
    for write in writes:
        if isinstance(write, list):
            flat.extend(write)
        else:
            flat.append(write)
    appendable = (not state or isinstance(state[0], BaseMessage)) and all(
        isinstance(m, BaseMessage) and not isinstance(m, RemoveMessage) for m in flat
    )
    if appendable:
        known = _ids_of(state)
        new_ids = [m.id for m in flat if m.id is not None]
        if len(set(new_ids)) == len(new_ids) and known.isdisjoint(new_ids):
            result = [*state, *flat]
            _remember(result, known.union(new_ids))
            return result
    return _messages_delta_reducer(state, writes)
