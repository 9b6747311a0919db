"""Scorer backends plug in through the registry; from_pretrained resolves a name to the backend that claims it."""

from __future__ import annotations

import pytest

from contextsieve import Compressor
from contextsieve.errors import ConfigError
from contextsieve.scoring import TokenScorer, registry
from contextsieve.scoring.registry import LoadRequest, backend_for, register_backend
from contextsieve.testing import KeywordScorer, train_tokenizer


class KeywordBackend:
    kind = "keywords"

    def __init__(self) -> None:
        self.requests: list[LoadRequest] = []

    def claims(self, name_or_path: str) -> bool:
        return name_or_path == "keywords"

    def load(self, request: LoadRequest) -> TokenScorer:
        self.requests.append(request)
        return KeywordScorer(train_tokenizer("bpe", 300), pool_kernel=request.config.pool_kernel)


@pytest.fixture
def keyword_backend(monkeypatch):
    monkeypatch.setattr(registry, "BACKENDS", list(registry.BACKENDS))
    backend = KeywordBackend()
    register_backend(backend)
    return backend


def test_a_registered_backend_loads_the_names_it_claims(keyword_backend) -> None:
    compressor = Compressor.from_pretrained("keywords", device="cpu", pool_kernel=3, score_cache=4)
    (request,) = keyword_backend.requests
    assert request.name == "keywords" and request.config.pool_kernel == 3 and request.device.type == "cpu"
    assert compressor.scorer.name == "keywords" and compressor.scorer.config.pool_kernel == 3
    text = "The ferry leaves at seven from the north pier. " + "Gulls circle the harbour all day. " * 30
    result = compressor.compress(text, "When does the ferry leave?", budget=40)
    assert "ferry leaves at seven" in result.text and result.compressed_tokens <= 40


def test_backends_are_asked_in_order_and_the_draft_claims_the_rest(keyword_backend) -> None:
    assert [b.kind for b in registry.BACKENDS] == ["keywords", "head", "encoder", "sentences", "draft"]
    assert backend_for("keywords") is keyword_backend
    assert backend_for("smollm2-135m-head").kind == "head"
    assert backend_for("org/some-model").kind == "draft"
    register_backend(KeywordBackend())
    assert [b.kind for b in registry.BACKENDS] == ["keywords", "head", "encoder", "sentences", "draft"]


def test_the_head_refuses_draft_attention_options() -> None:
    with pytest.raises(ConfigError, match="lookahead applies to draft attention"):
        Compressor.from_pretrained("smollm2-135m-head", device="cpu", lookahead=4)
