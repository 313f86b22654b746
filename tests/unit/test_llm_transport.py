"""The async model requests' own HTTP path (agent/llm/transport.py, agent/llm/direct.py): the same bodies as the
OpenAI SDK's path, its retries and timeouts, server-sent events, and sessions closed with their event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import openai
import pytest
from aiohttp import web
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool

from agent.llm import LLMRequestError, LLMServerError, build_chat_model
from agent.llm.client import QwenChatOpenAI
from agent.llm.transport import ChatCompletions
from agent.settings import Settings
from tests.unit.fake_openai import FakeOpenAI, Reply, text

pytestmark = pytest.mark.fast

FORMAT = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}, "strict": True}}


@tool
def get_order_status(order_id: str) -> str:
    """The status of an order."""
    return "pending"


def _settings(url: str, retries: int = 0) -> Settings:
    return Settings(llm_base_url=url, llm_model="fake-qwen", llm_timeout=5, llm_max_retries=retries)


@pytest.mark.parametrize("how", ["invoke", "response_format", "tools", "stream"])
async def test_async_requests_send_the_body_the_sdk_sends(how):
    """The sync path still goes through the SDK: each async request's body must equal it, key for key."""
    with FakeOpenAI() as fake:
        model = build_chat_model(_settings(fake.base_url))
        messages = [SystemMessage("be brief"), HumanMessage("hi")]
        bound = {"response_format": model.bind(response_format=FORMAT),
                 "tools": model.bind_tools([get_order_status])}.get(how, model)
        if how == "stream":
            await asyncio.to_thread(lambda: "".join(c.text for c in bound.stream(messages)))
            assert "".join([c.text async for c in bound.astream(messages)]) == "OK."
        else:
            await asyncio.to_thread(bound.invoke, messages)
            assert (await bound.ainvoke(messages)).content == "OK."
        sdk, ours = fake.requests
    assert model._direct_completions is not None, "the async request did not take the direct path"
    assert ours == sdk  # (key order aside: JSON objects are unordered)


async def test_structured_answers_carry_what_parse_adds_and_length_is_the_sdk_error():
    with FakeOpenAI() as fake:
        model = build_chat_model(_settings(fake.base_url)).bind(response_format=FORMAT)
        fake.push(text('{"a": 1}'), text('{"a": ', finish_reason="length"))
        reply = await model.ainvoke("hi")
        assert reply.content == '{"a": 1}' and reply.additional_kwargs == {"parsed": None, "refusal": None}
        with pytest.raises(openai.LengthFinishReasonError):
            await model.ainvoke("hi")


async def test_a_callers_own_httpx_client_keeps_the_sdk_path():
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                                         "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": "mocked"}}]})

    model = QwenChatOpenAI(model="m", api_key="k", base_url="http://nowhere.invalid/v1", max_retries=0,
                           http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    assert (await model.ainvoke("hi")).content == "mocked" and len(seen) == 1
    assert model._direct_completions is None


# -- a scriptable aiohttp server: statuses, headers and raw event streams ------------------------------------
Route = Callable[[web.Request, dict], "web.StreamResponse | asyncio.Future"]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[web.Request], list[Route]]]:
    seen: list[web.Request] = []
    script: list[Route] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        body = await request.json()
        return await script.pop(0)(request, body)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1", seen, script
    await runner.cleanup()


def _completion(content: str) -> dict:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}


def answer(content: str) -> Route:
    async def route(request: web.Request, body: dict) -> web.Response:
        return web.json_response(_completion(content))
    return route


def status(code: int, **headers: str) -> Route:
    async def route(request: web.Request, body: dict) -> web.Response:
        return web.json_response({"error": {"message": f"status {code}"}}, status=code, headers=headers)
    return route


def events(raw: bytes) -> Route:
    async def route(request: web.Request, body: dict) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in (raw[:7], raw[7:40], raw[40:]):  # events cut across TCP writes
            await response.write(piece)
        await response.write_eof()
        return response
    return route


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    return json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).encode()


async def test_the_request_goes_to_chat_completions_with_the_key(server):
    url, seen, script = server
    script.append(answer("hello"))
    model = QwenChatOpenAI(model="m", api_key="secret-key", base_url=url, max_retries=0)
    assert (await model.ainvoke("hi")).content == "hello"
    assert seen[0].headers["Authorization"] == "Bearer secret-key"
    assert seen[0].headers["Content-Type"] == "application/json"


async def test_server_errors_are_retried_as_the_sdk_retries_them(server):
    url, seen, script = server
    script.extend([status(503, **{"Retry-After": "0.05"}), status(429), answer("third time")])
    model = build_chat_model(_settings(url, retries=2))
    assert (await model.ainvoke("hi")).content == "third time" and len(seen) == 3


