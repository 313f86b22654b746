"""Drawing runtime events in Chainlit: messages, tool steps, stage notes, confirmation and retry buttons.

Presentation only: which runtime call a button triggers is decided in ``ui/app.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import chainlit as cl
from chainlit.utils import utc_now

from agent.runtime import (
    ConfirmationRequested,
    DeskEvent,
    ErrorEvent,
    Event,
    HandedOver,
    Reply,
    StageChanged,
    Token,
    ToolCalled,
    ToolResult,
)

#: How each stage is called on screen; it is the author name of the replies written in that stage.
STAGE_NAMES = {"intake": "Intake", "order_desk": "Order desk", "escalation": "Escalation"}

#: "Moved to ..." notes.
_STAGE_PHRASES = {"intake": "intake", "order_desk": "the order desk", "escalation": "escalation"}

#: Authors of the messages that are not replies: confirmation requests and notices (failed turns, refusals).
CONFIRMATION_AUTHOR = "Confirmation"
NOTICE_AUTHOR = "Notice"

#: Action names (Chainlit routes a click to the callback registered under the name).
CONFIRM_ACTION = "confirm"
RETRY_ACTION = "retry"

#: The user-session key of the message whose buttons are still showing.
ACTIONS_KEY = "message_with_actions"
#: The user-session key of the tool steps still waiting for their result.
STEPS_KEY = "open_tool_steps"


def stage_name(stage: str) -> str:
    """The on-screen name of a stage."""
    return STAGE_NAMES.get(stage, stage.replace("_", " ").capitalize())


def stage_note(target: str, reason: str) -> str:
    """The note shown when the conversation moves to another stage."""
    return f"Moved to {_STAGE_PHRASES.get(target, target)}: {reason}"


def confirmation_actions() -> list[cl.Action]:
    """The Yes / No buttons of a confirmation request."""
    return [cl.Action(name=CONFIRM_ACTION, payload={"value": "yes"}, label="Yes", icon="check"),
            cl.Action(name=CONFIRM_ACTION, payload={"value": "no"}, label="No", icon="x")]


def retry_actions() -> list[cl.Action]:
    """The Retry button of a failed turn."""
    return [cl.Action(name=RETRY_ACTION, payload={"value": "retry"}, label="Retry", icon="rotate-ccw")]


def _pretty(result: str) -> tuple[str, str | None]:
    """A tool result for reading: indented JSON when it is JSON, else the text as it is."""
    try:
        return json.dumps(json.loads(result), ensure_ascii=False, indent=1), "json"
    except ValueError:
        return result, None


def _run_id() -> str | None:
    """The handler's run step: tool steps nest under it, so they show in order with the replies."""
    step = cl.context.current_step
    return step.id if step is not None else None


async def clear_actions() -> bool:
    """Remove the buttons still showing (answered, retried, or overtaken by a typed message).

    False when none were showing: a second click on a button already answered is ignored.
    """
    message: cl.Message | None = cl.user_session.get(ACTIONS_KEY)
    if message is None:
        return False
    cl.user_session.set(ACTIONS_KEY, None)
    await message.remove_actions()
    message.actions = []
    return True


async def restore_actions(steps: list[dict], *, confirmation: bool, retry: bool) -> None:
    """On resume: put the Yes / No (or Retry) buttons back on the last such message of the loaded thread."""
    author, actions = ((CONFIRMATION_AUTHOR, confirmation_actions()) if confirmation
                       else (NOTICE_AUTHOR, retry_actions()))
    if not (confirmation or retry):
        return
    last = next((s for s in reversed(steps) if s.get("type") == "assistant_message" and s.get("name") == author),
                None)
    if last is None:
        return
    message = cl.Message(content=last.get("output") or "", author=author, id=last["id"], actions=actions)
    for action in actions:
        await action.send(for_id=message.id)
    cl.user_session.set(ACTIONS_KEY, message)


def _tool_outcome(event: ToolResult, details: bool) -> tuple[str, str | None]:
    """What a tool step shows: the result for operators, only ok or failed for customers."""
    if details:
        return _pretty(event.result)
    return ("ok" if event.ok else "failed"), None


def operator_said(author: str, text: str) -> str:
    """A person's message as the chat shows it: their name first (Chainlit shows authors only as avatars)."""
    return f"**{author}:** {text}"


