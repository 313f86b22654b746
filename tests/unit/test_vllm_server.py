"""vLLM's command line, environment and model folder, without vLLM: what `model serve --engine vllm` would start."""

from __future__ import annotations

import json

import pytest

from agent.llm.server import ModelServerError
from agent.llm.vllm_server import _converted, hf_model_dir, served_names, vllm_command, vllm_env, vllm_python
from agent.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    return Settings(vllm_venv=venv, vllm_max_model_len=4096, vllm_threads=1, vllm_kv_cache_gib=3)


def test_command_carries_the_production_flags(settings, tmp_path):
    cmd = vllm_command(settings, tmp_path / "m-hf", host="127.0.0.1", port=8001, names=["A", "b"])
    assert cmd[:3] == [str(settings.vllm_venv / "bin" / "python"), "-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(cmd)
    for flag in ("--enable-auto-tool-choice", "--tool-call-parser hermes", "--enable-prefix-caching",
                 "--enable-prompt-tokens-details", "--max-model-len 4096", "--served-model-name A b",
                 "--port 8001", "--dtype float32"):
        assert flag in joined
    config = json.loads(cmd[cmd.index("--structured-outputs-config") + 1])
    assert config == {"backend": "xgrammar", "disable_any_whitespace": True}


def test_environment_sets_threads_kv_cache_and_offline(settings):
    env = vllm_env(settings)
    assert env["OMP_NUM_THREADS"] == "1" and env["VLLM_CPU_KVCACHE_SPACE"] == "3"
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_NO_USAGE_STATS"] == "1"


def test_served_first_under_the_name_the_product_requests():
    assert served_names(Settings(llm_model=""), "0.5b") == ["Qwen/Qwen2.5-7B-Instruct", "qwen2.5-coder-0.5b-instruct"]
    assert served_names(Settings(llm_model="mine"), "1.5b") == ["mine", "qwen2.5-coder-1.5b-instruct"]


def test_missing_venv_names_the_set_up_script(tmp_path):
    with pytest.raises(ModelServerError, match=r"scripts/setup_vllm\.sh"):
        vllm_python(Settings(vllm_venv=tmp_path / "nowhere"))


def test_a_converted_folder_belongs_to_its_gguf(tmp_path):
    gguf = tmp_path / "m-q4_k_m.gguf"
    gguf.write_bytes(b"gguf")
    folder = hf_model_dir(gguf)
    assert folder == tmp_path / "m-q4_k_m-hf"
    assert not _converted(gguf, folder)  # nothing there yet
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "deskgraph-source.json").write_text(json.dumps({"sha256": "abc"}))
    (tmp_path / "m-q4_k_m.gguf.verified.json").write_text(json.dumps({"sha256": "abc"}))
    assert _converted(gguf, folder)
    (tmp_path / "m-q4_k_m.gguf.verified.json").write_text(json.dumps({"sha256": "other"}))
    assert not _converted(gguf, folder)  # another GGUF under the same name: convert again
