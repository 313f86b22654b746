"""The conversation runtime: one implementation under every front end (CLI, Chainlit, HTTP)."""

from agent.runtime.conversation import SupportRuntime, graph_options
from agent.runtime.errors import (
    InvalidInputError,
    NothingPendingError,
    ThreadBusyError,
    ThreadNotFoundError,
    TurnRefusedError,
)
from agent.runtime.events import (
    ConfirmationRequested,
    DeskEvent,
    ErrorEvent,
    Event,
    HandedOver,
    Reply,
    StageChanged,
    StepPaused,
    Token,
    ToolCalled,
    ToolResult,
    TurnOutcome,
    event_dict,
)
from agent.runtime.history import (
    CheckpointInfo,
    ThreadView,
    checkpoints,
    fork,
    thread_ids,
    thread_view,
    transcript_lines,
)
from agent.runtime.storage import open_checkpointer, open_store
from agent.runtime.turns import Turn

__all__ = [
    "CheckpointInfo",
    "ConfirmationRequested",
    "DeskEvent",
    "ErrorEvent",
    "Event",
    "HandedOver",
    "InvalidInputError",
    "NothingPendingError",
    "Reply",
    "StageChanged",
    "StepPaused",
    "SupportRuntime",
    "ThreadBusyError",
    "ThreadNotFoundError",
    "ThreadView",
    "Token",
    "ToolCalled",
    "ToolResult",
    "Turn",
    "TurnOutcome",
    "TurnRefusedError",
    "checkpoints",
    "event_dict",
    "fork",
    "graph_options",
    "open_checkpointer",
    "open_store",
    "thread_ids",
    "thread_view",
    "transcript_lines",
]
