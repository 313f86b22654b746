"""`deskgraph data seed|import|export`: fill, load and save the retail store."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agent.cli import app
from tools.db.urls import redacted

data_app = typer.Typer(help="Seed, import and export the retail store data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

COLLECTIONS = ("users", "orders", "products")
DbOption = typer.Option(None, "--db", help="The store: a SQLite file or a postgresql:// URL (default: the settings' "
                        "DESKGRAPH_DATABASE_URL, else store_db).")


def _fail(msg: str, code: int = 1) -> None:
    typer.echo(f"Error: {msg}", err=True)
    raise typer.Exit(code)


def _db_path(db: str | None) -> str | Path:
    if db is None:
        from agent.settings import get_settings

        db = get_settings().store_location
    from tools.db import UnsupportedDatabaseError, database_engine, sqlite_path

    try:  # a database URL is not a file path: never make folders named after its scheme
        if database_engine(db) == "sqlite":
            Path(sqlite_path(db)).parent.mkdir(parents=True, exist_ok=True)
    except UnsupportedDatabaseError as exc:
        _fail(str(exc), 2)
    return db


def _open(db: Path | None):
    import psycopg

    from tools import RetailStore

    path = _db_path(db)
    try:
        return RetailStore.open(path)
    except psycopg.OperationalError:
        raise  # the CLI's entry point says it in one line
    except Exception as e:  # noqa: BLE001 - one-line error for an unusable file
        _fail(f"cannot open store {redacted(path)}: {e}")


def _counts_line(store) -> str:
    c = store.counts()
    return f"users={c['users']} orders={c['orders']} products={c['products']}"


@data_app.command("seed")
def seed(
    db: str | None = DbOption,
    customers: int | None = typer.Option(None, "--customers", min=1,
                                         help="Number of users to generate (default: the demo store, 400)."),
    seed_: int | None = typer.Option(None, "--seed", help="Random seed (same seed, same data)."),
) -> None:
    """Replace the store's data with a generated, deterministic dataset (by default the demo store that the
    scenarios name: 200 customers of seed 0 and a second cohort of 200)."""
    from tools.generator import demo_dataset, generate_dataset

    if customers is None and seed_ is None:
        data = demo_dataset()
    else:
        data = generate_dataset(customers=customers or 200, seed=seed_ or 0)
    store = _open(db)
    try:
        store.load_json(data)
        typer.echo(f"seeded {redacted(_db_path(db))}: {_counts_line(store)}")
    finally:
        store.close()


@data_app.command("import")
def import_(
    directory: Path = typer.Argument(..., help="Folder with users.json, orders.json and products.json."),
    db: str | None = DbOption,
) -> None:
    """Replace the store's data with the three JSON files of DIRECTORY (validated first; nothing written on error)."""
    from tools import DatasetError, validate_dataset

    if not directory.is_dir():
        _fail(f"not a directory: {directory}")
    data = {}
    for name in COLLECTIONS:
        f = directory / f"{name}.json"
        if not f.is_file():
            _fail(f"missing file: {f}")
        try:
            data[name] = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            _fail(f"bad JSON in {f}: {e}")
    try:
        validate_dataset(data)
    except DatasetError as e:
        _fail(f"wrong shape: {e}")
    store = _open(db)
    try:
        store.load_json(data)
        typer.echo(f"imported {directory} into {redacted(_db_path(db))}: {_counts_line(store)}")
    finally:
        store.close()


@data_app.command("export")
def export(
    directory: Path = typer.Argument(..., help="Folder to write users.json, orders.json and products.json to."),
    db: str | None = DbOption,
) -> None:
    """Write the store's data as users.json, orders.json and products.json (exact types, re-importable)."""
    from tools.db import database_exists

    path = _db_path(db)
    if not database_exists(path):
        _fail(f"store not found: {path}")
    store = _open(db)
    try:
        data = store.dump_json()
    finally:
        store.close()
    if directory.exists() and not directory.is_dir():
        _fail(f"not a directory: {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    for name in COLLECTIONS:
        (directory / f"{name}.json").write_text(json.dumps(data[name], indent=2) + "\n", encoding="utf-8")
    typer.echo(
        f"exported {redacted(path)} to {directory}: users={len(data['users'])} orders={len(data['orders'])} "
        f"products={len(data['products'])}"
    )
