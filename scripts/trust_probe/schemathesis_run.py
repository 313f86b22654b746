"""Property-based requests from the service's own OpenAPI document, once per role."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx

from .shared import (
    VENV_BIN,
    check,
)


def probe_schemathesis(base, token, who, tmp: Path, examples: int, op_token: str):
    """The schema is fetched with the operator token (customers get 403 on /openapi.json by design) and run with
    `who`'s token against the live server."""
    kind = "schemathesis (all checks)"
    rep = tmp / f"st-{who}.json"
    schema = tmp / "openapi.json"
    schema.write_text(httpx.get(f"{base}/openapi.json", headers={"Authorization": f"Bearer {op_token}"}).text)
    args = [str(VENV_BIN / "schemathesis"), "run", str(schema), "--url", base, "--checks", "all",
            "-H", f"Authorization: Bearer {token}", "--max-examples", str(examples), "--workers", "1",
            "--request-timeout", "30", "--seed", "1", "--suppress-health-check", "all",
            "--report", "ndjson", "--report-ndjson-path", str(rep)]
    t0 = time.time()
    p = subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=tmp,
                       env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""})
    out = p.stdout + p.stderr
    (tmp / f"st-{who}.txt").write_text(out)
    cases = 0
    with contextlib.suppress(Exception):
        for line in rep.read_text().splitlines():
            ev = json.loads(line)
            if "ScenarioFinished" in ev:
                cases += len(ev["ScenarioFinished"].get("recorder", {}).get("cases", {}) or {})
    m = re.search(r"Test cases:\s*\n?\s*(\d+)\s+generated", out)
    gen = m.group(1) if m else "?"
    failures = re.findall(r"^\s*(?:\d+\.\s)?(.*(?:Undocumented|Server error|not conform|Unsupported|schema|Rejected|"
                          r"Accepted|Missing|violation).*)$", out, re.M)
    check(kind, f"as {who}: {gen} generated, {cases} recorded cases, {time.time() - t0:.0f}s", p.returncode == 0,
          f"rc={p.returncode} " + " | ".join(dict.fromkeys(f.strip() for f in failures))[:1500])
    return gen, cases
