#!/usr/bin/env bash
# Set everything up and run every test tier: fast (unit + scripted graph), model (embedded real model),
# vllm (a real vLLM server on the CPU), browser (Chromium via Playwright). The fast tier includes the PostgreSQL
# tests, on a throwaway server started from Debian's postgresql package (installed here when missing).
# One tier alone: scripts/test.sh -m fast   (or -m model, -m vllm, -m browser)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOOTSTRAP_EXTRAS=test source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# The browser tier drives Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium (Debian package)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# The PostgreSQL tests start a throwaway cluster from Debian's server binaries (tests/postgres_server.py).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "==> installing postgresql (Debian package)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
# The model tier needs the embedded GGUF: pulled once into the user cache, verified by size and sha256.
.venv/bin/deskgraph model pull
# The vllm tier: vLLM's CPU build in .venv-vllm (its own venv, once, ~4 min) and the 0.5B model in Hugging Face
# format (pulled and converted once, cached beside the GGUF).
scripts/setup_vllm.sh
exec .venv/bin/python -m pytest "$@"
