"""A `deskgraph serve`-like process for the kill -9 tests: the real app on a scripted model the test steers.

Usage: python -m tests.graph.crash_server ROOT PORT  (the store and checkpoints under ROOT)

The test steers it with files under ROOT, so it can kill the process at a known point of a turn:
- ``slow`` present: the model touches ``thinking`` and then "thinks" far longer than the test waits;
  otherwise it answers at once: a message starting "please cancel" with the call cancelling #W1000001,
  anything else with ``Answered: <the customer's last message>``.
- ``hang_after_write`` present: a confirmed write commits (store and ledger row), touches ``wrote`` and then
  hangs before the graph can checkpoint the step that ran it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import uvicorn

from agent.api import create_app
from agent.testing import ScriptedChatModel, tool_call
from graphs import tool_layer
from tests.graph.api_support import shop_settings

#: A killed process's lease blocks its thread this long (the tests' restart waits it out).
LEASE_SECONDS = 1.0


def _reply(root: Path):  # noqa: ANN202 - a scripted reply
    def reply(messages, tools):  # noqa: ANN001, ANN202
        if (root / "slow").exists():
            (root / "thinking").touch()
            time.sleep(120)  # runs in a worker thread; the test kills the process meanwhile
        last = max(i for i, m in enumerate(messages) if m.type == "human")
        said, since = str(messages[last].content), messages[last + 1:]
        if said.startswith("please cancel") and not any(getattr(m, "tool_calls", None) for m in since[-1:]):
            return tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed")
        return f"Answered: {said}"
    return reply


def _hang_after_write(root: Path) -> None:
    write = tool_layer.GuardedTools.write

    def hanging(self, **kwargs):  # noqa: ANN001, ANN003, ANN202 - wraps the real write
        outcome = write(self, **kwargs)
        if (root / "hang_after_write").exists():
            (root / "wrote").touch()
            time.sleep(120)
        return outcome

    tool_layer.GuardedTools.write = hanging


def main() -> None:
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    _hang_after_write(root)
    model = ScriptedChatModel([_reply(root) for _ in range(50)])
    settings = shop_settings(root, turn_lease_seconds=LEASE_SECONDS)
    uvicorn.run(create_app(settings, model=model), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
