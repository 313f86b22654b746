"""build_flows_graph(): the flows dialogue, with one subgraph per customer task.

    begin_turn → understand → plan ─┬─ <task flow subgraph> (step → confirm → execute) ─┬─ next task / END
                                    ├─ question (free answer, never writes)               └─ understand (typed
                                    ├─ escalate                                              instead of yes/no)
                                    └─ welcome / idle
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START
from langgraph.graph.state import CompiledStateGraph

from graphs.blocking import StateGraphOnLoop, async_node, plain_node
from graphs.dialogue import GraphOptions
from graphs.flows.nodes import FlowNodes
from graphs.flows.steps import FLOWS
from graphs.operator import OperatorSteps, after_handover
from graphs.state import Stage, SupportState
from graphs.tickets import TicketDesk
from graphs.tool_layer import GuardedTools
from graphs.understanding import Task
from prompts import replies
from tools import RetailStore

FLOW_NODES = tuple(task.value for task in FLOWS)


# --- routing (pure functions of the state) -----------------------------------------------------------
def after_begin(state: SupportState) -> Literal["operator_confirm", "handover_note", "escalate", "understand"]:
    """Handed-over threads belong to the person (their proposal's answer, or a note for them); otherwise read the
    message."""
    if state.get("ticket"):
        return after_handover(state)
    if state.get("stage") == Stage.ESCALATION:
        return "escalate"
    return "understand"


def after_plan(state: SupportState) -> str:
    """Escalate on request; run the active task's flow once identified; else answer or offer help."""
    if state.get("stage") == Stage.ESCALATION:
        return "escalate"
    asked = (state.get("understanding") or {}).get("tasks", [])
    if not state.get("customer_id"):
        if state.get("awaiting") == "identity" and (state.get("tasks") or _replied(state)):
            return END
        return "question" if Task.QUESTION.value in asked else "welcome"
    if state.get("tasks"):
        return state["tasks"][0]["task"]
    # A question the reading could not place still deserves an answer, not "anything else?".
    open_question = Task.QUESTION.value in asked or _asks(state)
    return "question" if open_question else "idle"


def after_flow(state: SupportState) -> str:
    """A typed answer is read again; a question waits for the customer; otherwise the next task runs. A flow that
    could not resolve what it asked for (asked three times) hands the case over."""
    if state.get("stage") == Stage.ESCALATION:
        return "escalate"
    if state.get("reinterpret"):
        return "understand"
    if state.get("awaiting") or state.get("pending_confirmation"):
        return END
    if state.get("tasks"):
        return state["tasks"][0]["task"]
    return "idle"


def _asks(state: SupportState) -> bool:
    last = state["messages"][-1] if state.get("messages") else None
    return isinstance(last, HumanMessage) and str(last.content).rstrip().endswith("?")


def _replied(state: SupportState) -> bool:
    last = state["messages"][-1] if state.get("messages") else None
    return isinstance(last, AIMessage) and not last.tool_calls


def after_step(state: SupportState) -> Literal["confirm", "__end__"]:
    """A resolved write waits for confirmation; anything else ends the flow's step."""
    return "confirm" if state.get("pending_confirmation") else "__end__"


def after_confirm(state: SupportState) -> Literal["execute", "__end__"]:
    """Yes runs the write; no (or another request) ends the flow."""
    return "execute" if state.get("pending_confirmation") else "__end__"


# --- builders -----------------------------------------------------------------------------------------
def build_task_flow(task: Task, nodes: FlowNodes) -> CompiledStateGraph:
    """One task's flow: resolve the next step, confirm a write, execute it."""
    builder = StateGraphOnLoop(SupportState)
    builder.add_node("step", async_node(nodes.flow_step))
    builder.add_node("confirm", plain_node(nodes.confirm))
    builder.add_node("execute", async_node(nodes.execute))
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", after_step, ["confirm", END])
    builder.add_conditional_edges("confirm", after_confirm, ["execute", END])
    builder.add_edge("execute", END)
    return builder.compile(name=task.value)


#: What a flow hands back to the conversation besides its new messages.
_FLOW_OUTPUT = ("tasks", "awaiting", "pending_confirmation", "orders_in_focus", "reinterpret", "asked", "choices",
                "escalation_reason", "stage", "stage_history")


def flow_node(flow: CompiledStateGraph) -> Any:
    """Run a task flow's subgraph as a node that returns only what it changed.

    A compiled subgraph added directly as a node hands its whole final state back, so the parent would re-write
    (and the message history's DeltaChannel re-store) every earlier message at each flow step. Called from this
    node it still checkpoints in its own namespace and resumes after a confirmation interrupt.
    """

    async def run_flow(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
        known = {message.id for message in state["messages"]}
        final = await flow.ainvoke(state, config)
        # Only what the flow changed: a stage history handed back unchanged read as a new stage change (the
        # runtime reports the last entry of any stage_history update), once per flow run.
        update = {key: final[key] for key in _FLOW_OUTPUT if key in final and final[key] != state.get(key)}
        return update | {"messages": [m for m in final["messages"] if m.id not in known]}

    run_flow.__name__ = f"run_{flow.name}"
    return run_flow


def _welcome(state: SupportState, config: RunnableConfig) -> dict[str, Any]:
    return {"messages": [AIMessage(replies()["welcome"])]}


def build_flows_graph(*, model: BaseChatModel, store: RetailStore, checkpointer: BaseCheckpointSaver | None = None,
                      options: GraphOptions | None = None) -> CompiledStateGraph:
    """Compile the flows dialogue over a chat model (for understanding), a retail store and a checkpointer."""
    options = options or GraphOptions()
    nodes = FlowNodes(model, GuardedTools(store), TicketDesk(store), options)
    builder = StateGraphOnLoop(SupportState)
    # Every node is async: the model is awaited, plain code and the store run off the event loop (graphs.blocking).
    builder.add_node("begin_turn", plain_node(nodes.begin_turn))
    builder.add_node("understand", nodes.understand)
    builder.add_node("plan", nodes.plan)
    for task in FLOWS:
        builder.add_node(task.value, flow_node(build_task_flow(task, nodes)))
        builder.add_conditional_edges(task.value, after_flow, ["understand", "idle", "escalate", END, *FLOW_NODES])
    builder.add_node("question", nodes.question)
    builder.add_node("welcome", plain_node(_welcome))
    builder.add_node("idle", plain_node(nodes.idle))
    builder.add_node("escalate", async_node(nodes.escalate))
    builder.add_node("handover_note", async_node(nodes.handover_note))
    builder.add_node("operator_confirm", OperatorSteps(nodes.guarded, nodes.desk).confirm)
    builder.add_node("restore", plain_node(nodes.restore))
    builder.add_edge(START, "begin_turn")
    builder.add_conditional_edges("begin_turn", after_begin, ["operator_confirm", "handover_note", "escalate",
                                                              "understand"])
    builder.add_edge("understand", "plan")
    builder.add_conditional_edges("plan", after_plan,
                                  ["escalate", "question", "welcome", "idle", END, *FLOW_NODES])
    for name in ("question", "welcome", "idle", "escalate", "handover_note", "operator_confirm", "restore"):
        builder.add_edge(name, END)
    return builder.compile(checkpointer=checkpointer, name="support")
