"""The model recorder on both engines: a task's calls are numbered per run, and a task run again (after a failure
or an interrupt) replaces what its earlier run recorded, later calls included."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from agent.runtime.recording import AskedFrom, ModelRecorder


def _asked(execution: object) -> AskedFrom:
    return AskedFrom(thread_id="t", checkpoint_ns="", checkpoint_id="c1", root_checkpoint_id="c1", node="agent",
                     execution=execution)


def _rows(recorder: ModelRecorder) -> list[tuple]:
    return [tuple(r) for r in recorder._conn.execute(
        "SELECT call_index, type, node FROM model_responses WHERE thread_id = 't' ORDER BY call_index").fetchall()]


def _test_a_rerun_task_replaces_its_earlier_calls(location) -> None:
    recorder = ModelRecorder.open(location)
    try:
        first_run = object()
        for text in ("one", "two", "three"):
            recorder.record(_asked(first_run), AIMessage(text))
        assert [r[0] for r in _rows(recorder)] == [0, 1, 2]
        rerun = object()
        recorder.record(_asked(rerun), AIMessage("again"))
        assert [r[0] for r in _rows(recorder)] == [0]
        blob = recorder._conn.execute("SELECT response FROM model_responses WHERE thread_id = 't'").fetchone()[0]
        assert b"again" in bytes(blob)
    finally:
        recorder.close()


def test_on_sqlite(tmp_path):
    _test_a_rerun_task_replaces_its_earlier_calls(tmp_path / "cp.db")


def test_on_postgresql(postgres_url):
    _test_a_rerun_task_replaces_its_earlier_calls(postgres_url)
