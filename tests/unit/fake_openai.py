"""A real local HTTP server that fakes the OpenAI chat-completions API, scriptable from tests.

Usage::

    with FakeOpenAI() as fake:                       # 127.0.0.1, ephemeral port, threaded
        fake.push(text("Hello!"))                    # queue of replies, consumed one per request
        fake.push(tool_calls(("get_order", {"order_id": "A-1"})))
        fake.push(Fail.http(500))                    # or a failure
        fake.handler = lambda req: text("echo " + req["messages"][-1]["content"])  # or a callable
        model = build_chat_model(settings, base_url=fake.base_url)
        ...
        fake.requests                                # every chat request body (dicts), in order

Replies (``Reply``) carry content and/or structured tool calls; the same reply serves a non-streaming
request (one JSON body) or a streaming one (SSE chunks: content split into ``chunk_size``-character
tokens, tool-call arguments split in several deltas). Failures (``Fail``): HTTP status, malformed JSON,
empty ``choices``, sleep (timeout), close the connection; ``fake.stop()`` gives "connection refused".
When the queue is empty and no handler is set, the server answers ``default`` (a short text).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Fail", "FakeOpenAI", "Reply", "text", "tool_calls"]

MODEL = "fake-qwen"


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    finish_reason: str | None = None
    chunk_size: int = 4  # characters per streamed content token
    delay: float = 0.0  # seconds before answering
    token_delay: float = 0.0  # seconds between streamed chunks
    prompt_tokens: int = 10
    completion_tokens: int = 5


@dataclass
class Fail:
    kind: str  # "status" | "malformed" | "empty_choices" | "sleep" | "close"
    status: int = 500
    seconds: float = 0.0
    body: str = ""

    @classmethod
    def http(cls, status: int = 500, body: str | None = None) -> Fail:
        return cls("status", status=status, body=body or json.dumps({"error": {"message": f"fake error {status}",
                                                                              "type": "server_error"}}))

    @classmethod
    def malformed(cls, body: str = '{"id": "x", "choices": [ {"message": ') -> Fail:
        return cls("malformed", body=body)

    @classmethod
    def empty_choices(cls) -> Fail:
        return cls("empty_choices")

    @classmethod
    def sleep(cls, seconds: float) -> Fail:
        return cls("sleep", seconds=seconds)

    @classmethod
    def close(cls) -> Fail:
        return cls("close")


Script = Reply | Fail
Handler = Callable[[dict[str, Any]], Script | str]


def text(content: str, **kw: Any) -> Reply:
    return Reply(content=content, **kw)


def tool_calls(*calls: tuple[str, dict[str, Any] | str], content: str = "", **kw: Any) -> Reply:
    return Reply(content=content, tool_calls=list(calls), **kw)


_ids = itertools.count(1)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up are part of the tests


class FakeOpenAI:
    """The fake server. ``push`` scripted replies, or set ``handler``; read ``requests``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, model: str = MODEL,
                 default: Script | None = None) -> None:
        self.host = host
        self.model = model
        self.models = [model]
        self.owned_by = "fake"  # what GET /models says of each model (real servers say "llamacpp", "vllm")
        self.default: Script = default or Reply(content="OK.")
        self.handler: Handler | None = None
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._queue: queue.Queue[Script] = queue.Queue()
        self._lock = threading.Lock()
        self._server = _QuietServer((host, port), self._make_handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: later requests get "connection refused"."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------------
    def push(self, *replies: Script | str) -> FakeOpenAI:
        for r in replies:
            self._queue.put(Reply(content=r) if isinstance(r, str) else r)
        return self

    def extend(self, replies: Iterable[Script | str]) -> FakeOpenAI:
        return self.push(*replies)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _next(self, body: dict[str, Any]) -> Script:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            pass
        if self.handler is not None:
            r = self.handler(body)
            return Reply(content=r) if isinstance(r, str) else r
        return self.default

    # -- HTTP -----------------------------------------------------------------------------
    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as real servers (uvicorn, vLLM) set it: the headers and the body go out in two writes,
            # and with Nagle's algorithm the body waited for the client's delayed ACK of the headers, up to 40 ms
            # a response (a benchmark's fixed latency was then 0.5 s plus 0 to 40 ms, at random).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                fake.paths.append(self.path)
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "owned_by": fake.owned_by} for m in fake.models]
                    self._send(200, json.dumps({"object": "list", "data": data}))
                elif self.path.rstrip("/").endswith("/health"):
                    self._send(200, json.dumps({"status": "ok"}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self) -> None:  # noqa: N802
                fake.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, json.dumps({"error": {"message": "bad json"}}))
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": "not found"}}))
                    return
                with fake._lock:
                    fake.requests.append(body)
                script = fake._next(body)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(body, script)

            def _answer(self, body: dict[str, Any], script: Script) -> None:
                stream = bool(body.get("stream"))
                if isinstance(script, Fail):
                    if script.kind == "sleep":
                        time.sleep(script.seconds)
                        script = fake.default
                    elif script.kind == "close":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    elif script.kind == "status":
                        self._send(script.status, script.body)
                        return
                    elif script.kind == "malformed":
                        if stream:
                            self._sse_start()
                            self._sse(script.body)
                            self._sse_end()
                        else:
                            self._send(200, script.body)
                        return
                    elif script.kind == "empty_choices":
                        payload = {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion",
                                   "created": int(time.time()), "model": fake.model, "choices": []}
                        if stream:
                            self._sse_start()
                            payload["object"] = "chat.completion.chunk"
                            self._sse(json.dumps(payload))
                            self._sse_end()
                        else:
                            self._send(200, json.dumps(payload))
                        return
                assert isinstance(script, Reply)
                if script.delay:
                    time.sleep(script.delay)
                if stream:
                    self._stream_reply(body, script)
                else:
                    self._send(200, json.dumps(self._completion(script)))

            def _calls(self, script: Reply) -> list[dict[str, Any]]:
                out = []
                for i, (name, args) in enumerate(script.tool_calls):
                    out.append({"id": f"call_fake{next(_ids)}", "type": "function", "index": i,
                                "function": {"name": name,
                                             "arguments": args if isinstance(args, str) else json.dumps(args)}})
                return out

            def _completion(self, script: Reply) -> dict[str, Any]:
                msg: dict[str, Any] = {"role": "assistant", "content": script.content or None}
                calls = self._calls(script)
                if calls:
                    msg["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
                finish = script.finish_reason or ("tool_calls" if calls else "stop")
                return {
                    "id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": int(time.time()),
                    "model": fake.model,
                    "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                    "usage": {"prompt_tokens": script.prompt_tokens, "completion_tokens": script.completion_tokens,
                              "total_tokens": script.prompt_tokens + script.completion_tokens},
                }

            def _sse_start(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            def _sse(self, data: str) -> None:
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()

            def _sse_end(self) -> None:
                self._sse("[DONE]")

            def _stream_reply(self, body: dict[str, Any], script: Reply) -> None:
                cid = f"chatcmpl-{next(_ids)}"
                base = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": fake.model}

                def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
                    return json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

                self._sse_start()
                self._sse(chunk({"role": "assistant", "content": ""}))
                step = max(1, script.chunk_size)
                for i in range(0, len(script.content), step):
                    if script.token_delay:
                        time.sleep(script.token_delay)
                    self._sse(chunk({"content": script.content[i:i + step]}))
                calls = self._calls(script)
                for c in calls:
                    args = c["function"]["arguments"]
                    self._sse(chunk({"tool_calls": [{"index": c["index"], "id": c["id"], "type": "function",
                                                     "function": {"name": c["function"]["name"], "arguments": ""}}]}))
                    half = len(args) // 2
                    for part in (args[:half], args[half:]):
                        if part:
                            self._sse(chunk({"tool_calls": [{"index": c["index"], "function": {"arguments": part}}]}))
                self._sse(chunk({}, script.finish_reason or ("tool_calls" if calls else "stop")))
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._sse(json.dumps({**base, "choices": [], "usage": {
                        "prompt_tokens": script.prompt_tokens, "completion_tokens": script.completion_tokens,
                        "total_tokens": script.prompt_tokens + script.completion_tokens}}))
                self._sse_end()

        return H
