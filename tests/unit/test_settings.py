"""Settings: every field is documented in .env.example, DESKGRAPH_* variables are read, defaults are sane."""

from __future__ import annotations

from pathlib import Path

from agent.settings import EMBEDDED_MODEL_ALIAS, Settings

REPO = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting():
    # Optional settings appear commented out with an example value (an empty value would not parse).
    listed = {line.lstrip("# ").split("=", 1)[0] for line in (REPO / ".env.example").read_text().splitlines()
              if line.lstrip("# ").startswith("DESKGRAPH_")}
    assert listed == {f"DESKGRAPH_{name.upper()}" for name in Settings.model_fields}


def test_environment_overrides_and_model_mode(monkeypatch):
    monkeypatch.setenv("DESKGRAPH_LLM_BASE_URL", "http://gpu:8000/v1")
    monkeypatch.setenv("DESKGRAPH_STORE_DB", "/tmp/x.db")
    s = Settings(_env_file=None)
    assert not s.uses_embedded_model and s.effective_model == "Qwen/Qwen2.5-7B-Instruct"
    assert str(s.store_db) == "/tmp/x.db" and s.context_tokens == 32768
    monkeypatch.delenv("DESKGRAPH_LLM_BASE_URL")
    monkeypatch.delenv("DESKGRAPH_STORE_DB")
    s = Settings(_env_file=None)
    assert s.uses_embedded_model and s.effective_model == EMBEDDED_MODEL_ALIAS
    assert s.context_tokens == s.embedded_ctx
    assert s.store_db == Path("var/store.db") and s.checkpoint_db == Path("var/checkpoints.db")