async def test_a_bad_request_is_not_retried_and_says_what_the_server_said(server):
    url, seen, script = server
    script.extend([status(400), answer("never asked for")])
    model = build_chat_model(_settings(url, retries=2))
    with pytest.raises(LLMRequestError, match=r"HTTP 400.*status 400"):
        await model.ainvoke("hi")
    assert len(seen) == 1


async def test_retries_run_out_with_the_last_error(server):
    url, seen, script = server
    script.extend([status(500), status(502)])
    with pytest.raises(LLMServerError, match="HTTP 502"):
        await build_chat_model(_settings(url, retries=1)).ainvoke("hi")
    assert len(seen) == 2


async def test_event_streams_are_read_as_server_sent_events(server):
    """Comments, events split across writes, a multi-line data field, [DONE] and whatever follows it."""
    url, _, script = server
    first, second = _chunk("Hel"), _chunk("lo", "stop")
    multi_line = second[:20] + b"\ndata: " + second[20:]  # one event's data over two lines (joined by a newline)
    script.append(events(b": keep-alive\n\ndata: " + first + b"\r\n\r\nevent: message\ndata: " + multi_line
                         + b"\n\ndata: [DONE]\n\ndata: " + _chunk("never") + b"\n\n"))
    model = build_chat_model(_settings(url))
    assert "".join([c.text async for c in model.astream("hi")]) == "Hello"


async def test_an_error_event_mid_stream_is_a_server_error(server):
    url, _, script = server
    script.append(events(b"data: " + _chunk("Hel") + b"\n\ndata: " + json.dumps(
        {"error": {"message": "engine died"}}).encode() + b"\n\n"))
    with pytest.raises(LLMServerError, match="engine died"):
        [c async for c in build_chat_model(_settings(url)).astream("hi")]


def test_each_loop_gets_its_own_session_and_closes_it_when_it_shuts_down():
    with FakeOpenAI() as fake:
        fake.push(Reply(content="one"), Reply(content="two"))
        model = build_chat_model(_settings(fake.base_url))
        sessions = []

        async def ask() -> str:
            reply = await model.ainvoke("hi")
            sessions.append(model._direct_completions._sessions[asyncio.get_running_loop()][0])
            return reply.content

        assert asyncio.run(ask()) == "one" and asyncio.run(ask()) == "two"
    first, second = sessions
    assert first is not second and first.closed and second.closed
    assert len(model._direct_completions._sessions) == 1  # the first loop's entry went when the second came


async def test_aclose_closes_the_running_loops_session():
    completions = ChatCompletions("http://127.0.0.1:9/v1", None, read_timeout=1, connect_timeout=1, max_retries=0)
    session = await completions._session()
    await completions.aclose()
    assert session.closed and not completions._sessions


async def test_a_proxy_named_by_the_environment_carries_the_requests_unless_no_proxy_names_the_host(
        server, monkeypatch):
    """Read once per session, as httpx reads it when the SDK's client is made."""
    proxy_url, seen, script = server  # the fake server stands in for the proxy: it answers what it is sent
    proxy = proxy_url.removesuffix("/v1")
    script.append(answer("through the proxy"))
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    model = QwenChatOpenAI(model="m", api_key="k", base_url="http://model.internal:8000/v1", max_retries=0)
    assert (await model.ainvoke("hi")).content == "through the proxy"
    assert seen[0].headers["Host"] == "model.internal:8000"  # asked of the proxy, for the model server
    await model._direct_completions.aclose()
    monkeypatch.setenv("NO_PROXY", "model.internal")
    completions = ChatCompletions("http://model.internal:8000/v1", None, read_timeout=1, connect_timeout=1,
                                  max_retries=0)
    await completions._session()
    assert completions._proxy == (None, None)
    await completions.aclose()


async def test_a_request_makes_no_hop_to_the_loops_default_executor(server, monkeypatch):
    """That executor has min(32, cores + 4) threads for the whole process: aiohttp's trust_env looked up the proxy
    and a .netrc there on every request."""
    url, _, script = server
    script.extend([answer("one"), answer("two")])
    model = QwenChatOpenAI(model="m", api_key="k", base_url=url, max_retries=0)
    loop = asyncio.get_running_loop()
    hops = []
    real = loop.run_in_executor
    monkeypatch.setattr(loop, "run_in_executor",
                        lambda executor, fn, *args: hops.append(fn) or real(executor, fn, *args))
    assert (await model.ainvoke("hi")).content == "one" and (await model.ainvoke("hi")).content == "two"
    assert hops == []
