"""Write a Hugging Face model folder from a GGUF file: what vLLM loads (it does not serve these GGUFs on the CPU).

Runs in ``.venv-vllm`` (transformers, torch, gguf and accelerate are there, never in the product's venv), as
a plain script: ``.venv-vllm/bin/python agent/llm/hf_convert.py GGUF OUT``. transformers de-quantizes the
Q4_K_M tensors while loading (its own progress bar); the weights are saved as bfloat16 safetensors, the
tokenizer with the chat template stored in the GGUF. The folder is written beside ``OUT`` and renamed into
place only when complete, so an interrupted conversion never leaves a half folder that looks done.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path


def convert(gguf: Path, out: Path) -> None:
    """Load ``gguf`` with transformers and save model + tokenizer to ``out`` (atomic rename at the end)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    print(f"[1/3] tokenizer and chat template from {gguf.name}", file=sys.stderr, flush=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    print("[2/3] de-quantizing the weights (transformers' bar below)", file=sys.stderr, flush=True)
    # dequantize=True: transformers 5 otherwise keeps the Q4_K blocks packed, which it cannot save.
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16,
                                                 quantization_config=GgufConfig(dequantize=True))
    # A dense model now: nothing of the GGUF quantizer may reach config.json, or vLLM would look for it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    print(f"[3/3] saving bfloat16 safetensors to {out}", file=sys.stderr, flush=True)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    (partial / "deskgraph-source.json").write_text(json.dumps(
        {"gguf": gguf.name, "seconds": round(time.monotonic() - started, 1)}, indent=1))
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    print(f"converted in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    convert(args.gguf, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
