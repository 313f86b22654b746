"""Every table the product shares, in one place: numbered migrations, applied in order, each once.

A migration belongs to a role. On SQLite the roles are files: ``store`` is the store's file (the retail data and
everything the desk and the web UI keep beside it), ``checkpoints`` the checkpoint file (turn leases, thread
claims, recorded model responses, next to LangGraph's own tables). On PostgreSQL one database holds every role.
``schema_migrations`` in each database lists what was applied there; ``migrate`` applies the rest in one
transaction, under a lock, so replicas starting together apply each migration once.

The DDL is written as SQLite reads it and rendered for PostgreSQL by ``tools.db.ddl``. A step that is more than
DDL (columns a table gained after its first release) is a function of the connection and the engine.

LangGraph's checkpoint tables are not here: its savers create and migrate them (``setup()``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tools.db.ddl import for_postgres, statements
from tools.db.urls import Engine

Role = Literal["store", "checkpoints"]
ROLES: tuple[Role, ...] = ("store", "checkpoints")

#: Serialises migrations across processes on PostgreSQL (pg_advisory_xact_lock's key).
_LOCK_KEY = 0x646B_6D69  # "dkmi"
#: How long a replica starting up waits for another one's migrations or set-up (a turn's statements wait only
#: their lock timeout, a few seconds: on a loaded machine a set-up took longer than that).
STARTUP_LOCK_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class Migration:
    """One step of the schema."""

    version: int
    name: str
    role: Role
    ddl: str = ""
    run: Callable[[Any, Engine], None] | None = None

    def apply(self, conn: Any, engine: Engine) -> None:
        for statement in statements(self.ddl):
            conn.execute(for_postgres(statement) if engine == "postgres" else statement)
        if self.run is not None:
            self.run(conn, engine)


def _add_columns(table: str, columns: Sequence[str]) -> Callable[[Any, Engine], None]:
    """TEXT columns a table gained after its first release (a file made before has it without them)."""

    def run(conn: Any, engine: Engine) -> None:
        if engine == "postgres":
            for column in columns:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} TEXT")
            return
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
        for column in columns:
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    return run


_RETAIL = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY, ord INTEGER NOT NULL,
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, email TEXT NOT NULL,
    address1 TEXT NOT NULL, address2 TEXT NOT NULL, city TEXT NOT NULL, country TEXT NOT NULL,
    state TEXT NOT NULL, zip TEXT NOT NULL, addr_replaced INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS users_ord ON users(ord);
CREATE INDEX IF NOT EXISTS users_zip ON users(zip);
CREATE TABLE IF NOT EXISTS payment_methods (
    user_id TEXT NOT NULL, pos INTEGER NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL,
    brand TEXT, last_four TEXT, balance ANY,
    PRIMARY KEY (user_id, id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_orders (
    user_id TEXT NOT NULL, pos INTEGER NOT NULL, order_id TEXT NOT NULL,
    PRIMARY KEY (user_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, ord INTEGER NOT NULL, user_id TEXT NOT NULL,
    address1 TEXT NOT NULL, address2 TEXT NOT NULL, city TEXT NOT NULL, country TEXT NOT NULL,
    state TEXT NOT NULL, zip TEXT NOT NULL, addr_replaced INTEGER NOT NULL,
    status TEXT NOT NULL,
    cancel_reason TEXT, return_items TEXT, return_payment_method_id TEXT,
    exchange_items TEXT, exchange_new_items TEXT, exchange_payment_method_id TEXT,
    exchange_price_difference ANY
) STRICT;
CREATE INDEX IF NOT EXISTS orders_ord ON orders(ord);
CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id);
CREATE TABLE IF NOT EXISTS order_items (
    order_id TEXT NOT NULL, pos INTEGER NOT NULL, name TEXT NOT NULL, product_id TEXT NOT NULL,
    item_id TEXT NOT NULL, price ANY NOT NULL, options TEXT NOT NULL,
    PRIMARY KEY (order_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fulfillments (
    order_id TEXT NOT NULL, pos INTEGER NOT NULL, tracking_id TEXT NOT NULL, item_ids TEXT NOT NULL,
    PRIMARY KEY (order_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment_history (
    order_id TEXT NOT NULL, pos INTEGER NOT NULL, transaction_type TEXT NOT NULL,
    amount ANY NOT NULL, payment_method_id TEXT NOT NULL,
    PRIMARY KEY (order_id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    product_id TEXT PRIMARY KEY, ord INTEGER NOT NULL, name TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS products_ord ON products(ord);
CREATE TABLE IF NOT EXISTS variants (
    product_id TEXT NOT NULL, pos INTEGER NOT NULL, item_id TEXT NOT NULL, options TEXT NOT NULL,
    available INTEGER NOT NULL, price ANY NOT NULL,
    PRIMARY KEY (product_id, item_id)
) STRICT, WITHOUT ROWID
"""

