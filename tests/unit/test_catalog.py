"""The tool catalog: every tool declared once, every write complete, and nothing else spelling a write's name."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from graphs.confirmations import summarize_write
from graphs.flows.steps import FLOWS, SLOT_STEPS
from graphs.stage_tools import STAGE_TOOLS
from graphs.state import Stage
from graphs.tool_layer import GuardedTools, openai_tool_spec
from prompts import load_texts
from tests.unit.retail_ref import example_data
from tools import (
    CATALOG,
    READ_TOOLS,
    TOOL_ARGS,
    TOOL_NAMES,
    WRITE_TOOLS,
    RetailStore,
    call_tool,
    run_tool,
    spec,
)
from tools.catalog import RESOLVERS

REPO = Path(__file__).resolve().parents[2]

#: The 16 tools of the retail-domain specification (§2).
SPEC_TOOLS = {
    "calculate", "cancel_pending_order", "exchange_delivered_order_items", "find_user_id_by_email",
    "find_user_id_by_name_zip", "get_order_details", "get_product_details", "get_user_details",
    "list_all_product_types", "modify_pending_order_address", "modify_pending_order_items",
    "modify_pending_order_payment", "modify_user_address", "return_delivered_order_items", "think",
    "transfer_to_human_agents",
}
PENDING, DELIVERED, USER = "#W1000001", "#W1000002", "lena_moreau_3307"
#: A value for every argument a write takes, on the example store (spec §1.8).
SAMPLE = {"reason": "no longer needed", "item_ids": ["9100000101"], "new_item_ids": ["9100000102"],
          "payment_method_id": "paypal_2290457", "user_id": USER, "address1": "1 Elm St", "address2": "",
          "city": "Austin", "state": "TX", "country": "USA", "zip": "73301"}


@pytest.fixture
def store():
    s = RetailStore.open(":memory:")
    s.load_json(example_data())
    yield s
    s.close()


def test_every_spec_tool_is_declared_exactly_once():
    names = [t.name for t in CATALOG]
    assert sorted(names) == sorted(SPEC_TOOLS) and len(names) == len(set(names)) == 16
    assert set(TOOL_NAMES) == SPEC_TOOLS and set(TOOL_ARGS) == SPEC_TOOLS
    assert {t.name for t in CATALOG if t.kind == "write"} == WRITE_TOOLS and READ_TOOLS == SPEC_TOOLS - WRITE_TOOLS


@pytest.mark.parametrize("name", sorted(SPEC_TOOLS - {"think", "calculate", "transfer_to_human_agents"}))
def test_scope_matches_whose_data_a_tool_touches(name):
    fields = set(spec(name).args.model_fields)
    touches_customer = bool(fields & {"user_id", "order_id"})
    assert spec(name).scope == ("customer" if touches_customer else "public")


@pytest.mark.parametrize("name", sorted(WRITE_TOOLS))
def test_every_write_is_complete(name, store):
    write = spec(name)
    fields = set(write.args.model_fields)
    # statuses: every write on an order names the statuses it applies to (spec §1, status transitions)
    if "order_id" in fields:
        assert set(write.statuses) <= {"pending", "delivered"} and len(write.statuses) == 1
    else:
        assert name == "modify_user_address" and write.statuses == ()
    # a resolver for each argument, each one the flows implement
    assert set(write.resolvers) == fields
    assert set(write.resolvers.values()) <= set(RESOLVERS) == set(SLOT_STEPS)
    # a confirmation template that renders with the write's facts
    assert write.confirmation in load_texts("confirmations")
    order_id = PENDING if "pending" in write.statuses else DELIVERED
    args = {f: (order_id if f == "order_id" else SAMPLE[f]) for f in fields}
    text = summarize_write(store, name, args)
    assert not text.startswith("Run ") and "{" not in text and text.endswith("Please answer yes or no.")
    assert order_id in text if "order_id" in fields else "1 Elm St" in text
    # the flow that carries the write out takes its tool and statuses from here
    flows = [f for f in FLOWS.values() if f.tool == name]
    assert len(flows) == 1 and flows[0].task == write.task and flows[0].statuses == (write.statuses or None)


@pytest.mark.parametrize("name", sorted(SPEC_TOOLS))
def test_model_schema_is_the_args_model_schema(name):
    function = openai_tool_spec(name)["function"]
    schema = spec(name).args.model_json_schema()
    assert function["name"] == name and function["description"] == spec(name).description
    parameters = function["parameters"]
    assert list(parameters["properties"]) == list(schema["properties"])
    assert parameters.get("required", []) == schema.get("required", [])
    for field, prop in schema["properties"].items():
        assert parameters["properties"][field] == {k: v for k, v in prop.items() if k != "title"}


def test_stage_tools_come_from_the_catalog():
    writes_offered = [n for n in STAGE_TOOLS[Stage.ORDER_DESK] if n in WRITE_TOOLS]
    assert writes_offered == [t.name for t in CATALOG if t.kind == "write"]
    assert not WRITE_TOOLS & (set(STAGE_TOOLS[Stage.INTAKE]) | set(STAGE_TOOLS[Stage.ESCALATION]))


def test_ownership_follows_scope(store):
    guarded = GuardedTools(store)
    for t in CATALOG:
        args = {"order_id": PENDING} if "order_id" in t.args.model_fields else {}
        refusal = guarded.ownership_error(t.name, args, None)
        assert (refusal is None) == (t.scope == "public"), t.name


def test_call_tool_is_run_tool_as_data(store):
    outcome = call_tool(store, "get_order_details", {"order_id": PENDING})
    assert outcome.ok and outcome.value["order_id"] == PENDING
    assert outcome.text() == run_tool(store, "get_order_details", {"order_id": PENDING})
    refused = call_tool(store, "cancel_pending_order", {"order_id": DELIVERED, "reason": "no longer needed"})
    assert not refused.ok and refused.error == "non-pending order cannot be cancelled"
    assert refused.text() == "Error: non-pending order cannot be cancelled"
    assert call_tool(store, "find_user_id_by_email", {"email": "nobody@example.com"}).ok is False
    unknown = call_tool(store, "nope", {})
    assert not unknown.ok and unknown.text() == "Unknown action nope"


# --- no write tool's name spelled outside the catalog ---------------------------------------------------------
def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def spelled_write_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of every string literal (docstrings aside) that contains a write tool's name."""
    pattern = re.compile(r"\b(" + "|".join(sorted(WRITE_TOOLS)) + r")\b")
    tree = ast.parse(source)
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            hits += [(node.lineno, m.group(1)) for m in pattern.finditer(node.value)]
    return hits


def test_the_name_check_catches_a_spelled_name():
    source = '"""Docs may name cancel_pending_order."""\nTOOL = "cancel_pending_order"\nx = f"run {y} modify_user_address"\n'
    assert spelled_write_names(source) == [(2, "cancel_pending_order"), (3, "modify_user_address")]
    assert spelled_write_names('"""cancel_pending_order."""\nx = "get_order_details"\n') == []


def test_no_module_outside_the_catalog_spells_a_write_tools_name():
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    # Tests and the black-box trust probe play outside model servers that call tools by their public names.
    checked = [f for f in files if not f.startswith(("tests/", "scripts/trust_probe/")) and f != "tools/catalog.py"]
    assert "graphs/tool_layer.py" in checked and "graphs/flows/steps.py" in checked
    offenders = [f"{path}:{line}: {name}" for path in checked
                 for line, name in spelled_write_names((REPO / path).read_text(encoding="utf-8"))]
    assert offenders == [], "write tool names belong in tools/catalog.py:\n" + "\n".join(offenders)
