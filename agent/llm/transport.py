"""Chat-completion requests over aiohttp: the async path of ``QwenChatOpenAI``, without the OpenAI SDK and httpx.

Why: under 64 concurrent conversations the service's own CPU decides its throughput, and one model request through
LangChain's client (the SDK walks every argument and the reading's JSON schema through its type transforms, builds
pydantic models of the answer, and sends it through httpx, httpcore, anyio and h11) was about a quarter of a text
turn's CPU (bench/profile_turn.py). The request body is the one the SDK would send (``QwenChatOpenAI`` builds it with
LangChain's own payload code) and the answer is read by LangChain's own converters, so only the HTTP layer differs.

What the SDK did and this keeps: connection pooling with keep-alive, the read and connect timeouts, retries of
connection failures, timeouts and 408/409/429/5xx answers with exponential back-off (honouring ``Retry-After``), the
``Authorization`` header, proxies from the environment, and server-sent events for streaming.

Proxies are read from the environment once, when a loop's session is made, as httpx reads them when the SDK's client
is made. aiohttp's own ``trust_env`` would look them up (and a ``.netrc``, which the SDK never read) on the loop's
default executor for every request: two thread hops per model request, on an executor of min(32, cores + 4)
threads shared by every conversation of the process.

aiohttp sessions belong to an event loop: one is made per loop that sends a request, and is closed by that loop's
own shutdown (``asyncio.run``, uvicorn and pytest-asyncio all close a loop's async generators before closing it;
a generator that holds the session open does the closing), so nothing is left unclosed and no loop is shared.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

__all__ = ["ChatCompletions", "ModelHTTPError", "ModelStreamError"]

#: The statuses the SDK retries (and anything from 500 up).
_RETRY_STATUSES = frozenset({408, 409, 429})
_BACKOFF_FIRST, _BACKOFF_MAX, _RETRY_AFTER_MAX = 0.5, 8.0, 60.0


class ModelHTTPError(Exception):
    """The model server answered with an HTTP error status; ``message`` is the SDK's wording of it."""

    def __init__(self, status_code: int, body: str) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(f"Error code: {status_code} - {body}")
        self.message = str(self)


class ModelStreamError(Exception):
    """The server reported an error inside an event stream it had begun with 200."""


async def _hold(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    """Keeps ``session`` until the loop shuts its async generators down, then closes it on that loop."""
    try:
        yield
    finally:
        await session.close()


class ChatCompletions:
    """POSTs ``/chat/completions`` bodies to one OpenAI-compatible server and returns the decoded answers."""

    def __init__(self, base_url: str, api_key: str | None, *, read_timeout: float | None,
                 connect_timeout: float | None, max_retries: int, headers: Mapping[str, str] | None = None,
                 query: Mapping[str, str] | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.query = dict(query or {})
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)
        self.max_retries = max(0, max_retries)
        self._sessions: dict[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncIterator[None]]] = {}
        self._proxy: tuple[URL | None, aiohttp.BasicAuth | None] = (None, None)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """One non-streaming request: the completion as a dict (``orjson.JSONDecodeError`` if it is not JSON)."""
        async with await self._post(body) as response:
            raw = await response.read()
        answer = orjson.loads(raw)
        if not isinstance(answer, dict):
            raise ValueError(f"expected a JSON object, got {type(answer).__name__}: {raw[:200]!r}")
        return answer

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """One streaming request: each server-sent event's JSON, until ``[DONE]`` or the end of the stream."""
        async with await self._post(body) as response:
            data: list[bytes] = []
            async for line in response.content:
                line = line.rstrip(b"\r\n")
                if line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" "))
                    continue
                if line or not data:
                    continue  # a comment, an event name or id, or a blank line with nothing pending
                payload, data = b"\n".join(data), []
                if payload == b"[DONE]":
                    return
                event = orjson.loads(payload)
                if isinstance(event, dict) and event.get("error"):
                    raise ModelStreamError(f"the server reported an error mid-stream: {event['error']}")
                yield event
            if data and (payload := b"\n".join(data)) != b"[DONE]":
                yield orjson.loads(payload)  # a last event without its blank line

    async def _post(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        """The response to ``body`` with a success status, after the retries the settings allow."""
        try:
            data = orjson.dumps(body)
        except TypeError as exc:
            raise ValueError(f"the request is not JSON: {exc}") from exc
        session = await self._session()
        for attempt in itertools.count():  # the last allowed attempt returns or raises
            last = attempt >= self.max_retries
            try:
                response = await session.post(self.url, data=data, headers=self.headers, params=self.query or None,
                                              timeout=self.timeout, proxy=self._proxy[0],
                                              proxy_auth=self._proxy[1])
            except (TimeoutError, aiohttp.ClientConnectionError):
                if last:
                    raise
                await asyncio.sleep(_backoff(attempt, None))
                continue
            if response.status < 400:
                return response
            text = await response.text(errors="replace")
            response.release()
            if last or not _retryable(response):
                raise ModelHTTPError(response.status, text)
            await asyncio.sleep(_backoff(attempt, response.headers.get("Retry-After")))

    async def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        held = self._sessions.get(loop)
        if held is not None and not held[0].closed:
            return held[0]
        for stale in [other for other in self._sessions if other.is_closed()]:
            del self._sessions[stale]  # closed by that loop's shutdown (see _hold)
        self._proxy = env_proxy(self.url)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
            timeout=self.timeout, skip_auto_headers=("User-Agent",))
        keeper = _hold(session)
        await keeper.__anext__()  # the loop now knows the generator and closes it at shutdown
        self._sessions[loop] = (session, keeper)
        return session

    async def aclose(self) -> None:
        """Close the running loop's session now (otherwise the loop's shutdown does)."""
        held = self._sessions.pop(asyncio.get_running_loop(), None)
        if held is not None:
            await held[1].aclose()


def env_proxy(url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for ``url`` (``HTTP(S)_PROXY``, less ``NO_PROXY``) and its credentials;
    (None, None) for none."""
    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None


def _retryable(response: aiohttp.ClientResponse) -> bool:
    hint = response.headers.get("x-should-retry")
    if hint in ("true", "false"):
        return hint == "true"
    return response.status in _RETRY_STATUSES or response.status >= 500


def _backoff(attempt: int, retry_after: str | None) -> float:
    """Seconds before the next attempt: the server's ``Retry-After`` when sensible, else the SDK's back-off."""
    try:
        wait = float(retry_after) if retry_after else None
    except ValueError:
        wait = None
    if wait is not None and 0 < wait <= _RETRY_AFTER_MAX:
        return wait
    return min(_BACKOFF_FIRST * 2 ** attempt, _BACKOFF_MAX) * (1 - 0.25 * random.random())
