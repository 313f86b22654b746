"""An undo journal of the retail store, so a replay can start from the store as it was at any checkpoint.

A recorded replay must see the store as the original run saw it: replaying "cancel my order" from before the
cancellation against today's store (where the order is already cancelled) would diverge at once. SQLite
triggers copy every changed row of the conversation tables (the retail data, the write ledger, tickets) into
``store_journal`` before it changes; each checkpoint carries the journal's position when it was saved (see
``checkpoints.CachedAsyncSqliteSaver``'s ``store_mark``), and ``rewind`` undoes everything after that position
in a scratch copy of the store. The live store is never rewound.

Triggers, not application code: every writer (tools, tickets, the ledger, another process) is journaled the
same way, and a write's journal rows commit in the write's own transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from tools.db.migrations import JOURNALED_TABLES, migrate
from tools.store import OWN_TABLES

#: The tables a conversation writes: the retail data, the write ledger and the tickets (graphs.tool_layer,
#: graphs.tickets). Operator tokens and the like are not journaled: a replay never needs them.
assert set(OWN_TABLES) <= set(JOURNALED_TABLES)

#: The metadata key of a checkpoint that holds the journal position when it was saved.
MARK_KEY = "store_journal_seq"

def _columns(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[str]]:
    """All columns, and the primary-key columns (``rowid`` for a table without a declared key)."""
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    columns = [row[1] for row in info]
    keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5] > 0] or ["rowid"]
    return columns, keys


def _json_of(alias: str, columns: Iterable[str]) -> str:
    return "json_object(" + ", ".join(f"'{c}', {alias}.\"{c}\"" for c in columns) + ")"


def _trigger_sql(conn: sqlite3.Connection, table: str) -> list[str]:
    columns, keys = _columns(conn, table)
    # The column list is in the trigger names: a changed table gets new triggers, the stale ones are dropped.
    tag = hashlib.sha1(",".join(columns).encode()).hexdigest()[:8]
    old, new_key = _json_of("OLD", columns), _json_of("NEW", keys)
    bodies = {
        "insert": f"VALUES ('{table}', 'insert', NULL, {new_key})",
        "update": f"VALUES ('{table}', 'update', {old}, {new_key})",
        "delete": f"VALUES ('{table}', 'delete', {old}, NULL)",
    }
    return [f'CREATE TRIGGER IF NOT EXISTS "journal_{table}_{op}_{tag}" AFTER {op.upper()} ON "{table}" BEGIN '
            f"INSERT INTO store_journal (tbl, op, old, new_key) {body}; END" for op, body in bodies.items()]


def install(conn: sqlite3.Connection, tables: Iterable[str] = JOURNALED_TABLES) -> None:
    """Create the journal's triggers on the tables that exist (idempotent; one transaction). The journal's table
    is migration 9 of ``tools.db.migrations``."""
    migrate(conn, "sqlite", ("store",))
    conn.execute("BEGIN IMMEDIATE")
    try:
        existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        wanted: set[str] = set()
        for table in tables:
            if table in existing:
                for statement in _trigger_sql(conn, table):
                    conn.execute(statement)
                    wanted.add(statement.split('"')[1])
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'journal_%'"
                                    ).fetchall():
            if name not in wanted:
                conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def mark(conn: sqlite3.Connection) -> int:
    """The journal's position now: every store change so far has a sequence number at most this."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'store_journal'").fetchone()
    return int(row[0]) if row else 0


def rewind(conn: sqlite3.Connection, position: int) -> int:
    """Undo, newest first, every journaled change after ``position``; how many. Only ever on a scratch copy."""
    rows = conn.execute("SELECT tbl, op, old, new_key FROM store_journal WHERE seq > ? ORDER BY seq DESC",
                        [position]).fetchall()
    first_insert: dict[str, int] = {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, op, old, new_key in rows:
            columns, keys = _columns(conn, table)
            if new_key is not None:  # insert or update: remove the row as it is now
                where = " AND ".join(f'"{k}" IS json_extract(?, \'$."{k}"\')' for k in keys)
                conn.execute(f'DELETE FROM "{table}" WHERE {where}', [new_key] * len(keys))
            if old is not None:  # update or delete: put the row back as it was
                names = ", ".join(f'"{c}"' for c in columns)
                values = ", ".join(f"json_extract(?, '$.\"{c}\"')" for c in columns)
                conn.execute(f'INSERT OR REPLACE INTO "{table}" ({names}) SELECT {values}', [old] * len(columns))
            if op == "insert" and keys == ["id"]:
                first_insert[table] = int(json.loads(new_key)["id"])
        # AUTOINCREMENT counters (ticket numbers) go back too, or the replay's ticket would get the next number.
        for table, first in first_insert.items():
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", [first - 1, table])
        conn.execute("DELETE FROM store_journal WHERE seq > ?", [position])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)



class StoreJournal:
    """The live store's journal, on a connection of its own: a mark reads only committed changes (a write in
    progress, or a precondition check that will be rolled back, on the store's own connection is not counted)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_ms: int = 5000) -> StoreJournal:
        """Install the journal in the store file at ``path`` (after the conversation tables exist)."""
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        install(conn)
        return cls(conn)

    def mark(self) -> int:
        """The journal's position now (see ``mark``)."""
        return mark(self._conn)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
