"""Failures of the model server surface as clear LLMError subclasses, quickly, and the client survives."""

from __future__ import annotations

import time

import pytest

from agent.llm import (
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    build_chat_model,
)
from agent.settings import Settings
from tests.unit.fake_openai import Fail, FakeOpenAI, text


def _settings(url: str, timeout: float = 1.0) -> Settings:
    return Settings(llm_base_url=url, llm_model="fake-qwen", llm_timeout=timeout, llm_max_retries=0)


@pytest.fixture
def fake():
    with FakeOpenAI() as f:
        yield f


async def _consume(model, prompt="hi"):
    return [c async for c in model.astream(prompt)]


FAILURES = [
    (Fail.http(500), LLMServerError, "HTTP 500"),
    (Fail.malformed(), LLMResponseError, "not a valid chat completion"),
    (Fail.empty_choices(), LLMResponseError, "choices"),
    (Fail.sleep(2.0), LLMTimeoutError, "within 1.0 s"),
]


@pytest.mark.parametrize("failure,exc_type,words", FAILURES, ids=["http500", "malformed", "empty", "timeout"])
@pytest.mark.parametrize("mode", ["invoke", "stream"])
async def test_failure_raises_clear_error_then_recovers(fake, failure, exc_type, words, mode):
    model = build_chat_model(_settings(fake.base_url))
    fake.push(failure, text("Back to normal."))
    started = time.monotonic()
    with pytest.raises(exc_type) as info:
        if mode == "invoke":
            await model.ainvoke("hi")
        else:
            await _consume(model)
    assert time.monotonic() - started < 5
    assert isinstance(info.value, LLMError)
    assert words in str(info.value)
    assert fake.base_url in str(info.value) or exc_type is LLMResponseError
    # the same client works for the next request
    if mode == "invoke":
        assert (await model.ainvoke("again")).content == "Back to normal."
    else:
        chunks = await _consume(model, "again")
        assert "".join(c.content for c in chunks) == "Back to normal."


@pytest.mark.parametrize("mode", ["invoke", "stream"])
async def test_connection_refused(mode):
    fake = FakeOpenAI().start()
    url = fake.base_url
    fake.stop()
    model = build_chat_model(_settings(url))
    started = time.monotonic()
    with pytest.raises(LLMConnectionError, match="Cannot reach the model server"):
        if mode == "invoke":
            await model.ainvoke("hi")
        else:
            await _consume(model)
    assert time.monotonic() - started < 5


async def test_closed_connection_is_connection_error(fake):
    model = build_chat_model(_settings(fake.base_url))
    fake.push(Fail.close(), text("fine"))
    with pytest.raises(LLMError):
        await model.ainvoke("hi")
    assert (await model.ainvoke("hi")).content == "fine"


def test_sync_invoke_error_and_recovery(fake):
    model = build_chat_model(_settings(fake.base_url))
    fake.push(Fail.http(503), text("ok"))
    with pytest.raises(LLMServerError, match="HTTP 503"):
        model.invoke("hi")
    assert model.invoke("hi").content == "ok"


def test_errors_are_langchain_model_errors(fake):
    from langchain_core.exceptions import ModelAPIError, ModelConnectionError, ModelTimeoutError

    assert issubclass(LLMServerError, ModelAPIError)
    assert issubclass(LLMConnectionError, ModelConnectionError)
    assert issubclass(LLMTimeoutError, ModelTimeoutError)


def test_missing_base_url_is_clear():
    with pytest.raises(LLMConnectionError, match="DESKGRAPH_LLM_BASE_URL"):
        build_chat_model(Settings(llm_base_url=""))
