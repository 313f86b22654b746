"""JSON-lines logs, personal data masked (``masking``), and the error ids linking a client's error to its line."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import uuid
from typing import Any

from agent.observability.masking import mask_pii

#: Fields a log record may carry (``extra=``) that belong in the JSON line.
CONTEXT_FIELDS = ("thread_id", "stage", "latency_ms", "outcome", "error_id", "principal", "method", "path", "status")


def new_error_id() -> str:
    """A short id a client can quote; the server log carries the details under it."""
    return uuid.uuid4().hex[:12]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, context fields, exception; all masked."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102 - logging API
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_pii(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = mask_pii(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Send every log record (uvicorn's too) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
