"""JSON of the PostgreSQL saver's connections in orjson: every checkpoint is sent as two ``jsonb`` parameters (the
checkpoint without its blobs, its metadata) and read back as two, six to ten times a turn.

psycopg encodes them with the standard library's ``json``, in Python: about 2 % of a text turn's CPU in a profile
(bench/profile_turn.py --database postgres); with orjson (in C) the turn took 0.2-0.5 ms less, 3 pairs of runs.
What orjson refuses (an integer wider than 64 bits, a key that is not a string) goes to ``json`` as before. One
difference: orjson writes a float NaN as ``null`` where ``json`` wrote ``NaN``, which PostgreSQL rejects (no
checkpoint of LangGraph's carries one).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.types.json import set_json_dumps, set_json_loads


def dumps(value: Any) -> bytes | str:
    """``value`` as JSON: orjson's bytes, or ``json``'s text for what orjson cannot encode."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value)


def use_orjson(conn: AsyncConnection[Any]) -> None:
    """Have ``json`` and ``jsonb`` values of this connection encoded and decoded with orjson."""
    set_json_dumps(dumps, conn)
    set_json_loads(orjson.loads, conn)
