"""Streaming tool-call recovery: pass prose tokens through at once, hold back text that looks like a call.

:class:`StreamingToolCallRecovery` sits between the server's chunks and the caller. Content tokens flow
through unchanged unless the reply starts (after whitespace) like a tool call (``<tool_call>``, ``{``,
```` ``` ```` or ``[{``) or such a marker appears later in the text: from there on the text is buffered, and
at the end it is recovered (:func:`agent.llm.recovery.recover_tool_calls`) and emitted as ONE chunk with
``tool_call_chunks`` (complete JSON args, index, id, name). Buffered text that was not a call is emitted
as content. Invalid calls (unknown tool, bad arguments) are never emitted as tool_call_chunks; they travel
in ``additional_kwargs[INVALID_CALLS_KEY]`` and the client moves them into ``AIMessage.invalid_tool_calls``.
Structured ``tool_call_chunks`` from the server pass through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from agent.llm.recovery import ToolSpec, recover_tool_calls, tool_specs

__all__ = ["INVALID_CALLS_KEY", "RECOVERED_KEY", "StreamingToolCallRecovery"]

#: additional_kwargs key carrying recovered invalid calls through a stream (removed by the client).
INVALID_CALLS_KEY = "deskgraph_invalid_tool_calls"
#: response_metadata flag set on a reply whose tool calls were recovered from text.
RECOVERED_KEY = "deskgraph_recovered_tool_calls"

_MID_MARKERS = re.compile(r'<tool_call>|```|\{\s*"name"\s*:|\[\s*\{\s*"name"\s*:')
_START_PREFIXES = ("<tool_call>", "```", "{", "[{")
_MID_PREFIXES = ("<tool_call>", "```", '{"name":', '[{"name":')


def _starts_like_call(s: str) -> bool:
    return s.startswith(("<tool_call>", "```", "{")) or re.match(r"\[\s*\{", s) is not None


def _could_become(s: str, prefixes: Sequence[str]) -> bool:
    compact = re.sub(r"\s+", "", s)
    return any(p.startswith(compact) for p in prefixes)


class StreamingToolCallRecovery:
    """Feed every ``ChatGenerationChunk`` to :meth:`process`, then call :meth:`finish`; emit what they return."""

    def __init__(self, tools: Sequence[Any] | None) -> None:
        self.specs: dict[str, ToolSpec] = tool_specs(tools)
        self.state = "undecided" if self.specs else "pass"  # undecided | pass | buffer | structured
        self.pending = ""  # text held back while deciding
        self.buffer = ""  # text that may be a call
        self._template: ChatGenerationChunk | None = None
        self.recovered = None  # the RecoveryResult, when the buffer held calls

    # -- helpers --------------------------------------------------------------------------
    def _text_chunk(self, chunk: ChatGenerationChunk | None, text: str) -> ChatGenerationChunk:
        if chunk is None:
            msg = AIMessageChunk(content=text)
            if self._template is not None:
                msg.id = self._template.message.id
            return ChatGenerationChunk(message=msg)
        return ChatGenerationChunk(
            message=chunk.message.model_copy(update={"content": text}), generation_info=chunk.generation_info
        )

    @staticmethod
    def _has_metadata(chunk: ChatGenerationChunk) -> bool:
        msg = chunk.message
        return bool(
            chunk.generation_info
            or getattr(msg, "usage_metadata", None)
            or msg.response_metadata.get("finish_reason")
        )

    def _take_text(self, text: str) -> str:
        """Advance the state machine with new text; return the text that may be shown now."""
        if self.state == "buffer":
            self.buffer += text
            return ""
        self.pending += text
        if self.state == "undecided":
            s = self.pending.lstrip()
            if not s:
                return ""
            if _starts_like_call(s):
                self.state, self.buffer, self.pending = "buffer", self.pending, ""
                return ""
            if _could_become(s, _START_PREFIXES):
                return ""
            self.state = "pass"
        # pass: look for a marker later in the text
        m = _MID_MARKERS.search(self.pending)
        if m:
            before = self.pending[: m.start()]
            out = before.rstrip()
            self.buffer, self.pending = before[len(out):] + self.pending[m.start():], ""
            self.state = "buffer"
            return out
        # hold back a tail that could still become a marker
        hold = len(self.pending)
        for i in range(max(0, len(self.pending) - 16), len(self.pending)):
            if self.pending[i] in "<`{[" and _could_become(self.pending[i:], _MID_PREFIXES):
                hold = i
                break
        out = self.pending[:hold].rstrip()  # trailing whitespace waits: it may precede a call
        self.pending = self.pending[len(out):]
        return out

    # -- API ------------------------------------------------------------------------------
    def process(self, chunk: ChatGenerationChunk) -> list[ChatGenerationChunk]:
        if self._template is None:
            self._template = chunk
        msg = chunk.message
        if self.state == "structured":
            return [chunk]
        if isinstance(msg, AIMessageChunk) and msg.tool_call_chunks:
            out = []
            held = self.pending + self.buffer
            if held:
                out.append(self._text_chunk(None, held))
            self.pending = self.buffer = ""
            self.state = "structured"
            out.append(chunk)
            return out
        text = msg.content if isinstance(msg.content, str) else None
        if text is None or (self.state == "pass" and not self.specs):
            return [chunk]
        if text == "":
            return [chunk]
        shown = self._take_text(text)
        if shown:
            return [self._text_chunk(chunk, shown)]
        if self._has_metadata(chunk):
            return [self._text_chunk(chunk, "")]
        return []

    def finish(self) -> list[ChatGenerationChunk]:
        out: list[ChatGenerationChunk] = []
        if self.pending:
            out.append(self._text_chunk(None, self.pending))
            self.pending = ""
        if self.state != "buffer" or not self.buffer:
            return out
        result = recover_tool_calls(self.buffer, self.specs)
        buffered, self.buffer = self.buffer, ""
        if not result.found:
            out.append(self._text_chunk(None, buffered))
            return out
        self.recovered = result
        # Text after a recovered call is what small models hallucinate as the tool's result: never shown.
        msg = AIMessageChunk(
            content="" if result.calls else result.content,
            tool_call_chunks=[
                tool_call_chunk(name=c["name"], args=json.dumps(c["args"], ensure_ascii=False), id=c["id"], index=i)
                for i, c in enumerate(result.calls)
            ],
        )
        msg.response_metadata[RECOVERED_KEY] = True
        if result.invalid:
            msg.additional_kwargs[INVALID_CALLS_KEY] = [dict(ic) for ic in result.invalid]
        if self._template is not None:
            msg.id = self._template.message.id
        out.append(ChatGenerationChunk(message=msg))
        return out
