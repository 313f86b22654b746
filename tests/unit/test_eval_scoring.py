"""Scoring a write: the same call with its list arguments in another order is the same write."""

from __future__ import annotations

from typing import Any

from agent.eval.records import WriteCall, normalized_args
from agent.eval.scenario import Scenario
from agent.eval.scoring import Observed, expected_store, judge, others_data
from tests.fixtures_data import small_dataset
from tools import RetailStore, call_tool

FAN, BLOCK = "9100000101", "9200000230"          # Lena's delivered order #W1000002 (tests/fixtures_data)
FAN_LARGE, BLOCK_FOAM = "9100000102", "9200000231"


def exchange(item_ids: list[str], new_item_ids: list[str]) -> dict[str, Any]:
    return {"order_id": "#W1000002", "item_ids": item_ids, "new_item_ids": new_item_ids,
            "payment_method_id": "paypal_2290457"}


def scenario() -> Scenario:
    return Scenario.model_validate({
        "id": "exchange-both", "category": "exchange", "customer": {"user_id": "lena_moreau_3307"},
        "opening": {"say": "Please exchange the fan and the block."},
        "expected_writes": [{"tool": "exchange_delivered_order_items",
                             "args": exchange([FAN, BLOCK], [FAN_LARGE, BLOCK_FOAM])}],
    })


def run_writes(writes: list[WriteCall]) -> dict[str, Any]:
    """The store after the writes, on a fresh small store."""
    with RetailStore.open(":memory:") as store:
        store.load_json(small_dataset())
        for w in writes:
            assert call_tool(store, w.tool, dict(w.args)).ok
        return store.dump_json()


def test_paired_lists_in_another_order_score_as_the_expected_write():
    made = [WriteCall(tool="exchange_delivered_order_items", args=exchange([BLOCK, FAN], [BLOCK_FOAM, FAN_LARGE]))]
    expected = expected_store(small_dataset(), scenario())
    final = run_writes(made)
    assert final == expected  # the store cannot tell the two orders apart ...
    seen = Observed(agent_texts=["Done."], writes=made, final_store=final, identified=True, escalated=False,
                    stages=[])
    verdict = judge(scenario(), seen, expected=expected, others=others_data(small_dataset(), "lena_moreau_3307"))
    assert verdict.passed and verdict.writes_matched == 1, verdict.detail  # ... and neither does scoring


def test_pairs_stay_pairs():
    expected = WriteCall(tool="exchange_delivered_order_items", args=exchange([FAN, BLOCK], [FAN_LARGE, BLOCK_FOAM]))
    swapped = WriteCall(tool="exchange_delivered_order_items", args=exchange([BLOCK, FAN], [BLOCK_FOAM, FAN_LARGE]))
    mispaired = WriteCall(tool="exchange_delivered_order_items", args=exchange([BLOCK, FAN], [FAN_LARGE, BLOCK_FOAM]))
    assert swapped.key() == expected.key() and mispaired.key() != expected.key()
    assert normalized_args({"order_id": "#W1", "item_ids": ["3", "1", "2"]}) == {"order_id": "#W1",
                                                                                "item_ids": ["1", "2", "3"]}
    assert normalized_args({"order_id": "#W1", "reason": "no longer needed"}) == {"order_id": "#W1",
                                                                                  "reason": "no longer needed"}
