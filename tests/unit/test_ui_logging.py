"""Issue 14, masking: the web process logs through the same masked JSON logging as the API."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from tests.shared_data import REPO


def test_the_web_process_logs_masked_json_lines(tmp_path):
    code = ("import logging, ui.app; logging.getLogger('agent.runtime').error("
            "'turn failed for text: send it to 852 chestnut street apt 4, card 4111.1111.1111.1111')")
    # Run elsewhere: Chainlit writes its config folder into the working directory.
    env = {**os.environ, "DESKGRAPH_LOG_LEVEL": "info", "PYTHONPATH": str(REPO),
           "CHAINLIT_APP_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=env)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    record = next(r for r in lines if "turn failed" in r.get("message", ""))
    assert "chestnut" not in record["message"] and "4111" not in record["message"]
    assert logging.getLevelName(record["level"].upper()) == logging.ERROR
