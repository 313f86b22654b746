#!/usr/bin/env bash
# Quick start: set everything up and run deskgraph's web chat on the embedded local model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
if [ ! -f var/store.db ]; then
  .venv/bin/deskgraph data seed
fi
.venv/bin/deskgraph tools call list_all_product_types | cut -c1-300
# Only pulls when no external model server is configured (DESKGRAPH_LLM_BASE_URL unset).
if [ -z "${DESKGRAPH_LLM_BASE_URL:-}" ]; then
  .venv/bin/deskgraph model pull
fi
echo "==> starting the web chat (it prints its address; Ctrl-C stops it)"
exec .venv/bin/deskgraph ui "$@"
