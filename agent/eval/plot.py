"""``pass_rate.png``: pass rate per category (one bar per dialogue mode) and the turn-latency distribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.eval.records import RunRecord


def plot_pass_rate(path: Path, results: Mapping[str, Any], runs: Mapping[str, Sequence[RunRecord]]) -> None:
    """Draw both panels into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    modes = list(results["modes"])
    categories = sorted({c for m in modes for c in results["modes"][m]["summary"]["categories"]})
    fig, (bars, latency) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [2, 1]})
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        cats = results["modes"][mode]["summary"]["categories"]
        rates = [100 * (cats[c]["pass_rate"] or 0) if c in cats else 0 for c in categories]
        bars.bar([x + i * width for x in range(len(categories))], rates, width, label=mode)
    bars.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(categories))], categories,
                    rotation=40, ha="right")
    bars.set_ylim(0, 100)
    bars.set_ylabel("pass rate (%)")
    bars.set_title(f"Pass rate per category — {results['model']}")
    bars.legend(title="dialogue")
    samples = [(m, [x for r in runs[m] for x in r.turn_latencies]) for m in modes]
    samples = [(m, s) for m, s in samples if s]
    if samples:
        latency.hist([s for _, s in samples], bins=20, label=[m for m, _ in samples], alpha=0.8)
        latency.legend(title="dialogue")
    latency.set_xlabel("turn latency (s)")
    latency.set_ylabel("turns")
    latency.set_title("Turn latency")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
