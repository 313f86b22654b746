"""Issue 10, point 9: every route has a typed response in the OpenAPI document, and schemathesis finds no
server error anywhere in it (bounded examples, a real server on loopback, an operator token)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from agent.api import create_app
from agent.settings import Settings
from agent.testing import ScriptedChatModel
from tests.graph.api_support import operator_headers, shop_settings


def _always(messages, tools):  # noqa: ANN001, ANN202 - a scripted reply for any number of turns
    return "Noted."


@pytest.fixture
def server(tmp_path):
    config = shop_settings(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(config, model=ScriptedChatModel([_always] * 10_000))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", operator_headers(config)
    server.should_exit = True
    thread.join(timeout=20)


def test_every_route_declares_a_typed_response():
    app = create_app(Settings(_env_file=None), model=ScriptedChatModel())
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation["responses"]["200"].get("content", {})
            schema = next(iter(content.values()), {}).get("schema")
            assert content and (schema or "text/plain" in content), (method, path)
            assert schema != {}, (method, path)  # an untyped dict/Any answer


def test_schemathesis_finds_no_server_error(server):
    base_url, headers = server
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=headers)  # operators only
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=6, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:  # noqa: ANN001
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code, response.text[:200]))

        check()
    assert failures == []
