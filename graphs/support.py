"""build_support_graph(): the three-stage customer-service graph, wired in one place."""

from __future__ import annotations

from functools import partial

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START
from langgraph.graph.state import CompiledStateGraph

from graphs import routing
from graphs.agent_reading import read_request_node
from graphs.blocking import StateGraphOnLoop, async_node, plain_node
from graphs.dialogue import GraphOptions
from graphs.nodes import SupportNodes
from graphs.operator import OperatorSteps
from graphs.state import SupportState
from graphs.tickets import TicketDesk
from graphs.tool_layer import GuardedTools
from tools import RetailStore


def _after_tools(state: SupportState, max_calls: int) -> str:
    # Loop guard: a model that keeps calling tools within one turn is stopped and apologises.
    target = routing.after_tools(state)
    if target == "agent" and state.get("turn_model_calls", 0) >= max_calls:
        return "give_up"
    return target


def _via_reading(state: SupportState) -> str:
    target = routing.after_begin_turn(state)
    return "read_request" if target == "agent" else target


def build_support_graph(
    *,
    model: BaseChatModel,
    store: RetailStore,
    checkpointer: BaseCheckpointSaver | None = None,
    options: GraphOptions | None = None,
) -> CompiledStateGraph:
    """Compile the support graph over a chat model, a retail store and an optional checkpointer (an async one:
    the nodes are async, so the graph runs with ``ainvoke`` / ``astream``).

    Example:
        graph = build_support_graph(model=chat_model, store=RetailStore.open("var/store.db"), checkpointer=saver)
        await graph.ainvoke({"messages": [HumanMessage("Hi")]}, {"configurable": {"thread_id": "t1"}})
    """
    options = options or GraphOptions()
    if options.dialogue == "flows":
        from graphs.flows import build_flows_graph

        return build_flows_graph(model=model, store=store, checkpointer=checkpointer, options=options)
    nodes = SupportNodes(model, GuardedTools(store), TicketDesk(store), options)
    builder = StateGraphOnLoop(SupportState)
    # Every node is async: the model is awaited, plain code and the store run off the event loop (graphs.blocking).
    builder.add_node("begin_turn", async_node(nodes.begin_turn))
    builder.add_node("agent", nodes.agent)
    builder.add_node("tools", async_node(nodes.tools))
    builder.add_node("confirm_write", async_node(nodes.confirm_write))
    builder.add_node("escalate", nodes.escalate)
    builder.add_node("handover_note", async_node(nodes.handover_note))
    builder.add_node("operator_confirm", OperatorSteps(nodes.guarded, nodes.desk).confirm)
    builder.add_node("give_up", plain_node(nodes.give_up))
    builder.add_node("restore", plain_node(nodes.restore))

    builder.add_edge(START, "begin_turn")
    if options.agent_understand:
        # The request plan is read first, then the stage's model works with it in front of it.
        builder.add_node("read_request", read_request_node(model))
        builder.add_conditional_edges("begin_turn", _via_reading,
                                      ["operator_confirm", "handover_note", "confirm_write", "escalate", "tools",
                                       "read_request"])
        builder.add_edge("read_request", "agent")
    else:
        builder.add_conditional_edges("begin_turn", routing.after_begin_turn)
    builder.add_conditional_edges(
        "agent", partial(routing.after_agent, max_invalid=options.tool_call_retries),
        ["tools", "agent", "give_up", END],
    )
    builder.add_conditional_edges(
        "tools", partial(_after_tools, max_calls=options.max_model_calls_per_turn),
        ["confirm_write", "escalate", "agent", "give_up"],
    )
    builder.add_conditional_edges("confirm_write", routing.after_confirm, ["agent", END])
    builder.add_conditional_edges("give_up", routing.after_give_up, ["escalate", END])
    builder.add_edge("escalate", END)
    builder.add_edge("handover_note", END)
    builder.add_edge("operator_confirm", END)
    builder.add_edge("restore", END)
    return builder.compile(checkpointer=checkpointer, name="support")
