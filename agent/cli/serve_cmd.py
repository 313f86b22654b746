"""`deskgraph serve`: the HTTP service (FastAPI + server-sent events) over the conversation runtime."""

from __future__ import annotations

import typer

from agent.cli import app
from agent.settings import get_settings


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8080, help="Port to listen on."),
          log_level: str | None = typer.Option("info", help="uvicorn log level.")) -> None:
    """Run the HTTP API (starts the embedded model unless DESKGRAPH_LLM_BASE_URL is set)."""
    import uvicorn

    from agent.api import create_app

    uvicorn.run(create_app(get_settings()), host=host, port=port, log_level=log_level)
