"""`deskgraph doctor`: check that the configured model server works for deskgraph."""

from __future__ import annotations

import typer

from agent.cli import app


@app.command("doctor")
def doctor_cmd(
    base_url: str | None = typer.Option(None, "--base-url", help="Server to check (default: DESKGRAPH_LLM_BASE_URL; "
                                                                 "none: the embedded model)."),
    model: str | None = typer.Option(None, "--model", help="Model name to request (default: DESKGRAPH_LLM_MODEL)."),
) -> None:
    """Reachable, model served, a tool-call round trip, streaming: ✓/✗ each, with a fix for each failure."""
    from agent.llm.doctor import doctor
    from agent.settings import get_settings

    ok = doctor(get_settings(), base_url=base_url, model=model, echo=typer.echo)
    raise typer.Exit(0 if ok else 1)
