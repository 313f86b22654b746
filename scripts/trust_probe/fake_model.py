"""A scripted OpenAI-compatible model server, so every probe is reproducible and can inject faults the
real model never produces on demand."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .shared import tool_call_as_text

# What the fake model reacts to in a customer's text, the way a real model would pick up an id or an email.
ORDER_RE = re.compile(r"#W\d{7}")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
USER_RE = re.compile(r"\b[a-z]+_[a-z]+_\d{4}\b")


class FakeModel:
    """OpenAI-compatible chat completions. Behaviour is chosen by markers in the last customer message:

    SLOW<n>          sleep n seconds first            STREAMSLOW   stream the reply in 40 chunks, 0.15 s apart
    FAULT:<k>:<id>   fail once per id (k = 500, garbage, empty, malformed, hang, close, badargs, unknowntool,
                     texttool, loop); ALWAYS:<k> fails every time.
    Otherwise: flows readings are built from cue words; the agent loop calls get_order_details for every
    order id, find_user_id_by_email for an email, get_user_details for a user id, cancel_pending_order for
    "cancel"; after a tool result it echoes the result (so any leak shows in the reply).
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.requests = 0
        self.lock = threading.Lock()
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                self._json(200, {"object": "list", "data": [{"id": "fake-qwen", "object": "model"}]})

            def _json(self, code, obj):
                b = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                req = json.loads(self.rfile.read(n))
                with fake.lock:
                    fake.requests += 1
                # the client may hang up mid-answer (a hang or kill probe); that is not the fake's failure
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    fake.answer(self, req)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()

    @staticmethod
    def last_user(req) -> str:
        for m in reversed(req["messages"]):
            if m["role"] == "user":
                c = m["content"]
                return c if isinstance(c, str) else json.dumps(c)
        return ""

    def fault(self, text: str) -> str | None:
        m = re.search(r"ALWAYS:(\w+)", text)
        if m:
            return m.group(1)
        m = re.search(r"FAULT:(\w+):(\w+)", text)
        if m:
            with self.lock:
                if m.group(2) not in self.seen:
                    self.seen.add(m.group(2))
                    return m.group(1)
        return None

    def answer(self, h, req):
        text = self.last_user(req)
        msgs = req["messages"]
        last_role = msgs[-1]["role"]
        m = re.search(r"SLOW(\d+)", text)
        if m and last_role == "user":
            time.sleep(int(m.group(1)))
        f = self.fault(text) if last_role == "user" else None
        if f == "500":
            return h._json(500, {"error": {"message": "upstream broke while reading: " + text, "type": "server_error"}})
        if f == "garbage":
            return h._json(200, b"<html>this is not json at all</html>")
        if f == "empty":
            return h._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "fake-qwen",
                                 "choices": []})
        if f == "malformed":
            return h._json(200, b'{"id": "x", "choices": [ {"message": ')
        if f == "hang":
            time.sleep(30)
            return h._json(200, {})
        if f == "close":
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return None
        tools = {t["function"]["name"] for t in req.get("tools") or []}
        content, calls = "Hello, how can I help?", []
        if req.get("response_format"):
            content = json.dumps(self.reading(req, text))
        elif self.wants_cancel(msgs, text, tools):
            oid = ORDER_RE.findall(text)[0]
            calls = [("cancel_pending_order", json.dumps({"order_id": oid, "reason": "no longer needed"}))]
        elif last_role == "tool":
            content = "Here is what I found: " + " | ".join(
                str(x["content"])[:600] for x in msgs[-3:] if x["role"] == "tool")
        elif f == "badargs" and tools:
            calls = [(sorted(tools)[0], '{"order_id": 12, "bogus": ')]
        elif f == "unknowntool":
            calls = [("drop_all_tables", "{}")]
        elif f == "texttool":
            oid = (ORDER_RE.findall(text) or ["#W0000000"])[0]
            content = tool_call_as_text(oid)
        elif f == "loop" or "ALWAYS:loop" in text:
            calls = [("get_order_details", json.dumps({"order_id": "#W0000001"}))]
        else:
            low = text.lower()
            oids = ORDER_RE.findall(text)
            if "cancel" in low and oids and "cancel_pending_order" in tools:
                calls = [("cancel_pending_order", json.dumps({"order_id": oids[0], "reason": "no longer needed"}))]
            else:
                if "get_order_details" in tools:
                    calls += [("get_order_details", json.dumps({"order_id": o})) for o in oids[:3]]
                if "find_user_id_by_email" in tools:
                    calls += [("find_user_id_by_email", json.dumps({"email": e})) for e in EMAIL_RE.findall(text)[:2]]
                if "get_user_details" in tools:
                    calls += [("get_user_details", json.dumps({"user_id": u})) for u in USER_RE.findall(text)[:2]]
        streamslow = "STREAMSLOW" in text
        if req.get("stream"):
            return self.stream(h, content if not calls else "", calls, streamslow)
        msg = {"role": "assistant", "content": content if not calls else None}
        if calls:
            msg["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                  "function": {"name": n, "arguments": a}} for n, a in calls]
        h._json(200, {"id": "c", "object": "chat.completion", "created": 0, "model": "fake-qwen",
                      "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if calls else "stop"}],
                      "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

    @staticmethod
    def wants_cancel(msgs, text, tools) -> bool:
        """Agent loop: "cancel <order>" and no cancel call yet since the customer's message."""
        if "cancel" not in text.lower() or not ORDER_RE.findall(text) or "cancel_pending_order" not in tools:
            return False
        last_user = max(i for i, m in enumerate(msgs) if m["role"] == "user")
        return not any(tc.get("function", {}).get("name") == "cancel_pending_order"
                       for m in msgs[last_user:] for tc in (m.get("tool_calls") or []))

    def stream(self, h, content, calls, slow):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True

        def chunk(delta, finish=None):
            ch = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-qwen",
                  "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            h.wfile.write(b"data: " + json.dumps(ch).encode() + b"\n\n")
            h.wfile.flush()

        chunk({"role": "assistant", "content": ""})
        if content:
            parts = [content[i:i + 6] for i in range(0, len(content), 6)] if not slow else \
                [content[i * len(content) // 40:(i + 1) * len(content) // 40] for i in range(40)]
            for p in parts:
                chunk({"content": p})
                if slow:
                    time.sleep(0.15)
        for i, (n, a) in enumerate(calls):
            chunk({"tool_calls": [{"index": i, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                   "function": {"name": n, "arguments": ""}}]})
            chunk({"tool_calls": [{"index": i, "function": {"arguments": a}}]})
        chunk({}, "tool_calls" if calls else "stop")
        h.wfile.write(b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"fake-qwen","choices":[],'
                      b'"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}\n\n')
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()

    @staticmethod
    def reading(req, text):
        schema = req["response_format"]["json_schema"]["schema"]
        enum = schema.get("$defs", {}).get("Task", {}).get("enum", [])
        low, tasks = text.lower(), []
        for task, cue in (("cancel", "cancel"), ("return", "return"), ("order_info", "status"),
                          ("order_info", "order")):
            if task in enum and cue in low:
                tasks.append(task)
                break
        return {"tasks": tasks}
