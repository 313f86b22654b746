"""deskgraph doctor against the fake server: passes, and explains failures."""

from __future__ import annotations

from agent.llm.doctor import doctor, run_checks
from agent.settings import Settings
from tests.unit.fake_openai import Fail, FakeOpenAI, text, tool_calls


def _settings(url: str) -> Settings:
    return Settings(llm_base_url=url, llm_model="fake-qwen", llm_timeout=5, llm_max_retries=0)


def test_all_pass_structured():
    with FakeOpenAI() as fake:
        fake.push(tool_calls(("get_order_status", {"order_id": "A-1001"})), text("1, 2, 3, 4, 5"),
                  text('{"tasks": ["cancel"], "reason": "ordered by mistake"}'))
        lines: list[str] = []
        assert doctor(_settings(fake.base_url), echo=lines.append)
    out = "\n".join(lines)
    assert "✓ server reachable" in out and "✓ model served" in out
    assert "structured tool_calls" in out and "✓ streaming" in out
    assert "✓ structured output: understanding read as ['cancel']" in out
    # the flows dialogue's own request: its prompt and the understanding schema, constrained
    asked = fake.requests[-1]
    assert asked["response_format"]["type"] == "json_schema"
    assert asked["response_format"]["json_schema"]["name"] == "message_reading"
    assert "desk lamp" in asked["messages"][-1]["content"]


def test_recovered_call_is_reported_and_the_parser_proven_with_a_required_call():
    with FakeOpenAI() as fake:
        fake.push(text('{"name": "get_order_status", "arguments": {"order_id": "A-1001"}}'),
                  tool_calls(("get_order_status", {"order_id": "A-1001"})), text("1, 2, 3, 4"),
                  text('{"tasks": ["cancel"]}'))
        checks = run_checks(fake.base_url, "fake-qwen", _settings(fake.base_url))
    assert all(c.ok for c in checks)
    assert "recovered from text" in checks[2].detail
    assert checks[3].name == "structured tool_calls" and "tool_choice=required" in checks[3].detail
    assert fake.requests[1]["tool_choice"] == "required"


def test_calls_only_ever_as_text_mean_no_tool_parser():
    call = '{"name": "get_order_status", "arguments": {"order_id": "A-1001"}}'
    with FakeOpenAI() as fake:
        fake.push(text(call), text(call), text("1, 2, 3, 4"), text('{"tasks": ["cancel"]}'))
        checks = run_checks(fake.base_url, "fake-qwen", _settings(fake.base_url))
    assert [(c.name, c.ok) for c in checks][2:4] == [("tool call", True), ("structured tool_calls", False)]
    assert "still came back as text" in checks[3].detail and "--tool-call-parser hermes" in checks[3].fix


def test_wrong_model_name():
    with FakeOpenAI() as fake:
        checks = run_checks(fake.base_url, "Qwen/Qwen2.5-7B-Instruct", _settings(fake.base_url))
    assert [c.ok for c in checks] == [True, False]
    assert "DESKGRAPH_LLM_MODEL=fake-qwen" in checks[1].fix


def test_no_tool_call_and_server_error():
    with FakeOpenAI() as fake:
        fake.push(text("Your order is fine."), Fail.http(500))
        checks = run_checks(fake.base_url, "fake-qwen", _settings(fake.base_url))
    assert not checks[2].ok and "--tool-call-parser hermes" in checks[2].fix
    assert not checks[3].ok and "HTTP 500" in checks[3].detail


def test_unreachable_exit_message():
    fake = FakeOpenAI().start()
    url = fake.base_url
    fake.stop()
    lines: list[str] = []
    assert not doctor(_settings(url), echo=lines.append)
    assert lines[1].startswith("✗ server reachable") and any("vllm serve" in line for line in lines)


def test_a_server_that_ignores_the_schema_is_told_how_to_fix_it():
    with FakeOpenAI() as fake:
        fake.push(tool_calls(("get_order_status", {"order_id": "A-1001"})), text("1, 2, 3, 4, 5"),
                  text("Sure! I can cancel the desk lamp order for you."))
        checks = run_checks(fake.base_url, "fake-qwen", _settings(fake.base_url))
    assert [c.ok for c in checks] == [True, True, True, True, False]
    assert checks[4].name == "structured output" and "not JSON" in checks[4].detail
    assert "response_format json_schema" in checks[4].fix and "DESKGRAPH_DIALOGUE=agent" in checks[4].fix


def test_llama_cpp_is_not_failed_for_recovering_calls():
    """llama.cpp (the embedded model) enforces no tool_choice=required: its calls are recovered by design."""
    call = '{"name": "get_order_status", "arguments": {"order_id": "A-1001"}}'
    with FakeOpenAI() as fake:
        fake.owned_by = "llamacpp"
        fake.push(text(call), text(call), text("1, 2, 3, 4"), text('{"tasks": ["cancel"]}'))
        checks = run_checks(fake.base_url, "fake-qwen", _settings(fake.base_url))
    assert all(c.ok for c in checks) and "not on llama.cpp" in checks[3].detail