_LEDGER = """
CREATE TABLE IF NOT EXISTS write_ledger (
    tool_call_id TEXT PRIMARY KEY,     -- a write runs at most once per tool call id
    thread TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    result TEXT NOT NULL,
    created TEXT NOT NULL
)
"""

_TICKETS = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,          -- idempotency key: a re-run turn never opens a second ticket
    thread TEXT NOT NULL,
    customer TEXT,
    reason TEXT NOT NULL,
    summary TEXT NOT NULL,
    created TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
);
CREATE TABLE IF NOT EXISTS ticket_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    key TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    created TEXT NOT NULL
)
"""

_TICKET_EVENTS = """
CREATE TABLE IF NOT EXISTS ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    thread TEXT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',   -- JSON: a proposal's tool and arguments, a read's result ...
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_events_thread ON ticket_events(thread, id)
"""

_FEEDBACK = """
CREATE TABLE IF NOT EXISTS message_feedback (
    id TEXT PRIMARY KEY,
    thread TEXT NOT NULL,
    message_id TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    comment TEXT,
    author TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (thread, message_id, author)
);
CREATE INDEX IF NOT EXISTS message_feedback_thread ON message_feedback(thread)
"""

_WEB_UI = """
CREATE TABLE IF NOT EXISTS web_thread_authors (
    thread_id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    created TEXT NOT NULL
);
-- Chainlit puts the thumbs of a live turn on the turn's run step, not on a message: the reply it stands for.
CREATE TABLE IF NOT EXISTS web_rated_steps (
    step_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    message_id TEXT NOT NULL
)
"""

_OPERATOR_TOKENS = """
CREATE TABLE IF NOT EXISTS operator_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS operator_tokens_active_name ON operator_tokens(name) WHERE revoked IS NULL
"""

_STORE_JOURNAL = """
CREATE TABLE IF NOT EXISTS store_journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL,
    op TEXT NOT NULL,      -- insert | update | delete
    old TEXT,              -- the row before (update, delete) as a JSON object
    new_key TEXT           -- the primary key after (insert, update) as a JSON object
)
"""

_TURN_LEASES = """
CREATE TABLE IF NOT EXISTS turn_leases (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL
)
"""

_THREAD_CLAIMS = """
CREATE TABLE IF NOT EXISTS thread_claims (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    claimed_at REAL NOT NULL
)
"""

_MODEL_RESPONSES = """
CREATE TABLE IF NOT EXISTS model_responses (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- the order the responses were given in
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL,             -- '' for the conversation graph, a task flow's namespace otherwise
    checkpoint_id TEXT NOT NULL,             -- the checkpoint whose task asked
    call_index INTEGER NOT NULL,             -- the task's n-th request
    root_checkpoint_id TEXT NOT NULL,        -- the conversation graph's checkpoint that task (or its flow) ran from
    node TEXT NOT NULL,                      -- the asking node's path without task ids: 'agent', 'cancel/understand'
    type TEXT NOT NULL,
    response BLOB NOT NULL,
    created REAL NOT NULL,
    UNIQUE (thread_id, checkpoint_ns, checkpoint_id, call_index)
)
"""

#: The tables a conversation writes, whose changes the store's undo journal keeps (a recorded replay rewinds a
#: scratch copy of the store with it): the retail data, the write ledger and the tickets.
JOURNALED_TABLES: tuple[str, ...] = ("users", "payment_methods", "user_orders", "orders", "order_items",
                                     "fulfillments", "payment_history", "products", "variants", "write_ledger",
                                     "tickets", "ticket_notes")

_JOURNAL_FUNCTION = """
CREATE OR REPLACE FUNCTION deskgraph_journal() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    new_key jsonb := NULL;
    k text;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        new_key := '{}'::jsonb;
        FOREACH k IN ARRAY TG_ARGV LOOP
            new_key := new_key || jsonb_build_object(k, to_jsonb(NEW) -> k);
        END LOOP;
    END IF;
    -- The journal of the table's own schema, whatever the session's search_path (a replay's scratch schema is
    -- filled from a connection to the live one).
    EXECUTE format('INSERT INTO %I.store_journal (tbl, op, old, new_key) VALUES ($1, $2, $3, $4)', TG_TABLE_SCHEMA)
    USING TG_TABLE_NAME, lower(TG_OP), CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD)::text END,
          new_key::text;
    RETURN NULL;
