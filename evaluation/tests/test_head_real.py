"""Slow tests of the shipped trained head (smollm2-135m-head) on real text."""

from __future__ import annotations

import pytest

from contextsieve import Compressor
from contextsieve.scoring.head_scorer import HeadScorer
from contextsieve_eval import needle_samples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def head_compressor() -> Compressor:
    return Compressor.from_pretrained("smollm2-135m-head", device="cpu")


def test_the_shipped_head_loads_on_eight_draft_layers(head_compressor) -> None:
    scorer = head_compressor.scorer
    assert isinstance(scorer, HeadScorer)
    assert scorer.head.config.layers == 8
    assert scorer.head.config.draft == "smollm2-135m"


def test_the_default_model_is_the_sentence_scorer_and_draft_options_load_the_draft() -> None:
    from contextsieve.scoring.sentences import SentenceScorer
    from contextsieve.shared import shared_compressor

    default = shared_compressor(device="cpu").scorer
    assert isinstance(default, SentenceScorer)
    assert default.name == "minilm-l6-sieve"
    assert shared_compressor(device="cpu", layers=8).scorer.name == "smollm2-135m"


@pytest.mark.parametrize("depth", [0.1, 0.5, 0.9])
def test_the_shipped_head_keeps_a_needle_in_8k_tokens_at_rate_0_1(head_compressor, depth) -> None:
    (sample,) = needle_samples(head_compressor.count_tokens, 8192, depths=(depth,), needles=1, seed=4)
    result = head_compressor.compress(sample.text, sample.question, rate=0.1)
    assert result.original_tokens >= 8192
    assert result.compressed_tokens <= int(0.1 * result.original_tokens)
    assert sample.needle in result.text
    assert result.text == "\n...\n".join(sample.text[a:b] for a, b in result.spans)


def test_the_shipped_head_ranks_the_answering_document_first(head_compressor) -> None:
    (sample,) = needle_samples(head_compressor.count_tokens, 600, depths=(0.5,), needles=1, seed=5)
    fillers = [
        s.text.replace(s.needle, "")
        for seed in (6, 7)
        for s in needle_samples(head_compressor.count_tokens, 600, depths=(0.2,), needles=1, seed=seed)
    ]
    result = head_compressor.compress_documents([fillers[0], sample.text, fillers[1]], sample.question, rate=0.3)
    scores = [d.score for d in result.documents]
    assert scores.index(max(scores)) == 1
    assert sample.needle in result.documents[1].text
