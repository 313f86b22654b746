"""Shared pieces of the HTTP service tests: a shop on disk, tokens, an in-process client, SSE parsing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from agent.api import create_app
from agent.auth import OperatorTokens, mint_customer_token
from agent.settings import Settings
from tests.fixtures_data import small_dataset
from tools import RetailStore

SECRET = "test-secret-" + "x" * 32
LENA, OMAR = "lena_moreau_3307", "omar_haddad_1234"


def shop_settings(root: Path, **overrides: object) -> Settings:
    """A seeded store and empty checkpoints under ``root``; on the PostgreSQL database that
    ``DESKGRAPH_DATABASE_URL`` names instead when it is set (``on_both_engines``)."""
    settings = Settings(store_db=root / "store.db", checkpoint_db=root / "cp.db", today=dt.date(2026, 11, 26),
                        customer_token_secret=SECRET, _env_file=None, **overrides)
    store = RetailStore.open(settings.store_location)
    try:
        if store.counts()["users"] == 0:
            store.load_json(small_dataset())
    finally:
        store.close()
    return settings


def operator_headers(settings: Settings, name: str = "alice") -> dict[str, str]:
    """A fresh operator token as a header."""
    return {"Authorization": f"Bearer {OperatorTokens(settings.store_location).issue(name)}"}


def customer_headers(user_id: str) -> dict[str, str]:
    """A customer token as a header."""
    return {"Authorization": f"Bearer {mint_customer_token(user_id, SECRET, 600)}"}


@asynccontextmanager
async def client(settings: Settings, model: object, *,
                 raise_app_exceptions: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process (lifespan included), addressed as 127.0.0.1."""
    app = create_app(settings, model=model)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=30) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


def events(text: str) -> list[dict]:
    """The SSE body's events (without the final ``done``)."""
    return [json.loads(block.split("data: ", 1)[1]) for block in text.strip().split("\n\n")
            if "data: " in block and not block.startswith("event: done")]


def run_cli(monkeypatch, tmp_path: Path, *args: str):  # noqa: ANN001, ANN201 - pytest's and typer's types
    """``deskgraph <args>`` in-process, in ``tmp_path`` (no .env of the checkout), with settings read afresh."""
    from typer.testing import CliRunner

    from agent.cli import _register, app
    from agent.settings import get_settings

    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    _register()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()
