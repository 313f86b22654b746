"""What the model sees: a budgeted window of the history, and system prompts with a shared prefix."""

from __future__ import annotations

import datetime as dt

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from graphs.budget import estimate_tokens, recent_window
from graphs.prompting import system_prompt
from graphs.state import Stage


def _history(turns: int) -> list:
    messages = []
    for i in range(turns):
        messages += [HumanMessage(f"question {i} " + "x" * 300),
                     AIMessage("", tool_calls=[{"name": "get_order_details", "args": {"order_id": f"#W{i:07d}"},
                                                "id": f"c{i}", "type": "tool_call"}]),
                     ToolMessage("y" * 600, tool_call_id=f"c{i}"),
                     AIMessage(f"answer {i} " + "z" * 300)]
    return messages


def test_window_fits_the_budget_and_starts_at_a_customer_message():
    history = _history(50)
    window = recent_window(history, budget_tokens=2000)
    assert sum(estimate_tokens(m) for m in window) <= 2000
    assert isinstance(window[0], HumanMessage) and window[-1] is history[-1]
    assert 2 <= len(window) // 4 < 50  # several whole turns, not everything
    assert window == history[-len(window):]  # a suffix: nothing reordered or dropped in between


def test_window_always_keeps_the_current_turn_even_over_budget():
    history = _history(3)
    window = recent_window(history, budget_tokens=10)
    assert window == history[-4:]


def test_window_is_everything_when_it_fits():
    history = _history(3)
    assert recent_window(history, budget_tokens=100_000) == history


def test_system_prompts_share_the_policy_prefix_and_carry_the_facts():
    common = dict(today=dt.date(2026, 11, 26), customer_id=None, verified_by=None,
                  persona="concise")
    intake = system_prompt(Stage.INTAKE, **common)
    desk = system_prompt(Stage.ORDER_DESK, **{**common, "customer_id": "lena_moreau_3307", "verified_by": "email"})
    shared = 0
    while intake[shared] == desk[shared]:
        shared += 1
    assert shared > len(intake) // 2  # policy and tone come first, identical across stages
    assert "Stage: intake" in intake and "Stage: order desk" in desk
    assert "2026-11-26" in desk and "lena_moreau_3307 (identified by email)" in desk
    assert "One or two sentences" in desk  # the persona preset
