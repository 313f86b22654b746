"""Deployment settings: one pydantic-settings class, every field read from ``DESKGRAPH_*`` or ``.env``."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Model name the embedded llama.cpp server registers (and the client asks for).
EMBEDDED_MODEL_ALIAS = "qwen2.5-1.5b-instruct-local"
#: What an external OpenAI-compatible server (vLLM in production) is assumed to serve.
DEFAULT_EXTERNAL_MODEL = "Qwen/Qwen2.5-7B-Instruct"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "deskgraph" / "models"


class Settings(BaseSettings):
    """Everything that differs between deployments. Per-run choices (thread, persona) are not here."""

    model_config = SettingsConfigDict(env_prefix="DESKGRAPH_", env_file=".env", extra="ignore")

    # --- files -------------------------------------------------------------------------------
    store_db: Path = Field(Path("var/store.db"), description="SQLite file of the retail store (and tickets).")
    checkpoint_db: Path = Field(Path("var/checkpoints.db"), description="SQLite file of LangGraph checkpoints.")
    sqlite_busy_timeout_ms: int = Field(5000, description="How long a write waits for a locked SQLite file "
                                        "(on PostgreSQL: for a lock, as lock_timeout).")
    database_url: str = Field(
        "", description="Where all shared state lives. Empty: the SQLite files store_db and checkpoint_db. "
        "sqlite:///var/deskgraph.db: the store in that file, the checkpoints beside it (var/deskgraph.checkpoints.db). "
        "postgresql://user:pass@host/db: everything in one PostgreSQL database, which any number of replicas share."
    )
    database_pool_size: int = Field(
        48, ge=1, description="PostgreSQL: the connections a process keeps for its checkpoints, turn leases and "
        "recorded model responses (three quarters opened at start; the store has its own). A turn holds one only "
        "while a statement runs; a statement that finds none free queues, which costs the process CPU. Replicas x "
        "this (plus a few each for the store) must fit the server's max_connections."
    )

    # --- model client ------------------------------------------------------------------------
    llm_base_url: str = Field(
        "", description="OpenAI-compatible base URL, e.g. http://gpu-host:8000/v1. Empty: embedded local model."
    )
    llm_model: str = Field("", description="Model name on that server. Empty: the server's default for the mode.")
    llm_api_key: SecretStr = Field(SecretStr("EMPTY"), description="API key sent to the server.")
    llm_temperature: float = 0.0
    llm_max_tokens: int = Field(512, description="Upper bound on tokens generated per model call.")
    llm_timeout: float = Field(120.0, description="Seconds before one model request is abandoned.")
    llm_max_retries: int = Field(1, description="HTTP-level retries of one model request.")
    llm_context_tokens: int = Field(
        0, description="Context window of the served model. 0: 32768 for an external server, embedded_ctx locally."
    )
    tool_call_retries: int = Field(2, description="Corrective re-asks after an invalid tool call, per turn.")

    # --- embedded model (used when llm_base_url is empty) -----------------------------------
    embedded_model: Literal["1.5b", "0.5b"] = Field("1.5b", description="Which offline GGUF to use.")
    model_path: Path | None = Field(None, description="Explicit GGUF file; skips the download.")
    model_cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where pulled GGUF files live.")
    embedded_host: str = "127.0.0.1"
    embedded_port: int = Field(0, description="Port of the embedded server; 0 picks a free one.")
    embedded_threads: int = Field(2, description="CPU threads of the embedded server.")
    embedded_ctx: int = Field(8192, description="Context length of the embedded server.")

    # --- vLLM on the CPU (`deskgraph model serve --engine vllm`, the vllm test tier) ------------
    vllm_venv: Path = Field(Path(".venv-vllm"), description="Virtual environment holding vLLM (scripts/setup_vllm.sh).")
    vllm_model: Literal["0.5b", "1.5b"] = Field("0.5b", description="Which GGUF vLLM serves (converted to HF format).")
    vllm_max_model_len: int = Field(8192, description="vLLM's --max-model-len (the context it serves).")
    vllm_threads: int = Field(2, description="CPU threads of vLLM's engine.")
    vllm_dtype: Literal["float32", "bfloat16"] = Field(
        "float32", description="Weights dtype in vLLM. bfloat16 only pays on CPUs with AVX-512 BF16/AMX (emulated: slow)."
    )
    vllm_kv_cache_gib: int = Field(2, description="GiB of RAM vLLM reserves for its KV cache (VLLM_CPU_KVCACHE_SPACE).")

    # --- agent behaviour ---------------------------------------------------------------------
    escalate_after_tool_errors: int = Field(3, description="Consecutive failed tool calls before escalation.")
    escalate_after_misunderstandings: int = Field(
        3, description="Consecutive turns without progress (invalid calls, failed logins) before escalation."
    )
    today: dt.date | None = Field(None, description="Override today's date in prompts (tests, demos).")
    persona: str = Field("default", description="Default persona preset (a file under prompts/personas/).")
    dialogue: Literal["flows", "agent"] = Field(
        "flows", description="flows: code drives each task and the model reads messages; agent: the model's tool loop."
    )
    agent_understand: bool = Field(
        False, description="agent dialogue: read each customer message into the flows' request plan first and put "
                           "the reading before the model (compare both modes on one reading)."
    )

    # --- web front end -----------------------------------------------------------------------
    ui_host: str = "127.0.0.1"
    ui_port: int = 8000
    ui_auth: bool = Field(False, description="Password login (needed for thread history in the UI).")
    ui_username: str = "admin"
    ui_password: SecretStr = Field(SecretStr(""), description="Password for ui_username when ui_auth is on.")
    ui_db: Path = Field(Path("var/chainlit.db"), description="The web UI's own file; its login secret is kept "
                        "beside it. Thread history comes from the checkpoints; conversation copies an earlier version "
                        "kept here are removed with their threads.")
    ui_allow_origins: str = Field(
        "", description="Other origins (scheme://host[:port], comma-separated) allowed to call the web UI with "
        "credentials, e.g. a shop page embedding the chat. Empty: same origin only."
    )
    ui_login_failures_per_minute: int = Field(
        5, description="Failed web logins allowed per username and per client IP in a minute; then 429."
    )

    turn_lease_seconds: float = Field(
        30.0, description="A running turn's lease on its thread; a crashed process frees the thread after this."
    )
    gc_gen0_threshold: int = Field(
        50_000, description="Allocations between two collections of Python's youngest generation in a serving "
        "process (the API, the web UI); Python's default is 700, 0 keeps it. See agent/runtime/heap.py."
    )

    # --- who may do what ---------------------------------------------------------------------
    customer_token_secret: SecretStr = Field(
        SecretStr(""), description="HS256 secret (>= 32 bytes) the shop signs customer tokens with. Empty: none accepted."
    )
    api_auth: Literal["on", "off"] = Field(
        "on", description="Bearer tokens on the HTTP API. off: everyone is an operator; loopback binds only."
    )
    api_allowed_hosts: str = Field(
        "", description="Comma-separated Host names the API and the web UI answer besides loopback and the bind "
        "host; * for any."
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For/-Host/-Proto are "
        "believed (API and web UI). Empty: no proxy, those headers are ignored."
    )
    # 128 KiB: the largest valid message (8000 characters outside the BMP, JSON-escaped to ASCII as surrogate
    # pairs of 12 bytes each) is 96 KB, and a request the OpenAPI document allows must not get 413.
    api_max_body_bytes: int = Field(131072, description="Largest request body the API reads (413 beyond).")

    @property
    def database_engine(self) -> Literal["sqlite", "postgres"]:
        """Which engine holds the deployment's state."""
        from tools.db import database_engine

        return database_engine(self.database_url) if self.database_url.strip() else "sqlite"

    @property
    def store_location(self) -> str | Path:
        """The store's database (and the tickets', tokens', ratings' and web UI's): a SQLite path or the URL."""
        url = self.database_url.strip()
        if not url:
            return self.store_db
        if self.database_engine == "postgres":
            return url
        from tools.db import sqlite_path

        return Path(sqlite_path(url))

    @property
    def checkpoint_location(self) -> str | Path:
        """The checkpoints' database (and the turn leases', thread claims' and recorded responses')."""
        if not self.database_url.strip():
            return self.checkpoint_db
        if self.database_engine == "postgres":
            return self.store_location  # one database holds every role
        store = Path(self.store_location)
        return store.with_name(f"{store.stem}.checkpoints{store.suffix or '.db'}")

    @property
    def uses_embedded_model(self) -> bool:
        """True when no external server is configured and deskgraph must run its own."""
        return not self.llm_base_url.strip()

    @property
    def effective_model(self) -> str:
        """The model name to request from the server."""
        if self.llm_model:
            return self.llm_model
        return EMBEDDED_MODEL_ALIAS if self.uses_embedded_model else DEFAULT_EXTERNAL_MODEL

    @property
    def context_tokens(self) -> int:
        """Context window the prompt budget is computed from."""
        if self.llm_context_tokens:
            return self.llm_context_tokens
        return self.embedded_ctx if self.uses_embedded_model else 32768

    def today_date(self) -> dt.date:
        """Today's date as the prompts state it."""
        return self.today or dt.date.today()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
