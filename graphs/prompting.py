"""System prompts: the shared part first, so servers can reuse their prefix cache across stage switches."""

from __future__ import annotations

import datetime as dt

from graphs.state import Stage
from prompts import PromptNotFoundError, load_prompt

_STAGE_PROMPT = {Stage.INTAKE: "intake", Stage.ORDER_DESK: "order_desk", Stage.ESCALATION: "escalation"}


def persona_text(persona: str | None) -> str:
    """The tone preset's text; an unknown name falls back to the default preset."""
    try:
        return load_prompt(f"personas/{persona or 'default'}")
    except PromptNotFoundError:
        return load_prompt("personas/default")


def system_prompt(
    stage: Stage,
    *,
    today: dt.date,
    customer_id: str | None,
    verified_by: str | None,
    persona: str | None,
    customer_facts: list[str] | None = None,
    handback: str = "",
) -> str:
    """Policy and tone (shared by all stages), then the stage's role, then the facts of this conversation.

    The shared part comes first so a stage switch reuses it from the server's prefix cache; everything above
    the facts is identical for every conversation in a stage, and the facts change rarely (at identification),
    so most requests of a conversation are served from the cache up to the newest message.
    """
    if customer_id and verified_by:
        customer = f"user id {customer_id} (identified by {verified_by.replace('_', ' + ')})"
    else:
        customer = "not identified yet"
    # The orders under discussion are deliberately not listed here: they change from turn to turn, and any
    # change in the system prompt makes the server recompute the tools and the whole history after it. The
    # model sees them in the history (the graph's own lookups) anyway.
    lines = list(customer_facts or [])
    facts = load_prompt("facts").format(
        today=today.isoformat(), stage=stage.value.replace("_", " "), customer=customer, orders="\n".join(lines)
    )
    # A person's hand-back comes last: it is written once per hand-over, so the cached prefix above survives it.
    return "\n\n".join(
        [load_prompt("policy"), persona_text(persona), load_prompt(_STAGE_PROMPT[stage]), facts.strip(), handback]
    ).rstrip()
