"""deskgraph's Chainlit app: a thin adapter over the conversation runtime (``agent.runtime``).

Every handler calls one runtime method and draws the events it yields (``ui.render``); the conversation logic
lives in the graph. The Chainlit thread id is the LangGraph thread id, so a resumed chat continues the same
checkpointed thread. Started by ``deskgraph ui`` (or ``chainlit run ui/app.py`` with the DESKGRAPH_* env).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from contextlib import AsyncExitStack
from typing import Any

import chainlit as cl
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.input_widget import Select
from chainlit.types import ThreadDict

from agent.runtime import SupportRuntime
from agent.settings import get_settings
from prompts import list_personas, replies
from ui.render import CONFIRM_ACTION, RETRY_ACTION, clear_actions, render, restore_actions, stage_name
from ui.storage import auth_secret, database_url, ensure_schema

log = logging.getLogger("deskgraph.ui")
settings = get_settings()


# --- the runtime: opened once per process, lazily, on Chainlit's event loop ---------------------------
class _RuntimeHolder:
    def __init__(self) -> None:
        self.runtime: SupportRuntime | None = None
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> SupportRuntime:
        async with self._lock:
            if self.runtime is None:
                stack = AsyncExitStack()
                self.runtime = await stack.enter_async_context(SupportRuntime.open(settings))
                self._stack = stack
            return self.runtime

    async def close(self) -> None:
        async with self._lock:
            if self._stack is not None:
                await self._stack.aclose()
            self._stack, self.runtime = None, None


holder = _RuntimeHolder()


@cl.on_app_shutdown
async def _shutdown() -> None:
    await holder.close()


# --- thread history (Chainlit's SQLAlchemy data layer on SQLite) -------------------------------------
_ui_db = ensure_schema(settings.ui_db)


@cl.data_layer
def _data_layer() -> SQLAlchemyDataLayer:
    return SQLAlchemyDataLayer(conninfo=database_url(_ui_db))


# --- login (off by default for the local demo; thread history and resume need it on) -----------------
if settings.ui_auth:
    os.environ["CHAINLIT_AUTH_SECRET"] = auth_secret(_ui_db.parent)

    @cl.password_auth_callback
    def _login(username: str, password: str) -> cl.User | None:
        expected = settings.ui_password.get_secret_value()
        if not expected:
            log.warning("DESKGRAPH_UI_AUTH is on but DESKGRAPH_UI_PASSWORD is empty: every login is refused")
            return None
        if hmac.compare_digest(username, settings.ui_username) and hmac.compare_digest(password, expected):
            return cl.User(identifier=username, metadata={"role": "agent-user", "provider": "credentials"})
        return None


# --- helpers -------------------------------------------------------------------------------------------
def _thread_id() -> str:
    return cl.context.session.thread_id


async def _send_settings(persona: str) -> None:
    personas = list_personas()
    persona = persona if persona in personas else personas[0]
    cl.user_session.set("persona", persona)
    await cl.ChatSettings([Select(id="persona", label="Persona (tone of the replies)", values=personas,
                                  initial_value=persona)]).send()


# --- handlers ------------------------------------------------------------------------------------------
@cl.on_chat_start
async def _start() -> None:
    await _send_settings(settings.persona)
    await cl.Message(content=replies()["welcome"], author=stage_name("intake")).send()


@cl.on_chat_resume
async def _resume(thread: ThreadDict) -> None:
    view = await (await holder.get()).view(thread["id"])
    await _send_settings(view.persona or settings.persona)
    await restore_actions(thread.get("steps") or [], confirmation=view.interrupted, retry=view.failed_turn)


@cl.on_settings_update
async def _settings_update(values: dict[str, Any]) -> None:
    if values.get("persona"):
        cl.user_session.set("persona", values["persona"])


@cl.on_message
async def _message(message: cl.Message) -> None:
    await clear_actions()  # a typed message answers a pending confirmation (the runtime treats it so)
    runtime = await holder.get()
    await render(runtime.send(_thread_id(), message.content, persona=cl.user_session.get("persona")))


@cl.action_callback(CONFIRM_ACTION)
async def _confirm(action: cl.Action) -> None:
    if not await clear_actions():  # already answered (double click, or typed yes/no)
        return
    runtime = await holder.get()
    await render(runtime.answer_confirmation(_thread_id(), action.payload.get("value") == "yes"))


@cl.action_callback(RETRY_ACTION)
async def _retry(action: cl.Action) -> None:
    if not await clear_actions():  # already retried
        return
    runtime = await holder.get()
    await render(runtime.retry(_thread_id()))
