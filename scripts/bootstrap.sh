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
# Dependencies come from the lock (the versions CI tested; refresh with scripts/lock.sh), deskgraph itself
# without resolving anything. The test extra has its own lock; other extras (vllm on a GPU machine) are not
# locked and resolve on top.
LOCK=requirements-base.lock
OTHER_EXTRAS=""
IFS=',' read -ra _extras <<< "$EXTRAS"
for extra in "${_extras[@]}"; do
  case "$extra" in
    test) LOCK=requirements.lock ;;
    "") ;;
    *) OTHER_EXTRAS=1 ;;
  esac
done
# Reinstall only when the project metadata or the lock changed since the last install.
STAMP=".venv/.deskgraph-installed-${EXTRAS:-base}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ "$LOCK" -nt "$STAMP" ]; then
  echo "==> installing deskgraph${EXTRAS:+ [$EXTRAS]} into .venv from $LOCK"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$LOCK"
  .venv/bin/python -m pip install --quiet --no-deps -e "$SPEC"
  if [ -n "$OTHER_EXTRAS" ]; then
    .venv/bin/python -m pip install --quiet -e "$SPEC"
  fi
  touch "$STAMP"
fi
