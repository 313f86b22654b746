"""deskgraph's Chainlit app: a thin adapter over the conversation runtime (``agent.runtime``).

Every handler calls one runtime method and draws the events it yields (``ui.render``); the conversation logic
lives in the graph. The Chainlit thread id is the LangGraph thread id, so a resumed chat continues the same
checkpointed thread, and the thread list and resumed threads come from the checkpoints (``ui.data_layer``).
Operators also get the operator desk (``ui.desk``); every chat shows what a person writes into it live.
Started by ``deskgraph ui`` (or ``chainlit run ui/app.py`` with the DESKGRAPH_* env).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.config import config as chainlit_config
from chainlit.input_widget import Select
from chainlit.server import app as chainlit_app
from chainlit.server import sio
from chainlit.types import ThreadDict

from agent.observability import configure_logging
from agent.runtime import Event, SupportRuntime, ThreadBusyError, ThreadNotFoundError, TurnRefusedError
from agent.runtime.heap import settle_heap
from agent.settings import get_settings
from agent.web import guard
from agent.web.proxies import ProxyError
from prompts import list_personas, replies
from ui import desk, live
from ui.access import (
    CUSTOMER_PREFIX,
    customer_from_headers,
    customer_id_of,
    customer_identifier,
    customer_login_on,
    password_login_on,
    role_of,
    startup_problem,
)
from ui.data_layer import CheckpointDataLayer
from ui.login_limit import LoginLimiter, LoginRateLimit
from ui.origins import OriginError, parse_origins, restrict_origins
from ui.render import (
    CONFIRM_ACTION,
    RETRY_ACTION,
    clear_actions,
    render,
    render_desk_event,
    restore_actions,
    stage_name,
)
from ui.storage import auth_secret

log = logging.getLogger("deskgraph.ui")
settings = get_settings()
# The web process logs like the API: JSON lines with personal data masked (a failed turn's traceback can quote
# the customer's message).
configure_logging(os.environ.get("DESKGRAPH_LOG_LEVEL", "info"))

# --- exposure: no login beyond loopback, allowed Host names and named origins only, login attempts limited --
# `deskgraph ui` checks the same before it starts anything; this covers `chainlit run ui/app.py`.
try:
    _origins = parse_origins(settings.ui_allow_origins)
except OriginError as exc:
    raise SystemExit(f"deskgraph ui: DESKGRAPH_UI_ALLOW_ORIGINS: {exc}") from exc
if (_problem := startup_problem(settings, chainlit_config.run.host)) is not None:
    raise SystemExit(f"deskgraph ui: {_problem}")
restrict_origins(chainlit_app, sio, _origins)
chainlit_config.project.allow_origins = list(_origins)  # what Chainlit reports; the middleware is set above
chainlit_app.add_middleware(LoginRateLimit, limiter=LoginLimiter(settings.ui_login_failures_per_minute, 60.0))
try:  # last: the Host check and the proxy headers run before CORS and the login limit (agent/web/guard.py)
    guard(chainlit_app, settings, chainlit_config.run.host)
except ProxyError as exc:
    raise SystemExit(f"deskgraph ui: {exc}") from exc
# Chainlit's CLI starts uvicorn with proxy headers on, believed from FORWARDED_ALLOW_IPS (default 127.0.0.1
# and ::1): uvicorn would rewrite the client address from X-Forwarded-For before the guard sees the real
# peer, and any local process or rebound page could pick the address the login limit counts. uvicorn trusts
# no one here (an empty list); DESKGRAPH_TRUSTED_PROXIES decides, in the guard. Chainlit builds uvicorn's
# Config, which reads this, after importing this module.
os.environ["FORWARDED_ALLOW_IPS"] = ""


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
                settle_heap(settings.gc_gen0_threshold)  # everything long-lived is loaded now
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


# --- thread history: the checkpoints themselves, through the runtime -----------------------------------
_layer = CheckpointDataLayer(holder.get)


@cl.data_layer
def _data_layer() -> CheckpointDataLayer:
    return _layer


# --- login: operators by password, customers by the shop's token (header auth); off for the local demo ----
if password_login_on(settings) or customer_login_on(settings):
    os.environ["CHAINLIT_AUTH_SECRET"] = auth_secret(Path(settings.ui_db).expanduser().resolve().parent)

if password_login_on(settings):

    @cl.password_auth_callback
    def _login(username: str, password: str) -> cl.User | None:
        expected = settings.ui_password.get_secret_value()
        if username.startswith(CUSTOMER_PREFIX):
            return None  # customer identities come only from a verified token
        if hmac.compare_digest(username, settings.ui_username) and hmac.compare_digest(password, expected):
            return cl.User(identifier=username, metadata={"role": "operator", "provider": "credentials"})
        return None

if customer_login_on(settings):

    @cl.header_auth_callback
    async def _customer_login(headers: Any) -> cl.User | None:
        """A shop page embedding the chat sends ``Authorization: Bearer <customer token>``."""
        customer_id = customer_from_headers(headers, settings.customer_token_secret.get_secret_value())
        if customer_id is None or not (await holder.get()).store.user_exists(customer_id):
            return None
        return cl.User(identifier=customer_identifier(customer_id),
                       metadata={"role": "customer", "provider": "customer-token"})


# --- helpers -------------------------------------------------------------------------------------------
def _thread_id() -> str:
    return cl.context.session.thread_id


def _identifier() -> str | None:
    user = cl.context.session.user
    return user.identifier if user is not None else None


def _customer_id() -> str | None:
    """The signed-in customer's store user id; None for operators and the local demo (they reach any thread)."""
    return customer_id_of(_identifier())


