"""Fixtures of the LangChain integration's tests: a scripted chat model that records every message list it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field


class ScriptedChatModel(BaseChatModel):
    """Replies with ``responses`` in turn and keeps a copy of each prompt in ``seen``."""

    responses: list[AIMessage]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append([m.model_copy(deep=True) for m in messages])
        reply = self.responses[min(len(self.seen), len(self.responses)) - 1]
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self


@pytest.fixture
def scripted_chat() -> type[ScriptedChatModel]:
    """The scripted chat model class: ``scripted_chat(responses=[...])``, then read ``.seen``."""
    return ScriptedChatModel
