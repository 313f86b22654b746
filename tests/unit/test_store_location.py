"""Where the store lives: a file path, ``:memory:``, a ``sqlite:///`` URL or a ``postgresql://`` URL; any other
database URL (or one a ``Path`` has mangled) is refused with a clear error before a file or folder is made (a URL
used to be taken for a path: folders named "postgresql:" appeared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tools import RetailStore, UnsupportedDatabaseError
from tools.store.connection import sqlite_path


@pytest.mark.parametrize(("location", "path"), [
    ("var/store.db", "var/store.db"), ("/srv/store.db", "/srv/store.db"), (":memory:", ":memory:"),
    ("file:store.db?mode=ro", "file:store.db?mode=ro"), ("C:/data/store.db", "C:/data/store.db"),
    ("sqlite:///var/store.db", "var/store.db"), ("sqlite:////srv/store.db", "/srv/store.db"),
])
def test_paths_and_sqlite_urls_name_a_file(location, path):
    assert sqlite_path(location) == path


@pytest.mark.parametrize("location", [Path("postgresql://shop@db/x"), "mysql://db/x", "sqlite:/var/store.db",
                                      Path("sqlite:///var/store.db")])
def test_other_urls_are_refused_before_anything_is_made(tmp_path, monkeypatch, location):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsupportedDatabaseError) as refused:
        RetailStore.open(location)
    assert list(tmp_path.iterdir()) == []
    scheme = str(location).split(":", 1)[0]
    assert scheme in str(refused.value)


def test_a_sqlite_url_opens_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = RetailStore.open("sqlite:///var/store.db")
    store.close()
    assert (tmp_path / "var" / "store.db").is_file()


def test_the_cli_says_so_in_one_line(tmp_path, monkeypatch):
    from agent.cli import _register, app

    _register()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["data", "seed", "--db", "mysql://db.internal/deskgraph"])
    assert result.exit_code == 2 and "cannot open mysql:// databases" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_postgresql_url_opens_that_database(postgres_url):
    store = RetailStore.open(postgres_url)
    try:
        assert store.engine == "postgres" and store.counts() == {"users": 0, "orders": 0, "products": 0}
    finally:
        store.close()


def test_an_unreachable_postgresql_server_is_one_line_with_exit_2(tmp_path):
    import subprocess
    import sys

    deskgraph = str(Path(sys.executable).parent / "deskgraph")
    result = subprocess.run([deskgraph, "data", "seed", "--db",
                             "postgresql://shop@127.0.0.1:1/deskgraph"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot use the PostgreSQL database:") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_every_postgresql_connection_gives_up_connecting_after_a_while(postgres_url):
    """A server the network cut off refuses nothing: without a connect timeout a connection attempt waits for the
    kernel's TCP timeout (minutes). The store's connection and the saver's pool carry one, unless the URL has its
    own."""
    from tools.db.urls import CONNECT_TIMEOUT_SECONDS, connect_options

    assert connect_options(postgres_url) == {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    assert connect_options(postgres_url + "?connect_timeout=3") == {}
    store = RetailStore.open(postgres_url)
    try:
        assert f"connect_timeout={CONNECT_TIMEOUT_SECONDS}" in store.db.conn.raw.info.dsn
    finally:
        store.close()
