"""Schemathesis with every check against the app in-process, as an operator and as a customer.

What `st run --checks all` does (probing, coverage, fuzzing and stateful phases; status codes, content types,
response and event-stream schemas, headers, auth, negative and positive data, methods, response time), over
the ASGI app with a scripted model and a store and checkpoints in a temporary directory. Examples are bounded
and the seed fixed, so the fast tier stays fast and a run is repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.engine import events, from_schema

from agent.api import create_app
from agent.testing import ScriptedChatModel
from tests.graph.api_support import LENA, customer_headers, operator_headers, shop_settings

#: The Host schemathesis' ASGI client sends; the app answers only the Host names it is told to.
_HOST = "testserver"
_EXAMPLES = 30


def _noted(messages: Any, tools: Any) -> str:
    return "Noted."


def _run(schema: Any) -> Iterator[tuple[str, str | None]]:
    """(check name, failure or None) for every check on every response, and every error of the run."""
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    failure = node.failure_info.failure if node.failure_info else None
                    yield node.name, None if failure is None else (
                        f"{failure.code} {failure.operation}: {failure.title}\n{failure.message}")
        elif isinstance(event, events.NonFatalError):
            yield "error", f"{event.label}: {event.info.message}"
        elif isinstance(event, events.FatalError):
            yield "error", repr(event.exception)


@pytest.mark.fast
@pytest.mark.parametrize("role", ["operator", "customer"])
def test_schemathesis_with_all_checks_finds_nothing(tmp_path, role):
    settings = shop_settings(tmp_path, api_allowed_hosts=_HOST)
    app = create_app(settings, model=ScriptedChatModel([_noted] * 10_000))
    caller = operator_headers(settings) if role == "operator" else customer_headers(LENA)
    config = schemathesis.Config.from_dict({
        # Repeatable: a fixed seed, and nothing remembered between runs (no example database, no
        # .schemathesis cache of which identity each operation took).
        "seed": 1,
        "generation": {"max-examples": _EXAMPLES, "database": "none"},
        "cache": {"enabled": False},
        # `--checks all`: every check, including the response time limit that `all` turns on.
        "checks": {"enabled": True, "max_response_time": 10},
        "auth": {"openapi": {"HTTPBearer": {"bearer": caller["Authorization"].removeprefix("Bearer ")}}},
    })
    # The document is for operators only, whoever the run is for.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config,
                                            headers=operator_headers(settings, "schemathesis"))
    # The desk feed is a long poll: it stays open until nothing happened for `idle` seconds, by design longer than
    # the response time limit. tests/graph/test_desk_api.py covers it (events, resume, audiences, 404).
    schema = schema.exclude(path="/threads/{thread_id}/events")
    results = list(_run(schema))
    failures = [failure for _, failure in results if failure is not None]
    assert failures == [], "\n\n".join(failures)
    assert {name for name, _ in results} >= {*CHECKS.get_all_names(), "max_response_time"}  # none skipped
