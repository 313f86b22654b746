"""The store's tests run on both engines: ``store_engine`` is "sqlite" and "postgres" in turn, and ``new_store``
opens an empty store on it (an in-memory SQLite database, or a fresh database of the session's PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tools import RetailStore

ENGINES = ("sqlite", "postgres")


@pytest.fixture(params=ENGINES)
def store_engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def new_store(store_engine: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], RetailStore]]:
    """Opens empty stores on the test's engine; all are closed after the test."""
    opened: list[RetailStore] = []

    def open_one() -> RetailStore:
        if store_engine == "postgres":
            location = request.getfixturevalue("postgres_server").new_database()
        else:
            location = ":memory:"
        store = RetailStore.open(location)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
