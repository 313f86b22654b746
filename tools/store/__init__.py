"""The retail store (spec retail-domain.md §1, §2) on SQLite through sqlite-utils.

The package keeps apart the schema (``schema``), rows to records (``records``), the connection and its
transactions (``connection``), the JSON import/export (``json_io``), the reads other layers use (``queries``)
and the 16 tools (``retail_tools``); ``RetailStore`` is all of them over one connection.

Storage layout (spec §1.9):
- every collection has an explicit ordinal `ord` (seed position) and every list element a
  `pos` (array index); "first match" lookups and the export follow them;
- the money columns (`price`, `amount`, `balance`, `exchange_price_difference`) are `ANY` in
  STRICT tables, so a bound Python int stays an INTEGER and a float stays a REAL (bit-exact,
  -0.0 included); all arithmetic happens in Python, in the spec's order;
- optional order fields are nullable columns, NULL meaning "key absent"; list-valued ones
  hold JSON text (`'[]'` is distinct from NULL);
- string→string objects (`options`) and the string arrays of fulfillments are JSON text:
  they hold only strings, so JSON keeps their order and values exactly;
- addresses are columns plus `addr_replaced`, which selects the key order on export
  (seed order, or the §2.10 order of a replaced address);
- ids are TEXT primary keys compared with `=` (BINARY collation, case-sensitive).

Each tool call runs as one transaction (`BEGIN IMMEDIATE`): every check runs before the
first write, and any exception rolls everything back.
"""

from __future__ import annotations

from tools.store.connection import StoreConnection, UnsupportedDatabaseError
from tools.store.json_io import JsonIO
from tools.store.queries import StoreQueries
from tools.store.records import ToolError, round2
from tools.store.retail_tools import RetailTools
from tools.store.schema import CANCEL_REASONS, OWN_TABLES, SCHEMA_VERSION

__all__ = ["CANCEL_REASONS", "OWN_TABLES", "SCHEMA_VERSION", "RetailStore", "ToolError", "UnsupportedDatabaseError",
           "round2"]


class RetailStore(RetailTools, StoreQueries, JsonIO, StoreConnection):
    """The retail data in one SQLite file; thread-safe (one connection behind an RLock)."""
