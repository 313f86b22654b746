"""`deskgraph db`: the deployment's databases: bring the schema up to date (`migrate`), and give the space that
deleted conversations left behind back to the file system (`vacuum`, SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import typer

from agent.cli import app
from agent.runtime.retention import vacuum
from agent.settings import get_settings
from tools.db.migrations import Role
from tools.db.urls import redacted

db_app = typer.Typer(help="The deployment's databases (SQLite files or PostgreSQL).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


@db_app.command("migrate")
def migrate_databases(
    url: str = typer.Option(None, "--url", help="The database to migrate (default: DESKGRAPH_DATABASE_URL, else the "
                                                 "store_db and checkpoint_db files)."),
    check: bool = typer.Option(False, "--check", help="Only list what is pending; exit 1 when something is."),
) -> None:
    """Apply the schema's pending migrations (tools/db/migrations.py) and LangGraph's checkpoint tables.

    Every process also migrates on start, so this is for deploying a new version before its replicas start,
    or for checking a database (`--check`). Safe to run while replicas run: migrations take a lock.
    """
    from tools.db.connect import connect
    from tools.db.migrations import migrate, pending, roles_of

    settings = get_settings()
    if url:
        settings = settings.model_copy(update={"database_url": url})
    targets: list[tuple[Role, object]] = [("store", settings.store_location)]
    if settings.database_engine == "sqlite":  # two files; PostgreSQL holds every role in one database
        targets.append(("checkpoints", settings.checkpoint_location))
    outstanding = 0
    for role, location in targets:
        db = connect(location, role, busy_timeout_ms=settings.sqlite_busy_timeout_ms, migrated=False)
        roles = roles_of(db.engine, role)
        try:
            done = pending(db.conn, db.engine, roles) if check else migrate(db.conn, db.engine, roles)
        finally:
            db.close()
        outstanding += len(done) if check else 0
        for m in done:
            typer.echo(f"{redacted(location)}\t{'pending' if check else 'applied'}\t{m.version}\t{m.name}")
        if not done:
            typer.echo(f"{redacted(location)}\tup to date")
    if not check:
        asyncio.run(_setup_saver(settings))
    raise typer.Exit(1 if outstanding else 0)


async def _setup_saver(settings) -> None:
    from agent.runtime.storage import checkpointer

    async with checkpointer(settings.checkpoint_location, settings.sqlite_busy_timeout_ms, pool_size=1):
        pass
    typer.echo(f"{redacted(settings.checkpoint_location)}\tcheckpoint tables up to date")


@db_app.command("vacuum")
def vacuum_files() -> None:
    """Compact the checkpoint, store and web UI databases (after `threads prune` or `threads delete`).

    SQLite keeps deleted pages inside the file for reuse; VACUUM rewrites the file without them. It needs a
    moment with no other writer: run it when the service is idle. On PostgreSQL, autovacuum does this.
    """
    settings = get_settings()
    if settings.database_engine == "postgres":
        typer.echo("the deployment is on PostgreSQL: its autovacuum gives space back; nothing to do here")
        raise typer.Exit(0)
    files = [("checkpoints", settings.checkpoint_location), ("store", settings.store_location),
             ("web UI", settings.ui_db)]
    failed = False
    for name, path in files:
        path = Path(path)
        if not path.exists():
            continue
        try:
            before, after = asyncio.run(vacuum(path, busy_timeout_ms=settings.sqlite_busy_timeout_ms))
        except sqlite3.OperationalError as exc:  # locked by a running service, most likely
            typer.echo(f"error: {name} ({path}): {exc}", err=True)
            failed = True
            continue
        typer.echo(f"{name}\t{path}\t{_size(before)} -> {_size(after)}")
    raise typer.Exit(1 if failed else 0)