END
$fn$
"""


def _journal_triggers(conn: Any, engine: Engine) -> None:
    """PostgreSQL's undo journal: one row-level trigger per journaled table, the row before as JSON (SQLite's
    triggers name their columns, so ``agent.runtime.store_journal`` writes them on every open instead)."""
    if engine != "postgres":
        return
    conn.execute(_JOURNAL_FUNCTION)
    for table in JOURNALED_TABLES:
        keys = [r[0] for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(?) AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)", [table]).fetchall()]
        arguments = ", ".join(f"'{k}'" for k in keys)
        conn.execute(f"CREATE OR REPLACE TRIGGER journal_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                     f"FOR EACH ROW EXECUTE FUNCTION deskgraph_journal({arguments})")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "retail store", "store", _RETAIL),
    Migration(2, "write ledger", "store", _LEDGER),
    Migration(3, "tickets and their notes", "store", _TICKETS),
    Migration(4, "ticket close, claim and hand-back columns", "store",
              run=_add_columns("tickets", ("closed", "close_note", "claimed_by", "claimed_at", "handed_back",
                                           "hand_back_summary"))),
    Migration(5, "ticket event log", "store", _TICKET_EVENTS),
    Migration(6, "message feedback", "store", _FEEDBACK),
    Migration(7, "web UI thread authors and rated steps", "store", _WEB_UI),
    Migration(8, "operator tokens", "store", _OPERATOR_TOKENS),
    Migration(9, "store undo journal", "store", _STORE_JOURNAL),
    Migration(10, "turn leases", "checkpoints", _TURN_LEASES),
    Migration(11, "thread claims", "checkpoints", _THREAD_CLAIMS),
    Migration(12, "recorded model responses", "checkpoints", _MODEL_RESPONSES),
    Migration(13, "store undo journal triggers (PostgreSQL)", "store", run=_journal_triggers),
)

LATEST = MIGRATIONS[-1].version

_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def roles_of(engine: Engine, role: Role | None) -> tuple[Role, ...]:
    """The roles one database holds: every role on PostgreSQL, the named file's on SQLite."""
    if engine == "postgres" or role is None:
        return ROLES
    return (role,)


def applied(conn: Any) -> set[int]:
    """The versions recorded in this database (none before the first migration)."""
    try:
        return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    except Exception:  # noqa: BLE001 - no table yet (sqlite3.OperationalError / psycopg UndefinedTable)
        return set()


def pending(conn: Any, engine: Engine, roles: Iterable[Role]) -> list[Migration]:
    """The migrations of these roles not yet applied here, in order."""
    done = applied(conn) if engine == "sqlite" else _applied_pg(conn)
    wanted = set(roles)
    return [m for m in MIGRATIONS if m.role in wanted and m.version not in done]


def _applied_pg(conn: Any) -> set[int]:
    # A failed statement would abort a PostgreSQL transaction: look the table up instead of trying it.
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return set()
    return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(conn: Any, engine: Engine, roles: Iterable[Role]) -> list[Migration]:
    """Apply what is pending, in one transaction; the migrations applied (none when up to date).

    ``conn`` is in autocommit mode (sqlite3 with ``isolation_level=None``, or ``PgConnection``): the transaction is
    this function's. Concurrent callers wait for each other and the later one finds nothing to do.
    """
    roles = tuple(roles)
    if engine == "sqlite" and not pending(conn, engine, roles):
        return []  # the common case (every open of an up-to-date file) takes no write lock
    conn.execute("BEGIN IMMEDIATE" if engine == "sqlite" else "BEGIN")
    try:
        if engine == "postgres":
            conn.execute(f"SET LOCAL lock_timeout = {STARTUP_LOCK_TIMEOUT_MS}")
            conn.execute("SELECT pg_advisory_xact_lock(?)", [_LOCK_KEY])
        conn.execute(for_postgres(_VERSIONS.strip()) if engine == "postgres" else _VERSIONS)
        todo = pending(conn, engine, roles)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for migration in todo:
            migration.apply(conn, engine)
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                         [migration.version, migration.name, now])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return todo
