"""Files the web front end needs besides the runtime's: Chainlit's thread-history schema and the auth secret.

Kept free of Chainlit imports so ``deskgraph ui`` can prepare both before it starts the server.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

#: Chainlit's SQLAlchemy data layer writes these tables but never creates them. The columns follow what the
#: installed chainlit 2.12 writes (``chainlit/data/sql_alchemy.py``: ``StepDict``/``Message.to_dict``,
#: ``ElementDict``, ``Feedback``); the public docs' schema lacks ``autoCollapse``, ``modes``, ``command``...
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" TEXT PRIMARY KEY,
    "identifier" TEXT NOT NULL UNIQUE,
    "metadata" JSONB NOT NULL,
    "createdAt" TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    "id" TEXT PRIMARY KEY,
    "createdAt" TEXT,
    "name" TEXT,
    "userId" TEXT,
    "userIdentifier" TEXT,
    "tags" TEXT[],
    "metadata" JSONB,
    FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS steps (
    "id" TEXT PRIMARY KEY,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "threadId" TEXT NOT NULL,
    "parentId" TEXT,
    "streaming" BOOLEAN NOT NULL,
    "waitForAnswer" BOOLEAN,
    "isError" BOOLEAN,
    "metadata" JSONB,
    "tags" TEXT[],
    "input" TEXT,
    "output" TEXT,
    "createdAt" TEXT,
    "command" TEXT,
    "modes" JSONB,
    "start" TEXT,
    "end" TEXT,
    "generation" JSONB,
    "showInput" TEXT,
    "language" TEXT,
    "indent" INT,
    "defaultOpen" BOOLEAN,
    "autoCollapse" BOOLEAN,
    "icon" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS elements (
    "id" TEXT PRIMARY KEY,
    "threadId" TEXT,
    "type" TEXT,
    "url" TEXT,
    "chainlitKey" TEXT,
    "name" TEXT NOT NULL,
    "display" TEXT,
    "objectKey" TEXT,
    "size" TEXT,
    "page" INT,
    "language" TEXT,
    "forId" TEXT,
    "mime" TEXT,
    "props" JSONB,
    "autoPlay" BOOLEAN,
    "playerConfig" JSONB,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" TEXT PRIMARY KEY,
    "forId" TEXT NOT NULL,
    "threadId" TEXT NOT NULL,
    "value" INT NOT NULL,
    "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE
);
"""

#: Columns added to a table after a first release; an older file gets them with ALTER TABLE.
_LATE_COLUMNS = {
    "steps": {"command": "TEXT", "modes": "JSONB", "defaultOpen": "BOOLEAN", "autoCollapse": "BOOLEAN",
              "icon": "TEXT", "indent": "INT"},
    "elements": {"props": "JSONB", "autoPlay": "BOOLEAN", "playerConfig": "JSONB", "mime": "TEXT"},
}


def ensure_schema(db_path: Path) -> Path:
    """Create (or complete) Chainlit's tables in the SQLite file; return its absolute path."""
    db_path = Path(db_path).expanduser().resolve()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    try:
        conn.executescript(SCHEMA)
        for table, columns in _LATE_COLUMNS.items():
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    conn.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')
        conn.commit()
    finally:
        conn.close()
    return db_path


#: Chainlit's rows of one thread, dependents first: (table, the column naming the thread). Deleted explicitly:
#: SQLite honours the schema's ON DELETE CASCADE only on connections that turned foreign keys on.
_THREAD_ROWS = (("feedbacks", "threadId"), ("elements", "threadId"), ("steps", "threadId"), ("threads", "id"))


def delete_thread_history(db_path: Path, thread_id: str) -> int:
    """Delete the web UI's history of one thread (its Chainlit thread, steps, elements and feedback; the Chainlit
    thread id is the LangGraph thread id); how many rows went. A missing file or table deletes nothing."""
    db_path = Path(db_path)
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        deleted = 0
        for table, column in _THREAD_ROWS:
            if table in present:
                deleted += conn.execute(f'DELETE FROM {table} WHERE "{column}" = ?', (thread_id,)).rowcount
        conn.commit()
    finally:
        conn.close()
    return deleted


def database_url(db_path: Path) -> str:
    """The SQLAlchemy async URL of the SQLite file."""
    return f"sqlite+aiosqlite:///{Path(db_path).resolve()}"


def auth_secret(var_dir: Path) -> str:
    """``CHAINLIT_AUTH_SECRET`` from the environment, else one generated once and kept in ``var_dir``."""
    if os.environ.get("CHAINLIT_AUTH_SECRET"):
        return os.environ["CHAINLIT_AUTH_SECRET"]
    path = Path(var_dir) / "chainlit_auth_secret"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret
