"""Chainlit's data layer writes columns by the keys of its dicts: the schema we create must have them all."""

from __future__ import annotations

import sqlite3
from dataclasses import fields

from chainlit.element import ElementDict
from chainlit.step import StepDict
from chainlit.types import Feedback

from ui.storage import auth_secret, ensure_schema


def _columns(db, table: str) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_schema_has_every_column_chainlit_writes(tmp_path):
    db = ensure_schema(tmp_path / "sub" / "chainlit.db")
    assert db.is_absolute() and db.is_file()
    assert set(StepDict.__annotations__) - {"feedback"} <= _columns(db, "steps")
    assert set(ElementDict.__annotations__) - {"path"} <= _columns(db, "elements")
    assert {f.name for f in fields(Feedback)} <= _columns(db, "feedbacks")
    assert {"id", "createdAt", "name", "userId", "userIdentifier", "tags", "metadata"} <= _columns(db, "threads")
    assert {"id", "identifier", "metadata", "createdAt"} <= _columns(db, "users")
    ensure_schema(db)  # idempotent


def test_schema_completes_an_older_file(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # the docs' schema: no autoCollapse, modes, command...
        conn.execute('CREATE TABLE steps ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, '
                     '"threadId" TEXT NOT NULL, "streaming" BOOLEAN NOT NULL)')
    ensure_schema(db)
    assert {"autoCollapse", "modes", "command", "defaultOpen"} <= _columns(db, "steps")


def test_auth_secret_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    first = auth_secret(tmp_path)
    assert len(first) >= 32 and auth_secret(tmp_path) == first
    assert (tmp_path / "chainlit_auth_secret").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "from-env")
    assert auth_secret(tmp_path) == "from-env"
