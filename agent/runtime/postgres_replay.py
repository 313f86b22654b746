"""Recorded replay on a PostgreSQL deployment: rewinding the store's undo journal (the triggers of migration 13;
each checkpoint records its position, see ``postgres_saver``), the recorded responses, and the scratch copy a
replay runs in.

The scratch copy is a schema of its own in the same database (``replay_<id>``, dropped afterwards): the store's
tables and the journal copied into it and rewound to the starting checkpoint's mark, and the thread's checkpoints
copied beside them. The replay's store and saver connect with that schema first on their ``search_path``, so the
product's code runs unchanged and the live tables are never written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from tools import RetailStore
from tools.db.migrations import JOURNALED_TABLES
from tools.db.postgres import PgConnection
from tools.db.urls import postgres_url

#: Copied into a replay's schema besides the journaled tables (the desk's log of the tickets there).
_ALSO_COPIED = ("ticket_events",)
_CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def _primary_key(conn: Any, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(?) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
        [table]).fetchall()]


def rewind(conn: Any, position: int) -> int:
    """Undo, newest first, every journaled change after ``position``; how many. Only ever in a scratch schema."""
    rows = conn.execute("SELECT tbl, op, old, new_key FROM store_journal WHERE seq > ? ORDER BY seq DESC",
                        [position]).fetchall()
    keys: dict[str, list[str]] = {}
    first_insert: dict[str, int] = {}
    conn.execute("BEGIN")
    try:
        for table, op, old, new_key in rows:
            key = keys.setdefault(table, _primary_key(conn, table))
            match = " AND ".join(f't."{k}" = r."{k}"' for k in key)
            record = f'jsonb_populate_record(NULL::"{table}", ?::jsonb) AS r'
            for row in (new_key, old):  # the row as it is now goes; the row as it was comes back
                if row is not None:
                    conn.execute(f'DELETE FROM "{table}" AS t USING {record} WHERE {match}', [row])
            if old is not None:
                conn.execute(f'INSERT INTO "{table}" SELECT * FROM jsonb_populate_record(NULL::"{table}", ?::jsonb)',
                             [old])
            if op == "insert" and key == ["id"]:
                first_insert[table] = int(json.loads(new_key)["id"])
        # Ticket numbers go back too, or the replay's ticket would get the next number.
        for table, first in first_insert.items():
            conn.execute("SELECT setval(pg_get_serial_sequence(?, 'id'), ?, ?)", [table, max(first - 1, 1), first > 1])
        conn.execute("DELETE FROM store_journal WHERE seq > ?", [position])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)


async def recorded_responses_rows(saver: Any, thread_id: str, root_checkpoint_ids: Sequence[str]) -> list[tuple]:
    """The recorded responses' rows (seq, root checkpoint, namespace, checkpoint, index, node, type, response)."""
    return await saver._rows(
        "SELECT seq, root_checkpoint_id, checkpoint_ns, checkpoint_id, call_index, node, type, response "
        "FROM model_responses WHERE thread_id = %s AND root_checkpoint_id = ANY(%s)",
        (thread_id, list(root_checkpoint_ids)))


def with_search_path(url: str, schema: str) -> str:
    """The URL with ``schema`` first on the connection's search_path."""
    parts = urlsplit(postgres_url(url))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-c search_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _columns(conn: PgConnection, schema: str, table: str) -> str:
    names = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                                        "AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()]
    return ", ".join(f'"{n}"' for n in names)


def _copy(live: PgConnection, source: str, target: str, table: str, where: str = "", params: Sequence = ()) -> None:
    columns = _columns(live, target, table)  # the scratch table's columns (a live-only column would not fit)
    live.execute(f'INSERT INTO "{target}"."{table}" ({columns}) SELECT {columns} FROM "{source}"."{table}" {where}',
                 list(params))


def _reset_identities(live: PgConnection, schema: str) -> None:
    """Identity columns continue after the copied rows (the copy gave explicit ids)."""
    for table, column in live.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND is_identity = 'YES'", [schema]).fetchall():
        live.execute(f'SELECT setval(pg_get_serial_sequence(?, ?), coalesce((SELECT max("{column}") FROM '
                     f'"{schema}"."{table}"), 0) + 1, false)', [f'"{schema}"."{table}"', column])


@asynccontextmanager
async def scratch_schema(url: str, thread_id: str, mark: int | None) -> AsyncIterator[tuple[RetailStore, Any, bool]]:
    """(store, saver, rewound) in a scratch schema holding the store (rewound to ``mark`` when known) and the
    thread's checkpoints; the schema is dropped on exit."""
    import asyncio

    from agent.runtime.postgres_saver import open_postgres_checkpointer
    from graphs.state import delta_channels

    schema = f"replay_{uuid.uuid4().hex[:12]}"
    live = PgConnection.connect(postgres_url(url))
    source = str(live.execute("SELECT current_schema()").fetchone()[0])
    live.execute(f'CREATE SCHEMA "{schema}"')
    scratch_url = with_search_path(url, schema)
    try:
        store = await asyncio.to_thread(RetailStore.open, scratch_url)  # its tables, by the migrations
        try:
            def fill() -> bool:
                # Foreign keys go, as SQLite keeps them off: rewinding deletes a ticket its log still names.
                for table, name in live.execute(
                        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
                        "AND connamespace = ?::regnamespace", [schema]).fetchall():
                    live.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                for table in (*JOURNALED_TABLES, *_ALSO_COPIED):
                    _copy(live, source, schema, table)
                live.execute(f'TRUNCATE "{schema}".store_journal')  # the copy's own inserts were journaled
                if mark is not None:
                    _copy(live, source, schema, "store_journal", "WHERE seq > ?", [mark])
                _reset_identities(live, schema)
                if mark is None:
                    return False
                rewind(store._conn, mark)
                return True

            rewound = await asyncio.to_thread(fill)
            async with open_postgres_checkpointer(scratch_url, delta_channels()) as saver:
                for table in _CHECKPOINT_TABLES:
                    await asyncio.to_thread(_copy, live, source, schema, table, "WHERE thread_id = ?", [thread_id])
                yield store, saver, rewound
        finally:
            store.close()
    finally:
        live.execute(f'DROP SCHEMA "{schema}" CASCADE')
        live.close()
