"""Black-box trust probe of deskgraph: `python -m scripts.trust_probe --help` (run from the checkout root)."""
