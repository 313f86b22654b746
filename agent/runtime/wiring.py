"""How the runtime is wired from the settings: the graph's options, and the stand-in model of commands that
never call one."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agent.settings import Settings
from graphs import GraphOptions


class NoModel(BaseChatModel):
    """Stands in for the model in commands that only read or copy threads (no server is started)."""

    @property
    def _llm_type(self) -> str:
        return "none"

    def bind_tools(self, tools: Any, **kwargs: Any) -> NoModel:  # noqa: D102 - nothing to bind
        return self

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this command does not call the model")


def graph_options(settings: Settings) -> GraphOptions:
    """The graph's knobs from the deployment settings."""
    return GraphOptions(
        today=settings.today,
        context_tokens=settings.context_tokens,
        max_output_tokens=settings.llm_max_tokens,
        tool_call_retries=settings.tool_call_retries,
        escalate_after_tool_errors=settings.escalate_after_tool_errors,
        escalate_after_misunderstandings=settings.escalate_after_misunderstandings,
        default_persona=settings.persona,
        dialogue=settings.dialogue,
        agent_understand=settings.agent_understand,
    )
