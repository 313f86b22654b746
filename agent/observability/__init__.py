"""Metrics (Prometheus, ``deskgraph_*``) and JSON-lines logs with personal data masked."""

from agent.observability.logs import JsonFormatter, configure_logging, new_error_id
from agent.observability.masking import mask_pii
from agent.observability.metrics import REGISTRY, metrics_text

__all__ = ["REGISTRY", "JsonFormatter", "configure_logging", "mask_pii", "metrics_text", "new_error_id"]
