"""HTTP service: a thin FastAPI adapter over the conversation runtime (events as server-sent events)."""

from agent.api.app import create_app

__all__ = ["create_app"]
