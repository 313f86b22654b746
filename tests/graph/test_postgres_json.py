"""The saver's connections encode and decode JSON with orjson (``agent.runtime.postgres_json``): the same values
go in and come out as with psycopg's own codec, including what orjson cannot encode itself."""

from __future__ import annotations

import psycopg
from psycopg.adapt import PyFormat
from psycopg.types.json import Jsonb

from agent.runtime.postgres_json import dumps, use_orjson

VALUES = [
    {"v": 4, "channel_versions": {"messages": "00000000000000000000000000000007.0.5"}, "channel_values": {}},
    {"source": "loop", "step": 3, "writes": None, "parents": {}, "note": "café ☕", "ratio": 0.25, "ok": True},
    [1, 2.5, "three", None, {"nested": ["x"]}],
    {"huge": 2**70},  # wider than 64 bits: orjson refuses, json encodes
    {1: "a key that is not a string"},  # orjson refuses, json makes it "1"
]


async def test_values_round_trip_as_with_psycopgs_codec(postgres_url):
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as ours, \
            await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as stock:
        use_orjson(ours)
        for fmt in (PyFormat.TEXT, PyFormat.BINARY):
            assert ours.adapters.get_dumper(Jsonb, fmt)(Jsonb, ours).dumps is dumps
            assert stock.adapters.get_dumper(Jsonb, fmt)(Jsonb, stock).dumps is not dumps
        for value in VALUES:
            read = []
            for conn in (ours, stock):
                cursor = await conn.execute("SELECT %s::jsonb, %s::jsonb::text::json", [Jsonb(value), Jsonb(value)])
                read.append(await cursor.fetchone())
            assert read[0] == read[1], value


def test_orjson_writes_what_it_can_and_json_the_rest():
    assert dumps({"a": [1, "b"]}) == b'{"a":[1,"b"]}'
    assert dumps({"huge": 2**70}) == '{"huge": 1180591620717411303424}'
