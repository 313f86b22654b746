"""The runtime's PostgreSQL saver (``agent.runtime.postgres_saver``): LangGraph's conformance suite, two writers
on one thread at once, the thread copy forking needs, and the delta-history cache on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

from langgraph.checkpoint.conformance import checkpointer_test, validate

from agent.runtime.postgres_saver import open_postgres_checkpointer
from graphs.state import delta_channels
from tests.graph.saver_checks import two_writers_lose_nothing


async def test_the_postgres_saver_passes_the_conformance_suite(postgres_server):
    @checkpointer_test(name="deskgraph-postgres")
    async def product_saver() -> AsyncIterator:
        async with open_postgres_checkpointer(postgres_server.new_database(), delta_channels()) as saver:
            yield saver

    report = await validate(product_saver)
    results = {name: result.passed for name, result in report.results.items()}
    failures = {n: r.failures for n, r in report.results.items()}
    # The base capabilities, prune, and the copy a fork needs (LangGraph's PostgreSQL saver has no copy_thread);
    # delete_for_runs is not implemented (the product never deletes by run), so the suite does not detect it.
    for capability in ("put", "put_writes", "get_tuple", "list", "delete_thread", "copy_thread", "prune"):
        assert results.get(capability) is True, (capability, failures)
    assert not [name for name, passed in results.items() if passed is False], failures


async def test_two_savers_writing_one_thread_at_once_lose_nothing(postgres_url):
    """Two replicas' savers (two pools on one database) write one thread at once: nothing is lost (saver_checks)."""
    async with open_postgres_checkpointer(postgres_url, delta_channels()) as first, \
            open_postgres_checkpointer(postgres_url, delta_channels()) as second:
        await two_writers_lose_nothing(first, second)


def _dump(values):
    return [m.model_dump() for m in values.get("messages", [])]


async def test_cached_history_equals_what_postgres_alone_rebuilds(postgres_url):
    """The delta-history cache on PostgreSQL: after a conversation with tool calls and a confirmed write, every
    checkpoint's messages equal what the stock saver rebuilds from the rows, and reads were answered from memory."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from agent.testing import ScriptedChatModel, tool_call
    from graphs import GraphOptions, build_support_graph
    from tests.fixtures_data import small_dataset
    from tools import RetailStore

    store = RetailStore.open(postgres_url)
    store.load_json(small_dataset())
    model = ScriptedChatModel()
    config = {"configurable": {"thread_id": "t"}}
    async with open_postgres_checkpointer(postgres_url, delta_channels()) as saver:
        graph = build_support_graph(model=model, store=store, checkpointer=saver,
                                    options=GraphOptions(dialogue="agent"))
        model.extend(["hello"])
        await graph.ainvoke({"messages": [HumanMessage("hi lena.moreau5521@example.com")]}, config)
        for i in range(8):
            model.extend([tool_call("get_order_details", order_id="#W1000002"), f"answer {i}"])
            await graph.ainvoke({"messages": [HumanMessage(f"question {i}")]}, config)
        model.extend([tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed"), "done"])
        await graph.ainvoke({"messages": [HumanMessage("cancel #W1000001")]}, config)
        await graph.ainvoke({"messages": [HumanMessage("yes")]}, config)
        model.assert_complete()
        assert saver.cache.hits > 8
        assert store.order_record("#W1000001")["status"] == "cancelled"

        async with await psycopg_connection(postgres_url) as conn:
            plain = build_support_graph(model=model, store=store, options=GraphOptions(dialogue="agent"),
                                        checkpointer=AsyncPostgresSaver(conn))
            history = [snapshot async for snapshot in graph.aget_state_history(config)]
            assert len(history) > 30
            for snapshot in history:
                assert _dump(snapshot.values) == _dump((await plain.aget_state(snapshot.config)).values)
    store.close()


async def psycopg_connection(url: str):
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    return await AsyncConnection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)


def test_writes_another_process_left_at_a_checkpoint_make_the_cache_forget_it():
    from agent.runtime.checkpoints import DeltaHistoryCache

    cache = DeltaHistoryCache(delta_channels())
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}}
    cache.learn(config, {"messages": {"seed": [], "writes": []}})
    cache.record_writes(config, [("messages", ["mine"])], "task-mine", "")
    cache.reconcile(config, [("task-mine", "messages", ["mine"])])  # our own write: still known
    assert cache.lookup(config, ["messages"]) is not None
    cache.reconcile(config, [("task-mine", "messages", ["mine"]), ("task-theirs", "messages", ["theirs"])])
    assert cache.lookup(config, ["messages"]) is None  # the next read goes to the database


async def test_a_replica_starting_waits_for_another_ones_setup_beyond_the_turn_lock_timeout(postgres_url):
    """A replica's set-up that outlasts the turns' lock timeout (a loaded machine) must not fail the next replica's
    start: start-up waits for the set-up lock with its own, longer timeout, and hands the pool's connection back
    with the turns' timeout."""
    import asyncio

    import psycopg

    from agent.runtime.postgres_saver import _SETUP_LOCK_KEY

    holder = await psycopg.AsyncConnection.connect(postgres_url, autocommit=True)
    await holder.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))  # another replica setting up
    asyncio.get_running_loop().call_later(1.0, lambda: asyncio.ensure_future(
        holder.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))))
    try:
        async with open_postgres_checkpointer(postgres_url, delta_channels(), lock_timeout_ms=200) as saver:
            async with saver.conn.connection() as conn:
                timeout = (await (await conn.execute("SHOW lock_timeout")).fetchone())["lock_timeout"]
            assert timeout == "200ms"
    finally:
        await holder.close()


