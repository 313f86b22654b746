"""Issue 10, load: 50 conversations of 10 turns each, all at once through the HTTP app, run with zero errors.

The app runs in-process (ASGI) on real SQLite files with a scripted model that answers every message at once,
so the test measures the service's own concurrency: the runtime, the turn leases, the checkpoints and the
SSE streams. Each conversation sends its turns one after the other (a thread takes one turn at a time);
the 50 conversations run concurrently.
"""

from __future__ import annotations

import asyncio

from agent.testing import ScriptedChatModel
from tests.graph.api_support import client, events, operator_headers, shop_settings

CONVERSATIONS, TURNS = 50, 10


def _echo(messages, tools):  # noqa: ANN001, ANN202 - a scripted reply
    return f"Reply to {next(m.content for m in reversed(messages) if m.type == 'human')}"


async def test_fifty_conversations_of_ten_turns_at_once(tmp_path):
    settings = shop_settings(tmp_path)
    # One model request per turn, exactly: assert_complete() fails on any turn that did not reach the model.
    model = ScriptedChatModel([_echo] * (CONVERSATIONS * TURNS))
    async with client(settings, model) as c:
        c.headers.update(operator_headers(settings))

        in_flight = [0, 0]  # now, most at once

        async def conversation(n: int) -> list[str]:
            problems = []
            for turn in range(TURNS):
                text = f"conversation {n} message {turn}"
                in_flight[0] += 1
                in_flight[1] = max(in_flight)
                r = await c.post(f"/threads/load-{n}/messages", json={"text": text})
                in_flight[0] -= 1
                found = events(r.text) if r.status_code == 200 else []
                replies = [e["text"] for e in found if e["kind"] == "reply"]
                if (r.status_code != 200 or not r.text.rstrip().endswith("event: done\ndata: {}")
                        or any(e["kind"] == "error" for e in found) or replies != [f"Reply to {text}"]):
                    problems.append(f"{text}: {r.status_code} {r.text[-300:]!r}")
            return problems

        problems = [p for found in await asyncio.gather(*(conversation(n) for n in range(CONVERSATIONS)))
                    for p in found]
        assert problems == [], problems[:5]
        assert in_flight[1] == CONVERSATIONS  # they really ran at once

        rt = c.app.state.runtime
        for n in range(CONVERSATIONS):
            said = [f"conversation {n} message {turn}" for turn in range(TURNS)]
            messages = (await rt.view(f"load-{n}")).messages
            # Exactly its own 10 messages and 10 replies, in order: nothing lost, doubled or leaked.
            assert [m.content for m in messages] == [t for s in said for t in (s, f"Reply to {s}")], n
            snaps = [s async for s in rt.graph.aget_state_history(rt.config(f"load-{n}"))]
            parents = [s.parent_config["configurable"]["checkpoint_id"] for s in snaps if s.parent_config]
            assert len(parents) == len(set(parents)) == len(snaps) - 1, n  # one chain: no branch
        assert sorted(await rt.threads()) == sorted(f"load-{n}" for n in range(CONVERSATIONS))
    model.assert_complete()
