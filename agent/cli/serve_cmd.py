"""`deskgraph serve`: the HTTP service (FastAPI + server-sent events) over the conversation runtime."""

from __future__ import annotations

import typer

from agent.cli import app
from agent.settings import get_settings


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8080, help="Port to listen on."),
          log_level: str | None = typer.Option("info", help="Log level (logs are JSON lines on stderr).")) -> None:
    """Run the HTTP API (starts the embedded model unless DESKGRAPH_LLM_BASE_URL is set).

    Every route but /health needs `Authorization: Bearer <token>` (see `deskgraph tokens`).
    """
    import uvicorn

    from agent.api import create_app
    from agent.api.security import check_auth_mode
    from agent.observability import configure_logging
    from agent.web.proxies import ProxyError, parse_proxies

    settings = get_settings()
    check_auth_mode(settings, host)  # refuses auth=off beyond loopback, before anything starts
    try:
        parse_proxies(settings.trusted_proxies)
    except ProxyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if settings.api_auth == "off":
        typer.echo(f"WARNING: DESKGRAPH_API_AUTH=off: no authentication, every caller on {host} is an operator "
                   "(allowed on loopback only).", err=True)
    configure_logging(log_level or "info")
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app's guard (agent/web) applies
    # those headers from DESKGRAPH_TRUSTED_PROXIES only.
    uvicorn.run(create_app(settings, bind_host=host, whole_process=True), host=host, port=port, log_level=log_level,
                log_config=None, proxy_headers=False)
