"""The retail store (SQLite) and its 16 tools, per the retail-domain specification (§1–§2).

    from tools import RetailStore, run_tool
    store = RetailStore.open("var/store.db")
    run_tool(store, "get_order_details", {"order_id": ...})
"""

from tools.calculate import calculate
from tools.runner import langchain_tools, run_tool
from tools.schemas import READ_TOOLS, TOOL_ARGS, TOOL_DESCRIPTIONS, TOOL_NAMES, WRITE_TOOLS
from tools.store import RetailStore, ToolError, round2
from tools.validate import DatasetError, validate_dataset

__all__ = [
    "READ_TOOLS",
    "TOOL_ARGS",
    "TOOL_DESCRIPTIONS",
    "TOOL_NAMES",
    "WRITE_TOOLS",
    "DatasetError",
    "RetailStore",
    "ToolError",
    "calculate",
    "langchain_tools",
    "round2",
    "run_tool",
    "validate_dataset",
]
