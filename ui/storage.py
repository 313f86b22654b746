"""Files the web front end keeps besides the runtime's: the login secret, and the clean-up of the conversation
copies that versions before the checkpoint data layer (``ui.data_layer``) wrote into ``DESKGRAPH_UI_DB``.

Kept free of Chainlit imports so ``deskgraph ui`` can prepare the secret before it starts the server.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

#: Chainlit's rows of one thread in such an older file, dependents first: (table, the column naming the thread). Deleted explicitly:
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
