"""JSON-lines logs with personal data masked, and the error ids that link a client's error to its log line."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from typing import Any

#: Fields a log record may carry (``extra=``) that belong in the JSON line.
CONTEXT_FIELDS = ("thread_id", "stage", "latency_ms", "outcome", "error_id", "principal", "method", "path", "status")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A street address: a house number, one to four words, a street type ("42 Quarry Lane", "9 Elm Street").
_STREET = re.compile(
    r"\b\d{1,6}(?:\s+[A-Z][A-Za-z.'-]*){1,4}\s+(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|"
    r"Way|Court|Ct|Place|Pl|Terrace|Circle|Parkway|Square|Trail)\b\.?(?:,?\s+(?:Apt|Suite|Unit)\s*\w+)?"
)
# Address fields in JSON-ish text: "address1": "...", "zip": "74103".
_ADDRESS_FIELD = re.compile(r'("(?:address1|address2|zip|postal_code)"\s*:\s*)"[^"]*"')
_CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_LAST_FOUR_FIELD = re.compile(r'("last_four"\s*:\s*)"\d{4}"')
_LAST_FOUR_TEXT = re.compile(r"\b(last four(?: digits)?:?|ending in)\s*\d{4}\b", re.I)
_PAYMENT_ID = re.compile(r"\b(credit_card|gift_card|paypal)_\d+\b")


def mask_pii(text: str) -> str:
    """The text with emails, street addresses and payment details replaced by placeholders."""
    text = _EMAIL.sub("<email>", text)
    text = _ADDRESS_FIELD.sub(r'\1"<address>"', text)
    text = _STREET.sub("<address>", text)
    text = _CARD_NUMBER.sub("<card>", text)
    text = _LAST_FOUR_FIELD.sub(r'\1"****"', text)
    text = _LAST_FOUR_TEXT.sub(r"\1 ****", text)
    return _PAYMENT_ID.sub(r"\1_<id>", text)


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
