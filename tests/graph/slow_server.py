"""A `deskgraph serve`-like process for the two-process tests: the real app on a scripted, slow model.

Usage: python -m tests.graph.slow_server ROOT PORT SECONDS  (the store and checkpoints under ROOT)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import uvicorn

from agent.api import create_app
from agent.testing import ScriptedChatModel
from tests.graph.api_support import shop_settings


def _slow_reply(seconds: float):  # noqa: ANN202 - a scripted reply
    def reply(messages, tools):  # noqa: ANN001, ANN202
        time.sleep(seconds)  # runs in a worker thread: the server stays responsive and answers 409s meanwhile
        return f"Answered: {messages[-1].content}"
    return reply


def main() -> None:
    root, port, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    model = ScriptedChatModel([_slow_reply(seconds) for _ in range(20)])
    uvicorn.run(create_app(shop_settings(root), model=model), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