async def test_a_replica_waiting_to_set_up_does_not_stall_the_one_setting_up(postgres_server):
    """Replicas starting together: while one sets the saver's tables up (LangGraph's migrations build indexes
    CONCURRENTLY, which wait for every older snapshot in the database), another waits for its turn holding no
    snapshot. A waiting statement would hold one, and the two would wait for each other until a lock timeout
    failed the first replica's start (seen in CI as LockNotAvailable from ``saver.setup``)."""
    import asyncio

    import psycopg

    from agent.runtime.postgres_saver import _SETUP_LOCK_KEY

    url = postgres_server.new_database()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as first:
        await first.execute("CREATE TABLE t (x int)")
        await first.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))  # the first replica is setting up

        async def second_replica() -> None:
            async with open_postgres_checkpointer(url, delta_channels()) as saver:
                assert await saver.athread_ids() == []

        second = asyncio.create_task(second_replica())
        for _ in range(300):  # until the second replica has asked for the setup lock (it is waiting now)
            asking = await (await first.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE %s",
                ("%advisory_lock(%",))).fetchone()
            if asking[0]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the second replica never asked for the setup lock")
        assert not second.done()
        await first.execute("SET lock_timeout = 3000")
        await first.execute("CREATE INDEX CONCURRENTLY t_x ON t (x)")  # as LangGraph's migrations do
        await first.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        await asyncio.wait_for(second, timeout=60)


async def test_a_turns_second_read_of_its_thread_is_answered_from_its_first(postgres_url, monkeypatch):
    """postgres_reads.PostgresReadOnce: once the runtime holds a thread's lease (keep_next_read), the next read of the
    thread's latest checkpoint is kept and answers the read after it, once; a write to the thread, a read of
    another namespace or the lease given back leave the database to answer. The kept copy is the first read's
    as it came: changing the first tuple changes nothing of the second."""
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    selects = []
    stock_read = AsyncPostgresSaver.aget_tuple

    async def counted(self, config):
        selects.append(config["configurable"].get("checkpoint_ns", ""))
        return await stock_read(self, config)

    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", counted)
    latest = {"configurable": {"thread_id": "kept", "checkpoint_ns": ""}}
    async with open_postgres_checkpointer(postgres_url, delta_channels()) as saver:
        first = await saver.aput(latest, {**empty_checkpoint(), "id": "1f0-k1", "channel_values": {"stage": "intake"},
                                          "channel_versions": {"stage": "1"}}, {"source": "input", "step": -1}, {})
        saver.keep_next_read("kept")
        one = await saver.aget_tuple(latest)
        one.checkpoint["channel_versions"]["stage"] = "changed by the first reader"
        two = await saver.aget_tuple(latest)
        assert len(selects) == 1 and two.checkpoint["channel_versions"] == {"stage": "1"}
        assert two.config == one.config and two.metadata == one.metadata and two.checkpoint["id"] == "1f0-k1"
        await saver.aget_tuple(latest)  # given once: the database again
        assert len(selects) == 2

        saver.keep_next_read("kept")
        await saver.aget_tuple(latest)
        await saver.aput(first, {**empty_checkpoint(), "id": "1f0-k2"}, {"source": "loop", "step": 0}, {})
        assert (await saver.aget_tuple(latest)).checkpoint["id"] == "1f0-k2"  # the write dropped the kept read
        assert len(selects) == 4

        saver.keep_next_read("kept")
        await saver.aget_tuple({"configurable": {"thread_id": "kept", "checkpoint_ns": "flow:1"}})
        await saver.aget_tuple(latest)
        saver.drop_kept_read("kept")  # the lease given back
        await saver.aget_tuple(latest)
        assert selects[4:] == ["flow:1", "", ""]


async def test_a_turn_on_postgresql_reads_its_thread_once(postgres_url, tmp_path, monkeypatch):
    """The runtime keeps its read of the thread under the lease for the graph's own (one statement less a turn), and
    the turn still starts from the thread's latest state."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from agent.runtime import Reply, SupportRuntime
    from agent.testing import ScriptedChatModel
    from tests.graph.api_support import shop_settings

    monkeypatch.setenv("DESKGRAPH_DATABASE_URL", postgres_url)
    selects = []
    stock_read = AsyncPostgresSaver.aget_tuple

    async def counted(self, config):
        if not config["configurable"].get("checkpoint_ns") and not config["configurable"].get("checkpoint_id"):
            selects.append(config["configurable"]["thread_id"])
        return await stock_read(self, config)

    monkeypatch.setattr(AsyncPostgresSaver, "aget_tuple", counted)
    model = ScriptedChatModel(["Hello.", "Second answer."])
    async with SupportRuntime.open(shop_settings(tmp_path, dialogue="agent"), model=model) as runtime:
        [event async for event in runtime.send("once", "hi")]
        selects.clear()
        events = [event async for event in runtime.send("once", "and again")]
        assert [e.text for e in events if isinstance(e, Reply)] == ["Second answer."]
        assert selects == ["once"]
        said = [str(m.content) for m in (await runtime.view("once")).messages if m.type in ("human", "ai")]
        assert said == ["hi", "Hello.", "and again", "Second answer."]
    model.assert_complete()
