#!/usr/bin/env bash
# Create (or reuse) the virtual environment at .venv and install deskgraph into it.
# Usage: BOOTSTRAP_EXTRAS=test source scripts/bootstrap.sh   (extras: optional, e.g. "test")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "deskgraph needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
EXTRAS="${BOOTSTRAP_EXTRAS:-}"
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[${EXTRAS}]"
# Reinstall only when the project metadata changed since the last install.
STAMP=".venv/.deskgraph-installed-${EXTRAS:-base}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "==> installing deskgraph${EXTRAS:+ [$EXTRAS]} into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
  .venv/bin/python -m pip install --quiet -e "$SPEC"
  touch "$STAMP"
fi
