"""`deskgraph ui`: the Chainlit web front end (``ui/app.py``) on the embedded model or the configured server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import typer

from agent.cli import app
from agent.settings import get_settings


def ui_dir() -> Path:
    """The folder of the Chainlit app and its config (``ui/.chainlit/config.toml``)."""
    import ui

    return Path(ui.__file__).resolve().parent


def _absolute_url(url: str) -> str:
    """The database URL for a process with another working directory: a relative SQLite path made absolute."""
    from tools.db import database_engine, sqlite_path

    if not url.strip() or database_engine(url) == "postgres":
        return url
    return "sqlite:///" + str(Path(sqlite_path(url)).expanduser().resolve())


def chainlit_env(settings, base_url: str) -> dict[str, str]:
    """The environment of the Chainlit process: absolute paths, the model server, Chainlit's app root."""
    env = dict(os.environ)
    root = ui_dir()
    env.update({
        "CHAINLIT_APP_ROOT": str(root),  # where Chainlit reads .chainlit/config.toml and chainlit.md
        "DESKGRAPH_STORE_DB": str(Path(settings.store_db).expanduser().resolve()),
        "DESKGRAPH_CHECKPOINT_DB": str(Path(settings.checkpoint_db).expanduser().resolve()),
        "DESKGRAPH_UI_DB": str(Path(settings.ui_db).expanduser().resolve()),
        "DESKGRAPH_DATABASE_URL": _absolute_url(settings.database_url),
        "DESKGRAPH_LLM_BASE_URL": base_url,
        "DESKGRAPH_LLM_MODEL": settings.effective_model,
        # The app sees an "external" server; keep the context budget of the model actually served.
        "DESKGRAPH_LLM_CONTEXT_TOKENS": str(settings.context_tokens),
        "PYTHONUNBUFFERED": "1",
    })
    from ui.access import customer_login_on, password_login_on

    if (password_login_on(settings) or customer_login_on(settings)) and not env.get("CHAINLIT_AUTH_SECRET"):
        from ui.storage import auth_secret

        env["CHAINLIT_AUTH_SECRET"] = auth_secret(Path(env["DESKGRAPH_UI_DB"]).parent)
    return env


@app.command()
def ui(
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default: settings.ui_host)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default: settings.ui_port)."),
) -> None:
    """Start the web chat (Chainlit). Login: DESKGRAPH_UI_AUTH=true and DESKGRAPH_UI_PASSWORD (operators, history),
    DESKGRAPH_CUSTOMER_TOKEN_SECRET (customers from the shop); required unless listening on loopback."""
    from agent.llm import model_server
    from agent.web.hosts import allowed_hosts
    from agent.web.proxies import ProxyError, parse_proxies
    from ui.access import is_loopback, startup_problem
    from ui.origins import OriginError, parse_origins

    settings = get_settings()
    host = host or settings.ui_host
    port = port or settings.ui_port
    try:
        parse_origins(settings.ui_allow_origins)
    except OriginError as exc:
        raise typer.BadParameter(f"DESKGRAPH_UI_ALLOW_ORIGINS: {exc}") from exc
    try:
        parse_proxies(settings.trusted_proxies)
    except ProxyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if (problem := startup_problem(settings, host)) is not None:  # before the model starts: fail fast
        typer.echo(f"deskgraph ui: {problem}", err=True)
        raise typer.Exit(2)
    if not is_loopback(host) and not settings.api_allowed_hosts.strip():
        # A wildcard bind answers the loopback names only (agent/web): the LAN address or public name clients
        # type must be listed, and a 400 in the browser says nothing about why.
        typer.echo(f"note: only {', '.join(allowed_hosts(settings, host))} are answered as Host names; "
                   "set DESKGRAPH_API_ALLOWED_HOSTS to the name clients use.", err=True)
    if settings.uses_embedded_model:
        typer.echo("Starting the embedded model (this may take a few seconds)…")
    code = 0
    with model_server(settings) as base_url:
        env = chainlit_env(settings, base_url)
        cmd = [sys.executable, "-m", "chainlit", "run", str(ui_dir() / "app.py"), "--host", host,
               "--port", str(port), "--headless"]
        typer.echo(f"deskgraph UI on http://{host}:{port} (model server {base_url}). Ctrl+C stops it.")
        proc = subprocess.Popen(cmd, env=env)

        def _forward(signum, frame):  # stop the UI first; model_server's exit stops the model
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

        previous = signal.signal(signal.SIGTERM, _forward)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            code = 130
        finally:
            signal.signal(signal.SIGTERM, previous)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    raise typer.Exit(code)
