"""The end of every benchmark: each target as PASS or FAIL with its figure, and the exit code (0: all met)."""

from __future__ import annotations

from collections.abc import Sequence


def report(checks: Sequence[tuple[str, bool]]) -> int:
    """Print the targets under "ratios:"; 0 when every one is met, else 1."""
    print("\nratios:")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    return 0 if all(ok for _, ok in checks) else 1
