"""contextsieve: keep what matters in long LLM prompts, within a budget of the target model's tokens.

``import contextsieve`` is cheap: torch and transformers load only when a model does.
"""

from __future__ import annotations

from contextsieve.compressor import Compressor
from contextsieve.config import ChunkingConfig, ScoringConfig, SelectionConfig
from contextsieve.errors import ContextSieveError
from contextsieve.results import (
    CompressionResult,
    DocumentCompression,
    DocumentsResult,
    PromptCompressionResult,
    ScoredChunk,
)

__all__ = [
    "ChunkingConfig",
    "CompressionResult",
    "Compressor",
    "ContextSieveError",
    "DocumentCompression",
    "DocumentsResult",
    "PromptCompressionResult",
    "ScoredChunk",
    "ScoringConfig",
    "SelectionConfig",
    "__version__",
]

__version__ = "0.1.0"