def _same_id(message_id: str | None) -> dict[str, str]:
    return {"id": message_id} if message_id else {}


async def ask_confirmation(summary: str) -> None:
    """A write to say yes or no to, with its buttons (the only ones showing)."""
    await clear_actions()
    message = cl.Message(content=f"**Please confirm:** {summary}", author=CONFIRMATION_AUTHOR,
                         actions=confirmation_actions())
    await message.send()
    cl.user_session.set(ACTIONS_KEY, message)


async def render_desk_event(event: DeskEvent) -> None:
    """A person's part of a handed-over conversation, drawn in the customer's chat as it happens: their
    messages under their name, a proposal as a confirmation request, the hand-back and the close as the
    assistant's notes."""
    if event.action in ("claimed", "operator_message", "proposal"):
        await cl.Message(content=operator_said(event.author, event.text), author=event.author,
                         **_same_id(event.message_id)).send()
    if event.action == "proposal":
        await ask_confirmation(event.text)
    elif event.action in ("handed_back", "closed"):
        await clear_actions()
        await cl.Message(content=event.text, author=stage_name("order_desk"), **_same_id(event.message_id)).send()


async def render(events: AsyncIterator[Event], *, details: bool = True) -> str | None:
    """Draw one turn's events as they arrive; the checkpointed id of the turn's last reply (None: no reply).

    ``details=False`` (customers): tool steps carry the tool's name and ok/failed, never its arguments or raw
    result (another customer's data must never reach a browser, even when a tool returned it by mistake).
    """
    streaming: dict[str, cl.Message] = {}  # message id -> the message its tokens go to
    last_reply: str | None = None
    # Tool call id -> its step. Kept in the session: a write's result arrives in the turn after its confirmation.
    steps: dict[str, cl.Step] = cl.user_session.get(STEPS_KEY) or {}
    cl.user_session.set(STEPS_KEY, steps)
    try:
        async for event in events:
            if isinstance(event, Token):
                key = str(event.message_id)
                if key not in streaming:
                    # The checkpointed message's id: a rating of the message in the browser lands on it.
                    streaming[key] = cl.Message(content="", author=stage_name(event.stage),
                                                **_same_id(event.message_id))
                await streaming[key].stream_token(event.text)
            elif isinstance(event, Reply):
                last_reply = event.message_id or last_reply
                message = streaming.pop(str(event.message_id), None)
                if event.streamed and message is not None:
                    message.content = event.text
                    await message.send()  # ends the stream and persists the message
                else:
                    await cl.Message(content=event.text, author=stage_name(event.stage),
                                     **_same_id(event.message_id)).send()
            elif isinstance(event, ToolCalled):
                step = cl.Step(name=event.name, type="tool", parent_id=_run_id(), default_open=False,
                               show_input="json" if details else False, language="json")
                step.input = json.dumps(event.arguments, ensure_ascii=False, indent=1) if details else ""
                step.start = utc_now()
                await step.send()
                steps[event.call_id] = step
            elif isinstance(event, ToolResult):
                step = steps.pop(event.call_id, None)
                step_is_new = step is None  # a result without its call event (e.g. after a confirmation)
                if step is None:
                    step = cl.Step(name=event.name, type="tool", parent_id=_run_id(), default_open=False,
                                   language="json")
                    step.start = utc_now()
                step.output, step.language = _tool_outcome(event, details)
                step.is_error = not event.ok
                step.end = utc_now()
                await step.send() if step_is_new else await step.update()
            elif isinstance(event, StageChanged):
                await cl.Message(content=stage_note(event.target, event.reason), author=stage_name(event.target)).send()
            elif isinstance(event, ConfirmationRequested):
                await ask_confirmation(event.summary)
            elif isinstance(event, HandedOver):
                pass  # the reply that follows names the ticket and says a person takes over
            elif isinstance(event, ErrorEvent):
                await clear_actions()
                message = cl.Message(content=event.message, author=NOTICE_AUTHOR,
                                     actions=retry_actions() if event.retryable else [])
                await message.send()
                if event.retryable:
                    cl.user_session.set(ACTIONS_KEY, message)
    finally:
        # Tokens no reply followed: prose the model wrote before a tool call (kept in the thread, and printed
        # by the CLI too) or a turn that failed mid-stream. End their stream so they are persisted as shown.
        for message in streaming.values():
            await message.send()
    return last_reply
