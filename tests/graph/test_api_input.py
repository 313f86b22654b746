"""Issue 10, bad input and errors: every attack on the service's input handling is a regression test here."""

from __future__ import annotations

import json
import logging

import pytest

from agent.runtime import InvalidInputError, SupportRuntime
from agent.testing import ScriptedChatModel
from tests.graph.api_support import LENA, client, customer_headers, events, operator_headers, shop_settings


@pytest.fixture
def settings(tmp_path):
    return shop_settings(tmp_path)


async def test_bodies_are_bounded_before_they_are_read(settings):
    async with client(settings, ScriptedChatModel()) as c:
        c.headers.update(operator_headers(settings))
        big = json.dumps({"text": "x" * settings.api_max_body_bytes})
        r = await c.post("/threads/t/messages", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "x" * 100 not in r.text
        sent = []

        async def hundred_megabytes():  # chunked, no Content-Length: counted as it streams in
            for _ in range(100 * 16):
                sent.append(1)
                yield b"x" * 65_536

        r = await c.post("/threads/t/messages", content=hundred_megabytes(),
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and len(sent) <= 3  # stopped just past the limit (128 KB), not at 100 MB
        persona = json.dumps({"text": "hi", "persona": "p" * 5_000_000})
        assert (await c.post("/threads/t/messages", content=persona,
                             headers={"Content-Type": "application/json"})).status_code == 413


async def test_the_largest_valid_message_fits_in_the_body_limit(settings):
    # 8000 characters is the documented maximum; a client that escapes JSON to ASCII (Python's json, requests)
    # sends a character outside the BMP as a surrogate pair, 12 bytes: the default limit must hold 96 KB.
    model = ScriptedChatModel(["Noted."])
    async with client(settings, model) as c:
        body = json.dumps({"text": "\U0001f600" * 8000, "persona": "concise"})
        assert len(body) > 96_000
        r = await c.post("/threads/big/messages", content=body, headers={"Content-Type": "application/json",
                                                                          **operator_headers(settings)})
        assert r.status_code == 200, r.text
    model.assert_complete()


async def test_validation_errors_never_echo_the_input(settings):
    marker = "SECRET-MARKER-" * 10
    async with client(settings, ScriptedChatModel()) as c:
        c.headers.update(operator_headers(settings))
        for body in ({"text": marker * 60}, {"text": "hi", "persona": marker}, {"text": 5, "x": marker},
                     {"approved": marker}):
            r = await c.post("/threads/t/messages", json=body)
            assert r.status_code == 422 and "SECRET-MARKER" not in r.text, r.text
        r = await c.post("/threads/t/confirmation", json={"approved": marker})
        assert r.status_code == 422 and "SECRET-MARKER" not in r.text


async def test_invalid_unicode_and_thread_ids_are_422(settings):
    async with client(settings, ScriptedChatModel()) as c:
        c.headers.update(operator_headers(settings))
        json_type = {"Content-Type": "application/json"}
        r = await c.post("/threads/t/messages", content=b'{"text": "\\ud800"}', headers=json_type)
        assert r.status_code == 422  # a lone surrogate used to be a 500
        r = await c.post("/threads/t/messages", content=b'{"text": "caf\xe9"}', headers=json_type)
        assert r.status_code == 422  # not UTF-8
        for thread in ("a" * 129, "a" * 60_000, "a b", "t%2Fx", "t%00"):  # httpx caps URLs at 64 KB
            r = await c.post(f"/threads/{thread}/messages", json={"text": "hi"})
            assert r.status_code in {422, 404} and thread not in r.text, (thread[:20], r.status_code)
        assert (await c.post("/threads/" + "a" * 60_000 + "/messages", json={"text": "hi"})).status_code == 422
        assert (await c.get("/threads")).json() == []  # nothing was stored


async def test_ticket_ids_outside_sqlite_integers_are_422(settings):
    # Found by schemathesis: a ticket id past 2**63 - 1 reached SQLite and came back as a 500.
    async with client(settings, ScriptedChatModel(), raise_app_exceptions=False) as c:
        c.headers.update(operator_headers(settings))
        for ticket in (2**63, 10**20, -(2**63) - 1, 0):
            assert (await c.get(f"/tickets/{ticket}")).status_code == 422, ticket
        assert (await c.get(f"/tickets/{2**63 - 1}")).status_code == 404


async def test_persona_is_a_preset_name_never_text(settings):
    async with client(settings, ScriptedChatModel(["Hello."])) as c:
        c.headers.update(operator_headers(settings))
        r = await c.post("/threads/t/messages", json={"text": "hi", "persona": "p" * 300})
        assert r.status_code == 422  # used to break the thread for good (OSError: File name too long)
        r = await c.post("/threads/t/messages", json={"text": "hi", "persona": "concise"})
        assert r.status_code == 200 and (await c.get("/threads/t")).json()["persona"] == "concise"
    async with SupportRuntime.open(settings, model=ScriptedChatModel()) as rt:  # the CLI and UI get it too
        for persona in ("p" * 300, "../policy", "Always answer in French."):
            with pytest.raises(InvalidInputError):
                await rt.begin_message("t2", "hi", persona=persona)
        with pytest.raises(InvalidInputError):
            await rt.begin_message("a" * 129, "hi")


async def test_control_characters_never_reach_the_model_or_the_checkpoints(settings):
    model = ScriptedChatModel(["Hello."])
    async with SupportRuntime.open(settings, model=model) as rt:
        await rt.turn("t", "hi\x00 the\u200bre\x1b[2J\x07\r\n\u202esecond\tline\u0085\ufeff")
        stored = (await rt.view("t")).messages[0].content
        assert stored == "hi there[2J\nsecond\tline"
        assert model.requests[0][0][-1].content == stored
    model.assert_complete()


class Broken(ScriptedChatModel):
    def _next(self, messages, tools):
        raise RuntimeError("connect to http://10.1.2.3:8000/v1 failed: /srv/deskgraph/agent/llm/client.py line 7")


async def test_errors_give_clients_an_id_and_keep_details_in_the_log(settings, caplog):
    caplog.set_level(logging.ERROR)
    async with client(settings, Broken()) as c:
        r = await c.post("/threads/c1/messages", json={"text": "hi"}, headers=customer_headers(LENA))
        error = events(r.text)[-1]
        assert error["kind"] == "error" and set(error) == {"kind", "message", "retryable", "error_id"}
        assert "10.1.2.3" not in r.text and "/srv/" not in r.text and "RuntimeError" not in r.text
        logged = [rec for rec in caplog.records if getattr(rec, "error_id", None) == error["error_id"]]
        assert logged and "10.1.2.3" in str(logged[0].exc_info[1])
        # Operators see the detail in their stream.
        r = await c.post("/threads/c1/retry", headers=operator_headers(settings))
        assert "10.1.2.3" in events(r.text)[-1]["detail"]


async def test_unexpected_server_errors_are_an_id_only(settings, caplog, monkeypatch):
    caplog.set_level(logging.ERROR)

    async def explode(self, thread_id, checkpoint_id=None):
        raise OSError("/var/lib/deskgraph/checkpoints.db: disk I/O error")

    monkeypatch.setattr(SupportRuntime, "view", explode)
    # Starlette re-raises after answering (for the server's own log); a real client only sees the 500.
    async with client(settings, ScriptedChatModel(), raise_app_exceptions=False) as c:
        r = await c.get("/threads/t", headers=operator_headers(settings))
        assert r.status_code == 500 and set(r.json()) == {"detail", "error_id"} and "/var/lib" not in r.text
        assert any(getattr(rec, "error_id", None) == r.json()["error_id"] for rec in caplog.records)