def _at_desk() -> bool:
    """This session is an operator's desk (their "Operator desk" chat profile)."""
    return role_of(_identifier()) == "operator" and cl.user_session.get("chat_profile") == desk.DESK_PROFILE


#: The user-session key of the task that shows a person's messages in this chat as they are written.
_LIVE_KEY = "live_desk_feed"


def _follow_desk_events(runtime: SupportRuntime) -> None:
    """Show what a person writes into this chat (a reply, a proposal, the hand-back) the moment it happens."""
    live.follow(_LIVE_KEY, runtime, _thread_id(), "customer", render_desk_event)


async def _draw(events: AsyncIterator[Event]) -> None:
    """Render a turn; a turn the runtime refuses becomes a notice. Customers never see raw tool results."""
    try:
        last_reply = await render(events, details=role_of(_identifier()) != "customer")
        if last_reply and (run := cl.context.current_step) is not None:
            await _layer.rated_step(run.id, _thread_id(), last_reply)
    except TurnRefusedError as exc:
        key = ("thread_unavailable" if isinstance(exc, ThreadNotFoundError)
               else "thread_busy" if isinstance(exc, ThreadBusyError) else "turn_refused")
        await cl.Message(content=replies()[key], author="Notice").send()


async def _send_settings(persona: str) -> None:
    personas = list_personas()
    persona = persona if persona in personas else personas[0]
    cl.user_session.set("persona", persona)
    await cl.ChatSettings([Select(id="persona", label="Persona (tone of the replies)", values=personas,
                                  initial_value=persona)]).send()


# --- handlers ------------------------------------------------------------------------------------------
@cl.set_chat_profiles
async def _profiles(user: cl.User | None, language: str | None = None) -> list[cl.ChatProfile] | None:
    """Operators choose between chatting with the assistant and the operator desk; customers just chat."""
    if role_of(user.identifier if user else None) != "operator":
        return None
    return [cl.ChatProfile(name="Assistant", markdown_description="Chat with the assistant as a customer would.",
                           default=True),
            cl.ChatProfile(name=desk.DESK_PROFILE, markdown_description="The hand-over tickets: claim one, reply "
                           "to the customer, hand the conversation back or close the case.")]


@cl.on_chat_start
async def _start() -> None:
    if _at_desk():
        await desk.show_queue(await holder.get())
        return
    await _send_settings(settings.persona)
    await cl.Message(content=replies()["welcome"], author=stage_name("intake")).send()
    _follow_desk_events(await holder.get())


@cl.on_chat_resume
async def _resume(thread: ThreadDict) -> None:
    runtime = await holder.get()
    view = await runtime.view(thread["id"])
    await _send_settings(view.persona or settings.persona)
    await restore_actions(thread.get("steps") or [], confirmation=view.interrupted, retry=view.failed_turn)
    _follow_desk_events(runtime)


@cl.on_chat_end
async def _end() -> None:
    live.stop(_LIVE_KEY)
    desk.stop_following()


@cl.on_settings_update
async def _settings_update(values: dict[str, Any]) -> None:
    if values.get("persona"):
        cl.user_session.set("persona", values["persona"])


@cl.on_message
async def _message(message: cl.Message) -> None:
    if _at_desk():
        await desk.command(await holder.get(), str(_identifier()), message.content)
        return
    await clear_actions()  # a typed message answers a pending confirmation (the runtime treats it so)
    runtime = await holder.get()
    await _draw(runtime.send(_thread_id(), message.content, persona=cl.user_session.get("persona"),
                             customer_id=_customer_id()))


@cl.action_callback(CONFIRM_ACTION)
async def _confirm(action: cl.Action) -> None:
    if not await clear_actions():  # already answered (double click, or typed yes/no)
        return
    runtime = await holder.get()
    await _draw(runtime.answer_confirmation(_thread_id(), action.payload.get("value") == "yes",
                                            customer_id=_customer_id()))


@cl.action_callback(RETRY_ACTION)
async def _retry(action: cl.Action) -> None:
    if not await clear_actions():  # already retried
        return
    runtime = await holder.get()
    await _draw(runtime.retry(_thread_id(), customer_id=_customer_id()))


# --- the operator desk's buttons (``ui.desk``) -------------------------------------------------------------
@cl.action_callback(desk.QUEUE_ACTION)
async def _desk_queue(action: cl.Action) -> None:
    if _at_desk():
        await desk.show_queue(await holder.get())


@cl.action_callback(desk.OPEN_ACTION)
async def _desk_open(action: cl.Action) -> None:
    if _at_desk():
        await desk.open_ticket(await holder.get(), int(action.payload["ticket"]))


@cl.action_callback(desk.CLAIM_ACTION)
async def _desk_claim(action: cl.Action) -> None:
    if _at_desk():
        await desk.claim(await holder.get(), str(_identifier()), int(action.payload["ticket"]))


@cl.action_callback(desk.CLOSE_ACTION)
async def _desk_close(action: cl.Action) -> None:
    if _at_desk():
        await desk.close(await holder.get(), str(_identifier()), int(action.payload["ticket"]))


@cl.action_callback(desk.HAND_BACK_ACTION)
async def _desk_hand_back(action: cl.Action) -> None:
    if _at_desk():
        await desk.hand_back_asking(await holder.get(), str(_identifier()), int(action.payload["ticket"]))
