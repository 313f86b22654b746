"""Retention: the product's saver passes LangGraph's checkpointer conformance suite (the extended capabilities
too), and prune / delete / vacuum remove what they should and nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from typer.testing import CliRunner

from agent.cli import _register, app
from agent.runtime import Reply, SupportRuntime, ThreadNotFoundError
from agent.runtime.retention import (
    PruneReport,
    checkpoint_time,
    file_bytes,
    parse_age,
    prune,
    thread_usage,
    vacuum,
)
from agent.runtime.storage import open_checkpointer
from agent.settings import Settings, get_settings
from agent.testing import ScriptedChatModel
from tests.graph.api_support import shop_settings
from tests.graph.saver_checks import two_writers_lose_nothing
from tools.db.connect import connect

LENA = "lena.moreau5521@example.com"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return shop_settings(tmp_path, ui_db=tmp_path / "chainlit.db")


async def _chat(rt: SupportRuntime, model: ScriptedChatModel, thread: str, turns: int) -> list[str]:
    """A conversation of ``turns`` customer messages; the replies."""
    replies = []
    for n in range(turns):
        model.extend([f"Reply {n} in {thread}: " + "details " * 40])
        events = [e async for e in rt.send(thread, LENA if n == 0 else f"message {n} " + "words " * 40)]
        replies += [e.text for e in events if isinstance(e, Reply)]
    return replies


async def _messages(rt: SupportRuntime, thread: str) -> list[str]:
    return [str(m.content) for m in (await rt.view(thread)).messages]


# --- the saver against LangGraph's conformance suite --------------------------------------------------------
async def test_the_product_saver_passes_every_conformance_capability(tmp_path):
    made = 0

    @checkpointer_test(name="deskgraph-sqlite")
    async def product_saver() -> AsyncIterator:
        nonlocal made
        made += 1
        conn, saver = await open_checkpointer(tmp_path / f"conformance-{made}.db")
        yield saver
        await conn.close()

    report = await validate(product_saver)
    results = {name: result.passed for name, result in report.results.items()}
    # Every capability detected and passed: the extended ones (prune, copy_thread, delete_for_runs) included.
    assert results == dict.fromkeys(
        ["put", "put_writes", "get_tuple", "list", "delete_thread", "delete_for_runs", "copy_thread", "prune"],
        True), {n: r.failures for n, r in report.results.items()}


# --- prune keeps the message history of what it keeps -------------------------------------------------------
@pytest.mark.usefixtures("on_both_engines")
async def test_keep_latest_keeps_the_whole_history_and_the_thread_goes_on(tmp_path):
    settings = shop_settings(tmp_path)
    model = ScriptedChatModel()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _chat(rt, model, "old", 3)
        await _chat(rt, model, "other", 2)
        before, other = await _messages(rt, "old"), await _messages(rt, "other")
        other_checkpoints = [c.checkpoint_id for c in await rt.checkpoints("other")]
        assert len(before) == 8 and (await thread_usage(rt.saver))["old"].checkpoints > 3

        await rt.saver.aprune(["old"])  # strategy keep_latest

        # Read by a fresh process too (no cached history): only the newest checkpoint, every message in it.
        assert len(await rt.checkpoints("old")) == 1
        rt.saver.cache.forget_thread("old")
        assert await _messages(rt, "old") == before
        assert await _messages(rt, "other") == other
        assert [c.checkpoint_id for c in await rt.checkpoints("other")] == other_checkpoints
        await _chat(rt, model, "old", 1)  # resumable: the next turn sees the earlier messages
        assert (await _messages(rt, "old"))[:8] == before and len(await _messages(rt, "old")) == 10
    model.assert_complete()


@pytest.mark.usefixtures("on_both_engines")
async def test_copy_thread_carries_the_history(tmp_path):
    settings = shop_settings(tmp_path)
    model = ScriptedChatModel()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _chat(rt, model, "a", 2)
        await rt.saver.acopy_thread("a", "b")
        assert await _messages(rt, "b") == await _messages(rt, "a")
        with pytest.raises(ValueError, match="already has checkpoints"):
            await rt.saver.acopy_thread("a", "b")
    model.assert_complete()


# --- delete and prune leave other threads intact; vacuum shrinks the file ------------------------------------
@pytest.mark.usefixtures("on_both_engines")
async def test_delete_removes_every_row_of_the_thread_and_nothing_else(tmp_path):
    settings = shop_settings(tmp_path)
    model = ScriptedChatModel()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _chat(rt, model, "gone", 2)
        await _chat(rt, model, "kept", 2)
        kept = await _messages(rt, "kept")
        await rt.delete_thread("gone")
        assert not (await rt.view("gone")).exists and await rt.threads() == ["kept"]
        assert await _messages(rt, "kept") == kept
        assert await rt.leases.owner_of("gone") is None and await rt.leases.owner_of("kept") is not None
        with pytest.raises(ThreadNotFoundError):
            await rt.delete_thread("gone")
    writes = "checkpoint_writes" if settings.database_engine == "postgres" else "writes"
    for table in (writes, "checkpoints", "model_responses", "thread_claims"):
        db = connect(settings.checkpoint_location, "checkpoints")
        assert db.execute(f"SELECT count(*) FROM {table} WHERE thread_id = 'gone'").fetchone()[0] == 0, table
        db.close()
    model.assert_complete()


@pytest.mark.usefixtures("on_both_engines")
async def test_prune_by_age_deletes_old_threads_on_both_engines(tmp_path):
    settings = shop_settings(tmp_path)
    model = ScriptedChatModel()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _chat(rt, model, "old", 1)
        await _chat(rt, model, "new", 1)
        newest = {u.thread_id: u.last_active for u in (await thread_usage(rt.saver)).values()}
        report = await prune(rt.saver, rt.leases, older_than=dt.timedelta(seconds=0), now=newest["new"])
        assert report.deleted_threads == ["old"] and await rt.threads() == ["new"]
    model.assert_complete()



async def test_prune_by_age_then_vacuum_shrinks_the_file(settings):
    model = ScriptedChatModel()
    async with SupportRuntime.open(settings, model=model) as rt:
        for thread in ("t1", "t2", "t3"):
            await _chat(rt, model, thread, 4)
        usage = await thread_usage(rt.saver)
        assert {u.checkpoints > 4 and u.bytes > 1000 for u in usage.values()} == {True}
        t3 = await _messages(rt, "t3")
        now = dt.datetime.now(dt.UTC)
        assert await prune(rt.saver, rt.leases, older_than=parse_age("30d"), now=now) == PruneReport()  # all new
        # 30 days after t3's first turn, only t1 and t2 (finished before it began) are older than 30 days.
        t3_began = min(checkpoint_time(c.checkpoint_id) for c in await rt.checkpoints("t3"))
        dry = await prune(rt.saver, rt.leases, older_than=parse_age("30d"), keep_last=2,
                          now=t3_began + dt.timedelta(days=30), dry_run=True)
        assert dry.trimmed_threads == ["t1", "t2"] and dry.deleted_checkpoints == 0
        later = now + dt.timedelta(days=31)
        report = await prune(rt.saver, rt.leases, older_than=parse_age("30d"), now=later,
                             delete=rt.delete_thread)
        assert sorted(report.deleted_threads) == ["t1", "t2", "t3"]
        assert await rt.threads() == []
        assert t3  # (read before the prune)
    before = file_bytes(settings.checkpoint_db)
    _, after = await vacuum(settings.checkpoint_db)
    assert after < before / 2, (before, after)
    model.assert_complete()


@pytest.mark.usefixtures("on_both_engines")
async def test_prune_keep_last_trims_only_old_threads(tmp_path):
    settings = shop_settings(tmp_path)
    model = ScriptedChatModel()
    async with SupportRuntime.open(settings, model=model) as rt:
        await _chat(rt, model, "old", 3)
        cutoff_reference = dt.datetime.now(dt.UTC)
        await _chat(rt, model, "new", 2)
        old, new = await _messages(rt, "old"), await _messages(rt, "new")
        new_checkpoints = len(await rt.checkpoints("new"))
        # "older than 0s", as seen from the moment between the two conversations: only "old" is older.
        report = await prune(rt.saver, rt.leases, older_than=dt.timedelta(0), keep_last=2, now=cutoff_reference)
        assert report.trimmed_threads == ["old"] and report.deleted_checkpoints > 0
        assert len(await rt.checkpoints("old")) == 2 and len(await rt.checkpoints("new")) == new_checkpoints
        rt.saver.cache.forget_thread("old")
        assert await _messages(rt, "old") == old and await _messages(rt, "new") == new
    model.assert_complete()


# --- the commands -------------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(settings, monkeypatch):
    for name in ("store_db", "checkpoint_db", "ui_db"):
        monkeypatch.setenv(f"DESKGRAPH_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    _register()
    yield settings
    get_settings.cache_clear()


def test_commands_delete_prune_list_and_vacuum(cli_env):
    settings = cli_env
    model = ScriptedChatModel()

    async def conversations() -> None:
        async with SupportRuntime.open(settings, model=model) as rt:
            await _chat(rt, model, "web-1", 2)
            await _chat(rt, model, "cli-2", 2)

    asyncio.run(conversations())  # the commands run their own event loop: this test has none running
    # The web UI's copy of conversations, as versions before the checkpoint data layer kept it: still cleaned up.
    ui = sqlite3.connect(settings.ui_db)
    ui.execute('CREATE TABLE threads ("id" TEXT PRIMARY KEY, "name" TEXT)')
    ui.execute('CREATE TABLE steps ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, '
               '"threadId" TEXT NOT NULL, "streaming" BOOLEAN NOT NULL)')
    ui.execute("INSERT INTO threads (id, name) VALUES ('web-1', 'x'), ('cli-2', 'y')")
    ui.execute("INSERT INTO steps (id, name, type, threadId, streaming) VALUES ('s1', 'n', 'run', 'web-1', 0)")
    ui.commit()

    runner = CliRunner()
    listed = runner.invoke(app, ["threads", "list"])
    assert listed.exit_code == 0 and "checkpoints," in listed.output and " bytes" in listed.output

    unknown = runner.invoke(app, ["threads", "delete", "nope"])
    assert unknown.exit_code == 2 and unknown.output.strip() == "error: no thread 'nope'"
    bad_age = runner.invoke(app, ["threads", "prune", "--older-than", "soon"])
    assert bad_age.exit_code == 2 and len(bad_age.output.strip().splitlines()) == 1

    done = runner.invoke(app, ["threads", "delete", "web-1"])
    assert done.exit_code == 0, done.output
    assert ui.execute("SELECT id FROM threads").fetchall() == [("cli-2",)]
    assert ui.execute("SELECT count(*) FROM steps").fetchone() == (0,)
    ui.close()

    dry = runner.invoke(app, ["threads", "prune", "--older-than", "0s", "--dry-run"])
    assert dry.exit_code == 0 and "would delete cli-2" in dry.output
    pruned = runner.invoke(app, ["threads", "prune", "--older-than", "0s", "--keep-last", "1"])
    assert pruned.exit_code == 0 and "trim cli-2" in pruned.output, pruned.output
    vacuumed = runner.invoke(app, ["db", "vacuum"])
    assert vacuumed.exit_code == 0 and "checkpoints" in vacuumed.output, vacuumed.output
    model.assert_complete()


# --- two writers on one thread at once (what the conformance suite does not try) ----------------------------
async def test_two_savers_writing_one_thread_at_once_lose_nothing(tmp_path):
    """Two processes' savers on one file: SQLite's locking serializes them, nothing is lost (saver_checks)."""
    path = tmp_path / "shared.db"
    opened = [await open_checkpointer(path), await open_checkpointer(path)]
    try:
        await two_writers_lose_nothing(opened[0][1], opened[1][1])
    finally:
        for conn, _ in opened:
            await conn.close()
