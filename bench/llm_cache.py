"""Prefix-cache benchmark of the embedded model (llama.cpp via xllamacpp).

A six-turn conversation with one stage switch after turn 3: the system prompt is a long shared policy
text followed by a stage-specific part, with tools. For every request the server reports how many prompt
tokens came from its cache (``timings.cache_n``) and how many it evaluated (``timings.prompt_n``); we also
time the first streamed token.

Runs: 1) prompt cache on (default), on a freshly started server, so turn 1 is cold;
      2) baseline in the same run: the same conversation with ``"cache_prompt": false`` on every request.

Targets: warm first token <= 1 s within a stage; >= 80 % of prompt tokens served from the cache over the
conversation. Exit code 0 when both pass.

    .venv/bin/python bench/llm_cache.py [--threads 2] [--max-tokens 24]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

POLICY = """You are the customer-service assistant of Northwind Home, an online shop for kitchenware and home goods.
Shop policy, apply it exactly:
1. Identify the customer before discussing any order: ask for the e-mail address and the order id.
2. Orders can be cancelled while their status is 'pending' or 'processing'. Shipped orders cannot be cancelled; offer a return instead.
3. Returns are accepted within 30 days of delivery for unused items in their original packaging. Damaged or wrong items can be returned at any time within 90 days, and the shop pays the return shipping.
4. Refunds go to the original payment method within 5 to 10 business days after the returned item arrives at the warehouse.
5. Address changes are possible only while the order is 'pending'. Never change an address without an explicit confirmation from the customer.
6. Never reveal data of another customer. Never invent an order id, a tracking number or a price: look them up with the tools.
7. Exchanges are handled as a return plus a new order. Gift cards cannot be refunded or exchanged.
8. Be concise and polite. Answer in the customer's language. Use at most three short sentences unless the customer asks for details.
9. When a tool returns an error, explain the problem in plain language and say what the customer can do next.
10. If the customer is angry, asks for a human, or the problem needs a manager's decision (refunds above 500 EUR, legal threats, safety issues), escalate with a hand-over ticket.
11. Delivery times: standard shipping 3 to 5 business days, express 1 to 2 business days; shipping is free above 50 EUR.
12. Once a tool result arrives, answer the customer in plain language; do not repeat the same call.
"""

STAGES = {
    "identify": "Current stage: IDENTIFY. The customer is not yet identified. Ask for the e-mail address and the "
                "order id, then look up the customer with find_customer. Do not discuss order details yet.",
    "orders": "Current stage: ORDERS. The customer is identified. Help with order status, cancellations, "
              "returns and address changes using the order tools, following the shop policy.",
}

TOOLS = [
    {"type": "function", "function": {
        "name": "find_customer", "description": "Find a customer by e-mail address.",
        "parameters": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}},
    {"type": "function", "function": {
        "name": "get_order", "description": "Look up one order of the identified customer by its id.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "cancel_order", "description": "Cancel a pending or processing order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"},
                                                        "reason": {"type": "string"}},
                       "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "start_return", "description": "Start a return for items of a delivered order.",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": "string", "enum": ["damaged", "wrong_item", "changed_mind"]}},
            "required": ["order_id", "items", "reason"]}}},
]

TURNS = [
    ("identify", "Hi, I have a question about an order I placed last week."),
    ("identify", "Sure, my e-mail is jane.doe@example.com."),
    ("identify", "The order id is A-1001."),
    ("orders", "Thanks. Has it shipped yet?"),
    ("orders", "Can I still change the delivery address?"),
    ("orders", "OK, what are the delivery times for express shipping?"),
]


@dataclass
class TurnStat:
    turn: int
    stage: str
    prompt_tokens: int
    cached: int
    evaluated: int
    first_token_s: float
    total_s: float
    reply: str


def system_prompt(stage: str) -> str:
    return POLICY + "\n" + STAGES[stage]


def ask(client: httpx.Client, base: str, model: str, messages: list[dict[str, Any]], *, cache: bool,
        max_tokens: int) -> tuple[str, dict[str, Any], float, float]:
    body = {"model": model, "messages": messages, "tools": TOOLS, "stream": True, "max_tokens": max_tokens,
            "temperature": 0, "cache_prompt": cache, "stream_options": {"include_usage": True}}
    t0 = time.monotonic()
    first: float | None = None
    text: list[str] = []
    timings: dict[str, Any] = {}
    usage: dict[str, Any] = {}
    with client.stream("POST", f"{base}/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            for ch in data.get("choices") or []:
                delta = ch.get("delta") or {}
                piece = delta.get("content") or ""
                if piece or delta.get("tool_calls"):
                    first = first if first is not None else time.monotonic() - t0
                text.append(piece)
            timings = data.get("timings") or timings
            usage = data.get("usage") or usage
    total = time.monotonic() - t0
    stats = {"timings": timings, "usage": usage}
    return "".join(text), stats, first if first is not None else total, total


def run_conversation(base: str, model: str, *, cache: bool, max_tokens: int, label: str) -> list[TurnStat]:
    out: list[TurnStat] = []
    history: list[dict[str, Any]] = []
    with httpx.Client(timeout=httpx.Timeout(300.0)) as client:
        for i, (stage, user) in enumerate(TURNS, 1):
            history.append({"role": "user", "content": user})
            messages = [{"role": "system", "content": system_prompt(stage)}, *history]
            try:
                reply, stats, first, total = ask(client, base, model, messages, cache=cache, max_tokens=max_tokens)
            except httpx.RemoteProtocolError:  # a pooled keep-alive connection the server had closed: once more
                print(f"  [{label}] turn {i}: server closed the connection, retrying once", flush=True)
                reply, stats, first, total = ask(client, base, model, messages, cache=cache, max_tokens=max_tokens)
            t = stats["timings"]
            cached = int(t.get("cache_n", 0))
            evaluated = int(t.get("prompt_n", 0))
            if not t:  # fall back to the OpenAI-style usage fields
                u = stats["usage"]
                cached = int((u.get("prompt_tokens_details") or {}).get("cached_tokens", 0))
                evaluated = int(u.get("prompt_tokens", 0)) - cached
            s = TurnStat(i, stage, cached + evaluated, cached, evaluated, first, total, reply.strip())
            out.append(s)
            print(f"  [{label}] turn {i} {stage:<8} prompt {s.prompt_tokens:5d}  cached {cached:5d}  "
                  f"evaluated {evaluated:5d}  first token {first:6.2f} s  total {total:6.2f} s", flush=True)
            history.append({"role": "assistant", "content": reply.strip() or "(no answer)"})
    return out


def summarize(stats: list[TurnStat]) -> dict[str, float]:
    prompt = sum(s.prompt_tokens for s in stats)
    cached = sum(s.cached for s in stats)
    pairs = list(zip(stats, stats[1:]))
    warm = [cur.first_token_s for prev, cur in pairs if cur.stage == prev.stage]
    switch = [cur.first_token_s for prev, cur in pairs if cur.stage != prev.stage]
    return {
        "cold_first_token_s": stats[0].first_token_s,
        "warm_first_token_mean_s": sum(warm) / len(warm),
        "warm_first_token_max_s": max(warm),
        "switch_first_token_s": switch[0] if switch else float("nan"),
        "cached_share": cached / prompt if prompt else 0.0,
        "prompt_tokens": prompt,
        "cached_tokens": cached,
        "total_s": sum(s.total_s for s in stats),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--max-tokens", type=int, default=24, help="tokens generated per turn (kept small)")
    ap.add_argument("--base-url", default=None, help="benchmark this server instead of starting the embedded one")
    args = ap.parse_args(argv)

    from agent.llm.server import model_server
    from agent.settings import EMBEDDED_MODEL_ALIAS, Settings

    overrides: dict[str, Any] = {"llm_base_url": args.base_url or "", "embedded_ctx": args.ctx}
    if args.threads:
        overrides["embedded_threads"] = args.threads
    settings = Settings(**overrides)
    model = settings.effective_model if args.base_url else EMBEDDED_MODEL_ALIAS
    t0 = time.monotonic()
    with model_server(settings, progress=False) as base:
        print(f"server {base} ready in {time.monotonic() - t0:.1f} s; model {model}, "
              f"{settings.embedded_threads} threads, ctx {settings.embedded_ctx}")
        print("run 1: prompt cache ON (fresh server: turn 1 is cold)")
        on = summarize(run_conversation(base, model, cache=True, max_tokens=args.max_tokens, label="cache"))
        print("run 2: baseline, cache_prompt=false on every request")
        off = summarize(run_conversation(base, model, cache=False, max_tokens=args.max_tokens, label="no-cache"))

    print()
    print(f"{'':34}{'cache on':>12}{'baseline':>12}{'ratio':>9}")
    rows = [("cold first token (turn 1), s", "cold_first_token_s"),
            ("warm first token mean, s", "warm_first_token_mean_s"),
            ("warm first token max, s", "warm_first_token_max_s"),
            ("first token after stage switch, s", "switch_first_token_s"),
            ("prompt tokens from cache", "cached_share"),
            ("conversation wall time, s", "total_s")]
    for title, key in rows:
        a, b = on[key], off[key]
        ratio = f"{a / b:8.2f}x" if b else "      -"
        if key == "cached_share":
            print(f"{title:34}{a:11.1%} {b:11.1%} {'':>8}")
        else:
            print(f"{title:34}{a:12.2f}{b:12.2f}{ratio}")
    print(f"prompt tokens over the conversation: {on['prompt_tokens']:.0f}, of which cached {on['cached_tokens']:.0f}")
    ok_first = on["warm_first_token_max_s"] <= 1.0
    ok_share = on["cached_share"] >= 0.80
    print(f"{'PASS' if ok_first else 'FAIL'}: warm first token within a stage <= 1 s "
          f"(max {on['warm_first_token_max_s']:.2f} s, mean {on['warm_first_token_mean_s']:.2f} s)")
    print(f"{'PASS' if ok_share else 'FAIL'}: >= 80 % of prompt tokens from cache ({on['cached_share']:.1%})")
    return 0 if ok_first and ok_share else 1


if __name__ == "__main__":
    sys.exit(main())
