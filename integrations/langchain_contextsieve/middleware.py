"""``ContextSieveMiddleware``: shrink long tool results (and optionally old turns) before an agent's model call."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from contextsieve import CompressionResult, Compressor
from contextsieve.config import selection_or_default
from contextsieve.errors import ConfigError
from contextsieve.shared import load_shared

__all__ = ["ContextSieveMiddleware"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"

_Handler = Callable[[ModelRequest[Any]], ModelResponse[Any]]
_AsyncHandler = Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]]


class ContextSieveMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Compress long tool results against the latest human message before each model call.

    The agent's state keeps the full messages; only what is sent to the model is shortened, so a later question
    can still reach everything. The system prompt, the latest human message and every tool-call id are never
    changed. Compressed messages carry ``response_metadata["contextsieve"]`` with their token counts and kept
    spans. Results are cached, so the same tool result is scored once however many turns it stays in the history.

    Example:
        ```python
        from langchain.agents import create_agent
        from langchain_contextsieve import ContextSieveMiddleware

        agent = create_agent(
            model,
            tools=[fetch_page],
            middleware=[ContextSieveMiddleware(trigger_tokens=800, rate=0.25)],
        )
        ```

    """

    def __init__(
        self,
        *,
        model: str = "auto",
        device: str | None = None,
        layers: int | None = None,
        compressor: Compressor | None = None,
        trigger_tokens: int = 1000,
        budget: int | None = None,
        rate: float | None = None,
        top_p: float | None = None,
        target_tokenizer: str | None = None,
        compress_history: bool = False,
        order: Literal["original", "relevance", "edges"] = "original",
        force_patterns: Sequence[str] = (),
        separator: str = "\n...\n",
        cache_size: int = 256,
    ) -> None:
        """Configure the middleware; the draft model loads on the first model call that needs it.

        Args:
            model: Model name or folder; ``"auto"`` picks the trained head on CPU, the full draft on an
                accelerator (ignored when ``compressor`` is given).
            device: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``None`` for the best available.
            layers: Use only the first ``layers`` layers of the draft.
            compressor: A ready :class:`contextsieve.Compressor` to use.
            trigger_tokens: Only messages longer than this many target tokens are compressed.
            budget: Target tokens kept per compressed message.
            rate: Fraction kept per compressed message; 0.5 when no budget, rate or top_p is given.
            top_p: Stop once this share of a message's relevance mass is kept.
            target_tokenizer: Tokenizer that thresholds and budgets are counted in (the draft's when ``None``).
            compress_history: Also compress long human and AI turns before the latest human message.
            order: Order of the kept spans inside a message.
            force_patterns: Regular expressions whose matches are always kept.
            separator: Joins non-adjacent kept spans.
            cache_size: How many compressed messages to remember.

        """
        super().__init__()
        if trigger_tokens < 0:
            msg = f"trigger_tokens must be >= 0, got {trigger_tokens}"
            raise ConfigError(msg)
        if cache_size < 0:
            msg = f"cache_size must be >= 0, got {cache_size}"
            raise ConfigError(msg)
        self._selection = selection_or_default(
            budget=budget,
            rate=rate,
            top_p=top_p,
            order=order,
            force_patterns=force_patterns,
            separator=separator,
            target_tokenizer=target_tokenizer,
        )
        self._model = model
        self._device = device
        self._layers = layers
        self._compressor = compressor
        self.trigger_tokens = trigger_tokens
        self.target_tokenizer = target_tokenizer
        self.compress_history = compress_history
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], CompressionResult] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ agent hooks

    def wrap_model_call(self, request: ModelRequest[Any], handler: _Handler) -> ModelResponse[Any]:
        """Send the model a copy of the messages with long tool results compressed."""
        return handler(self._rewrite(request))

    async def awrap_model_call(self, request: ModelRequest[Any], handler: _AsyncHandler) -> ModelResponse[Any]:
        """Async version of :meth:`wrap_model_call`; compression runs in a worker thread."""
        rewritten = await asyncio.to_thread(self._rewrite, request)
        return await handler(rewritten)

    # ------------------------------------------------------------------ public helper

    def compress_messages(self, messages: Sequence[AnyMessage]) -> list[AnyMessage]:
        """Return a new message list with long tool results (and old turns if enabled) compressed.

        The query is the latest human message; without one, the messages come back unchanged.
        """
        messages = list(messages)
        last_human = _last_human(messages)
        if last_human is None:
            return messages
        query = messages[last_human].text
        if not query.strip():
            return messages
        targets = [i for i, message in enumerate(messages) if self._eligible(message, i, last_human)]
        if not targets:
            return messages
        compressor = self._get_compressor()
        long_ones = [i for i in targets if self._is_long(compressor, _content(messages[i]))]
        if not long_ones:
            return messages
        results = self._compress([_content(messages[i]) for i in long_ones], query, compressor)
        out = list(messages)
        for i, result in zip(long_ones, results, strict=True):
            out[i] = _with_compressed(messages[i], result, compressor.scorer.name)
        logger.debug(
            "compressed %d messages from %d to %d target tokens",
            len(long_ones),
            sum(r.original_tokens for r in results),
            sum(r.compressed_tokens for r in results),
        )
        return out

    # ------------------------------------------------------------------ internals

    def _rewrite(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        messages = self.compress_messages(request.messages)
        if all(new is old for new, old in zip(messages, request.messages, strict=True)):
            return request
        return request.override(messages=messages)

    def _eligible(self, message: AnyMessage, index: int, last_human: int) -> bool:
        if not isinstance(message.content, str) or not message.content.strip():
            return False
        if METADATA_KEY in message.response_metadata:
            return False
        if isinstance(message, ToolMessage):
            return True
        return self.compress_history and index < last_human and isinstance(message, (HumanMessage, AIMessage))

    def _is_long(self, compressor: Compressor, text: str) -> bool:
        return compressor.count_tokens(text, self.target_tokenizer) > self.trigger_tokens

    def _get_compressor(self) -> Compressor:
        if self._compressor is None:
            self._compressor = load_shared(self._model, self._device, self._layers)
        return self._compressor

    def _compress(self, texts: list[str], query: str, compressor: Compressor) -> list[CompressionResult]:
        keys = [(_digest(text), query) for text in texts]
        with self._cache_lock:
            cached = {key: self._cache[key] for key in keys if key in self._cache}
        todo = [i for i, key in enumerate(keys) if key not in cached]
        if todo:
            fresh = compressor.compress_batch(
                [texts[i] for i in todo],
                query,
                **self._selection.model_dump(),
            )
            with self._cache_lock:
                for i, result in zip(todo, fresh, strict=True):
                    cached[keys[i]] = result
                    self._remember(keys[i], result)
        return [cached[key] for key in keys]

    def _remember(self, key: tuple[str, str], result: CompressionResult) -> None:
        if self._cache_size == 0:
            return
        self._cache[key] = result
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _last_human(messages: Sequence[AnyMessage]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return None


def _content(message: AnyMessage) -> str:
    content = message.content
    if not isinstance(content, str):
        msg = "only string contents are compressed"
        raise TypeError(msg)
    return content


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _with_compressed(message: AnyMessage, result: CompressionResult, model: str) -> AnyMessage:
    metadata = {**message.response_metadata, METADATA_KEY: {**result.summary(), "model": model}}
    return message.model_copy(update={"content": result.text, "response_metadata": metadata})
