"""Draft scoring: batching, padding and block decomposition give the same scores as single passes."""

from __future__ import annotations

import numpy as np
import pytest

from contextsieve import ScoringConfig
from contextsieve.scoring.blocks import HEADER
from contextsieve.scoring.draft import DraftAttentionScorer
from contextsieve.scoring.loading import truncate_layers
from contextsieve.testing import corpus_text, tiny_draft

QUERY = "How does the try statement handle exceptions?"


def _scorer(model, tokenizer, **options) -> DraftAttentionScorer:
    return DraftAttentionScorer(model, tokenizer, ScoringConfig(**options), name="tiny")


def test_scores_are_one_per_token_and_non_negative(tiny_model, draft_tokenizer) -> None:
    scorer = _scorer(tiny_model, draft_tokenizer)
    tokens = scorer.tokenize(corpus_text(3000))
    (scores,) = scorer.score([(tokens, QUERY)])
    assert scores.shape == (len(tokens),)
    assert np.all(scores >= 0)
    assert np.all(scores <= 1)
    assert scores.sum() > 0


def test_batched_padded_scores_equal_individual_scores(tiny_model, draft_tokenizer) -> None:
    text = corpus_text(8000)
    contexts = [text[:1500], text[1500:2100], text[2100:4500]]
    queries = [QUERY, "What is a generator?", "Explain the with statement."]
    batched = _scorer(tiny_model, draft_tokenizer, batch_size=3)
    single = _scorer(tiny_model, draft_tokenizer, batch_size=1)
    requests = [(batched.tokenize(c), q) for c, q in zip(contexts, queries, strict=True)]
    together = batched.score(requests)
    for request, scores in zip(requests, together, strict=True):
        (alone,) = single.score([request])
        np.testing.assert_allclose(scores, alone, atol=1e-5)


def test_block_scoring_equals_scoring_each_block_alone(tiny_model, draft_tokenizer) -> None:
    scorer = _scorer(tiny_model, draft_tokenizer, block_tokens=128, batch_size=2)
    tokens = scorer.tokenize(corpus_text(4000))
    assert len(tokens) > 3 * 128
    (blockwise,) = scorer.score([(tokens, QUERY)])
    whole = _scorer(tiny_model, draft_tokenizer, block_tokens=4096)
    n = len(tokens)
    compared = 0
    for keep_from in range(0, n, 128):
        end = min(keep_from + 128, n)
        start = max(0, end - 128)  # the last block reaches back to full length
        piece = tokens.text[tokens.offsets[start, 0] : tokens.offsets[end - 1, 1]]
        piece_tokens = whole.tokenize(piece)
        if not np.array_equal(piece_tokens.ids, tokens.ids[start:end]):
            continue  # re-tokenizing a cut can merge differently at the edges; compare exact cuts only
        (alone,) = whole.score([(piece_tokens, QUERY)])
        np.testing.assert_allclose(blockwise[keep_from:end], alone[keep_from - start :], atol=1e-5)
        compared += 1
    assert compared >= 2


def test_one_pass_when_block_is_large_enough(tiny_model, draft_tokenizer) -> None:
    tokens = _scorer(tiny_model, draft_tokenizer).tokenize(corpus_text(2500))
    a = _scorer(tiny_model, draft_tokenizer, block_tokens=len(tokens)).score([(tokens, QUERY)])[0]
    b = _scorer(tiny_model, draft_tokenizer, block_tokens=len(tokens) + 500).score([(tokens, QUERY)])[0]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_lookahead_changes_scores_and_zero_disables_it(tiny_model, draft_tokenizer) -> None:
    tokens = _scorer(tiny_model, draft_tokenizer).tokenize(corpus_text(1200))
    none = _scorer(tiny_model, draft_tokenizer, lookahead=0).score([(tokens, QUERY)])[0]
    some = _scorer(tiny_model, draft_tokenizer, lookahead=4).score([(tokens, QUERY)])[0]
    assert not np.allclose(none, some)


def test_blocks_respect_the_position_window(draft_tokenizer) -> None:
    model = tiny_draft(len(draft_tokenizer), layers=2, max_positions=256)
    scorer = _scorer(model, draft_tokenizer, block_tokens=4096, lookahead=2)
    tokens = scorer.tokenize(corpus_text(3000))
    size = scorer.block_size(draft_tokenizer("\n\nQuestion: " + QUERY + "\nAnswer:")["input_ids"])
    header = len(draft_tokenizer(HEADER)["input_ids"])
    assert size + header + 2 < 256
    (scores,) = scorer.score([(tokens, QUERY)])
    assert scores.shape == (len(tokens),)


def test_truncated_draft_uses_first_layers_and_no_lookahead(draft_tokenizer) -> None:
    model = tiny_draft(len(draft_tokenizer), layers=4, seed=5)
    truncate_layers(model, 2)
    assert len(model.get_decoder().layers) == 2
    assert model.config.num_hidden_layers == 2
    scorer = DraftAttentionScorer(model, draft_tokenizer, ScoringConfig(layers=2), name="tiny")
    assert scorer.lookahead == 0


def test_truncating_beyond_depth_is_a_config_error(draft_tokenizer) -> None:
    from contextsieve.errors import ConfigError

    model = tiny_draft(len(draft_tokenizer), layers=2)
    with pytest.raises(ConfigError, match="only 2 layers"):
        truncate_layers(model, 5)
