"""The message history's reducer: LangGraph's batching-invariant delta reducer, with an O(1) append path.

``_messages_delta_reducer`` rebuilds an id index of the whole history on every write, so each step costs time
proportional to the conversation. Almost every write in this graph only appends messages with new ids; for
those the result is ``state + new`` and the id set of the new list is the old set plus the new ids. The id
sets of the few most recent lists are remembered (lists are never mutated in place by LangGraph or the
nodes), so that check is cheap. Anything else (removals, edits of an existing id, raw dicts) goes through the
stock reducer, so the result is always exactly what it would give, and batching invariance carries over.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from threading import Lock
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langgraph.graph.message import _messages_delta_reducer

_RECENT = 256
_id_sets: OrderedDict[int, tuple[list[AnyMessage], set[str]]] = OrderedDict()
_lock = Lock()


def _ids_of(messages: list[AnyMessage]) -> set[str]:
    with _lock:
        entry = _id_sets.get(id(messages))
        if entry is not None and entry[0] is messages:
            return entry[1]
        # LangGraph hands channels shallow copies around: a list holding the very same message objects as a
        # remembered one has the same ids (an identity check runs at C speed, unlike reading every id).
        for known, ids in reversed(_id_sets.values()):
            if len(known) == len(messages) and all(map(operator.is_, known, messages)):
                return ids
    ids = {m.id for m in messages if m.id is not None}
    _remember(messages, ids)
    return ids


def _remember(messages: list[AnyMessage], ids: set[str]) -> None:
    with _lock:
        _id_sets[id(messages)] = (messages, ids)  # the strong reference keeps id(messages) unique
        _id_sets.move_to_end(id(messages))
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
