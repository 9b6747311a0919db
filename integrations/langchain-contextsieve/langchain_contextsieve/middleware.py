"""``ContextSieveMiddleware``: shrink long tool results (and optionally old turns) before an agent's model call."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from contextsieve import CompressionResult
from contextsieve.adapters import CompressorOptions, text_problem
from contextsieve.errors import ConfigError
from contextsieve.interface import CompressorLike
from contextsieve.lru import LRUCache
from contextsieve.prompts.blocks import block_texts, with_block_texts

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
        trigger_tokens: int = 1000,
        compress_history: bool = False,
        cache_size: int = 256,
        **options: Any,
    ) -> None:
        """Configure the middleware; the model loads on the first model call that needs it.

        Args:
            trigger_tokens: Only messages longer than this many target tokens are compressed.
            compress_history: Also compress long human and AI turns before the latest human message.
            cache_size: How many compressed messages to remember.
            **options: The options of :class:`contextsieve.adapters.CompressorOptions`: ``model``, ``device``,
                ``dtype``, ``hub``, ``compressor`` and every selection and scoring field (``budget``, ``rate``,
                ``top_p``, ``target_tokenizer``, ``order``, ``force_patterns``, ``separator``, ``min_score``,
                ``layers``, ...), flat or grouped. The budget applies to each compressed message; ``rate`` is 0.5
                when no budget, rate, top_p or min_score is given.

        Raises:
            ConfigError: When an option is unknown, invalid or contradictory.

        """
        super().__init__()
        if trigger_tokens < 0:
            msg = f"trigger_tokens must be >= 0, got {trigger_tokens}"
            raise ConfigError(msg)
        if cache_size < 0:
            msg = f"cache_size must be >= 0, got {cache_size}"
            raise ConfigError(msg)
        self.options = CompressorOptions(**options)
        self.trigger_tokens = trigger_tokens
        self.compress_history = compress_history
        self._cache: LRUCache[tuple[str, str], CompressionResult] = LRUCache(cache_size)

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
        compressor = self.options.get_compressor()
        units = [
            (i, block, text) for i in targets for block, text in _texts(messages[i]) if self._fits(compressor, text)
        ]
        if not units:
            return messages
        results = self._compress([text for _, _, text in units], query, compressor)
        by_message: dict[int, dict[int | None, CompressionResult]] = {}
        for (i, block, _), result in zip(units, results, strict=True):
            by_message.setdefault(i, {})[block] = result
        out = list(messages)
        for i, compressed in by_message.items():
            out[i] = _with_compressed(messages[i], compressed, compressor.name)
        logger.debug(
            "compressed %d texts of %d messages from %d to %d target tokens",
            len(units),
            len(by_message),
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
        if not any(text.strip() for _, text in _texts(message)):
            return False
        if METADATA_KEY in message.response_metadata:
            return False
        if isinstance(message, ToolMessage):
            return True
        return self.compress_history and index < last_human and isinstance(message, (HumanMessage, AIMessage))

    def _fits(self, compressor: CompressorLike, text: str) -> bool:
        """Whether ``text`` is long enough to compress (text that is not valid Unicode is left as it is)."""
        problem = text_problem(text)
        if problem is not None:
            logger.warning("contextsieve left a message text uncompressed: %s", problem)
            return False
        return compressor.count_tokens(text, self.options.selection.target_tokenizer) > self.trigger_tokens

    def _compress(self, texts: list[str], query: str, compressor: CompressorLike) -> list[CompressionResult]:
        keys = [(_digest(text), query) for text in texts]
        found: dict[int, CompressionResult] = {}
        for i, key in enumerate(keys):
            hit = self._cache.get(key)
            if hit is not None:
                found[i] = hit
        todo = [i for i in range(len(keys)) if i not in found]
        if todo:
            fresh = compressor.compress_batch([texts[i] for i in todo], query, **self.options.selection.options())
            for i, result in zip(todo, fresh, strict=True):
                found[i] = result
                self._cache.put(keys[i], result)
        return [found[i] for i in range(len(keys))]


def _last_human(messages: Sequence[AnyMessage]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return None


def _texts(message: AnyMessage) -> list[tuple[int | None, str]]:
    """Return the texts of a message: its string content (block ``None``) or each of its text blocks."""
    content = message.content
    if isinstance(content, str):
        return [(None, content)]
    return list(block_texts(content))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _with_compressed(message: AnyMessage, compressed: dict[int | None, CompressionResult], model: str) -> AnyMessage:
    """Copy ``message`` with its compressed texts; a block content keeps its other blocks and records each block."""
    if None in compressed:
        result = compressed[None]
        record: dict[str, Any] = {**result.summary(), "model": model}
        content: str | list[Any] = result.text
    else:
        blocks = {block: result for block, result in compressed.items() if block is not None}
        record = {"blocks": [{"block": b, **r.summary()} for b, r in sorted(blocks.items())], "model": model}
        content = with_block_texts(message.content, {b: r.text for b, r in blocks.items()})
    metadata = {**message.response_metadata, METADATA_KEY: record}
    return message.model_copy(update={"content": content, "response_metadata": metadata})
