"""A deterministic lexical scorer for testing selection, budgets and rendering without a draft model.

It implements the same ``TokenScorer`` protocol as the draft: a token scores 1.0 when its word appears in
the query and 0.01 otherwise. The unit under test is everything after scoring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from contextsieve.tokens import TokenizedText, tokenize_with_offsets


class KeywordScorer:
    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.calls = 0

    @property
    def name(self) -> str:
        return "keywords"

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def tokenize(self, text: str) -> TokenizedText:
        return tokenize_with_offsets(self._tokenizer, text)

    def score(self, requests: Sequence[tuple[TokenizedText, str]], *, progress: bool = False) -> list[np.ndarray]:
        self.calls += 1
        out = []
        for tokens, query in requests:
            words = {w.lower() for w in re.findall(r"\w+", query) if len(w) > 3}
            scores = np.full(len(tokens), 0.01, dtype=np.float32)
            for match in re.finditer(r"\w+", tokens.text):
                if match.group().lower() in words:
                    inside = (tokens.offsets[:, 0] < match.end()) & (tokens.offsets[:, 1] > match.start())
                    scores[inside] = 1.0
            out.append(scores)
        return out
