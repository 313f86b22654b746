"""The retail store (SQLite) and its 16 tools, per the retail-domain specification (§1–§2).

    from tools import RetailStore, run_tool
    store = RetailStore.open("var/store.db")
    run_tool(store, "get_order_details", {"order_id": ...})      # the reference's exact text
    call_tool(store, "get_order_details", {"order_id": ...}).value  # the same call as Python data

Each tool is declared once in ``tools.catalog``; the tables below are views of it.
"""

from tools.calculate import calculate
from tools.catalog import (
    CATALOG,
    IDENTIFY_TOOLS,
    READ_TOOLS,
    TOOL_ARGS,
    TOOL_DESCRIPTIONS,
    TOOL_NAMES,
    WRITE_TOOLS,
    ToolSpec,
    for_task,
    offered_in,
    spec,
)
from tools.runner import ToolOutcome, call_tool, langchain_tools, run_tool
from tools.store import RetailStore, ToolError, UnsupportedDatabaseError, round2
from tools.validate import DatasetError, validate_dataset

__all__ = [
    "CATALOG",
    "IDENTIFY_TOOLS",
    "READ_TOOLS",
    "TOOL_ARGS",
    "TOOL_DESCRIPTIONS",
    "TOOL_NAMES",
    "WRITE_TOOLS",
    "DatasetError",
    "RetailStore",
    "ToolError",
    "ToolOutcome",
    "ToolSpec",
    "UnsupportedDatabaseError",
    "calculate",
    "call_tool",
    "for_task",
    "langchain_tools",
    "offered_in",
    "round2",
    "run_tool",
    "spec",
    "validate_dataset",
]
