"""What the adapters need of a compressor: a local :class:`~contextsieve.Compressor` or a remote one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from typing_extensions import Unpack

from contextsieve.config import SelectionOptions
from contextsieve.results import CompressionResult, DocumentsResult, PromptCompressionResult

__all__ = ["CompressorLike"]


@runtime_checkable
class CompressorLike(Protocol):
    """The compress methods, with :class:`~contextsieve.Compressor`'s signatures and results."""

    @property
    def name(self) -> str:
        """The model that scores."""
        ...

    def compress(self, context: str, query: str, **options: Unpack[SelectionOptions]) -> CompressionResult:
        """Compress one context against a query."""
        ...

    def compress_batch(
        self, contexts: Sequence[str], queries: str | Sequence[str], **options: Unpack[SelectionOptions]
    ) -> list[CompressionResult]:
        """Compress independent contexts."""
        ...

    def compress_documents(
        self, texts: Sequence[str], query: str, **options: Unpack[SelectionOptions]
    ) -> DocumentsResult:
        """Compress documents with one shared budget."""
        ...

    def compress_prompt(
        self, prompt: str | Sequence[Any], *, query: str | None = None, **options: Unpack[SelectionOptions]
    ) -> PromptCompressionResult:
        """Compress the context parts of a prompt."""
        ...

    def count_tokens(self, text: str, target_tokenizer: Any = None) -> int:
        """Count a text as budgets are counted."""
        ...
