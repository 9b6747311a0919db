"""Fixtures shared by the core's test modules."""

from __future__ import annotations

from typing import Any

import pytest

from contextsieve.testing import tiny_encoder, train_tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    """A WordPiece tokenizer with BERT's special tokens, trained on real prose."""
    return train_tokenizer("wordpiece", 500, encoder=True)


@pytest.fixture(scope="module")
def bert(tokenizer: Any) -> Any:
    """A random tiny BERT over ``tokenizer`` (one per test module, so no module sees another's changes)."""
    return tiny_encoder(len(tokenizer), max_positions=512).bert
