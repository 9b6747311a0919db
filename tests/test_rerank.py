"""The sentence scorer's cross-encoder reranker: reordering, the second pass, training, saving and loading."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch

from contextsieve import Compressor
from contextsieve.config import ScoringConfig
from contextsieve.errors import ModelError
from contextsieve.scoring.rerank import CrossEncoder, load_reranker, rerank, save_reranker
from contextsieve.scoring.sentences import SentenceConfig, SentenceScorer, save_sentences
from contextsieve.training import RankingExample, RerankerTrainConfig, train_reranker


class PhraseReranker(CrossEncoder):
    """Scores a pair by how many of a fixed list of (query phrase, unit phrase) links it holds."""

    def __init__(self, links: Sequence[tuple[str, str]]) -> None:
        self.links = links
        self.seen: list[tuple[str, str]] = []

    def score(self, queries: Sequence[str], units: Sequence[str], *, max_tokens: int = 160) -> npt.NDArray[np.float64]:
        self.seen += list(zip(queries, units, strict=True))
        return np.array([sum(a in q and b in u for a, b in self.links) for q, u in zip(queries, units, strict=True)])


TEXTS = ["alpha one", "beta two", "gamma three", "delta four", "epsilon five", "zeta six"]
FUSED = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])


def test_only_the_best_units_are_reordered_and_every_other_unit_stays_below_them_in_its_order() -> None:
    judge = PhraseReranker([("which", "gamma")])
    out = rerank(FUSED, TEXTS, "which one", judge, units=3, weight=10.0, hop=False, max_tokens=64)
    assert [q for q, _ in judge.seen] == ["which one"] * 3
    assert [u for _, u in judge.seen] == TEXTS[:3]  # only the three best were read
    assert list(np.argsort(-out, kind="stable")) == [2, 0, 1, 3, 4, 5]
    assert [out[3] - out[4], out[4] - out[5]] == pytest.approx([1.0, 1.0])  # the rest keep their gaps
    assert min(out[:3]) - out[3] == pytest.approx(1.0)  # and sit one below the least candidate


def test_a_reranker_that_only_lifts_leaves_the_units_it_dislikes_at_their_fused_score() -> None:
    # the reranker likes "gamma three" and the other four candidates equally little: standard scores 2 and -0.5
    judge = PhraseReranker([("which", "gamma")])
    both = rerank(FUSED, TEXTS, "which one", judge, units=5, weight=2.0, hop=False, max_tokens=64)
    lifts = rerank(FUSED, TEXTS, "which one", judge, units=5, weight=2.0, hop=False, max_tokens=64, lowers=False)
    assert both[[0, 1, 3, 4]] == pytest.approx(FUSED[[0, 1, 3, 4]] - 1.0)  # lowered by 2 x 0.5
    assert lifts[[0, 1, 3, 4]] == pytest.approx(FUSED[[0, 1, 3, 4]])  # kept as they were
    assert lifts[2] == pytest.approx(both[2]) == pytest.approx(FUSED[2] + 4.0)  # the liked unit lifted alike
    assert lifts[5] < lifts[4]  # the unit outside the candidates still sits below them


def test_the_second_pass_reads_the_query_joined_with_the_first_pass_best() -> None:
    # "delta four" answers only once "gamma three" (the first pass's best) has joined the query
    judge = PhraseReranker([("which", "gamma"), ("three", "delta")])
    single = rerank(FUSED, TEXTS, "which one", judge, units=4, weight=10.0, hop=False, max_tokens=64)
    judge.seen.clear()
    joined = rerank(FUSED, TEXTS, "which one", judge, units=4, weight=10.0, hop=True, max_tokens=64)
    assert [q for q, _ in judge.seen[4:]] == ["which one gamma three"] * 4
    assert list(np.argsort(-single, kind="stable"))[:2] == [2, 0]
    assert sorted(np.argsort(-joined, kind="stable")[:2]) == [2, 3]


def test_fewer_than_two_candidates_leave_the_scores_as_they_are() -> None:
    judge = PhraseReranker([("which", "alpha")])
    assert rerank(FUSED[:1], TEXTS[:1], "which", judge, units=8, weight=5.0, hop=True, max_tokens=64).tolist() == [6.0]
    assert rerank(FUSED, TEXTS, "which", judge, units=1, weight=5.0, hop=True, max_tokens=64).tolist() == FUSED.tolist()
    assert judge.seen == []


def fresh_reranker(tokenizer: Any, bert: Any) -> CrossEncoder:
    """The fixture's tiny BERT with a pooler (seeded), as a cross-encoder with a fresh head."""
    from transformers import BertModel

    torch.manual_seed(0)
    encoder = BertModel(bert.config)
    encoder.load_state_dict(bert.state_dict(), strict=False)
    return CrossEncoder.from_base(encoder.eval(), tokenizer, seed=0)


EXAMPLES = [
    RankingExample("Which statement raises exceptions?", "The raise statement raises an exception.", negatives)
    for negatives in [
        (
            "A for loop iterates over a sequence.",
            "The import statement loads modules.",
            "Comments start with a hash sign.",
        )
    ]
] * 6


def test_a_few_listwise_steps_raise_the_evidence_above_its_negatives(tokenizer: Any, bert: Any) -> None:
    reranker = fresh_reranker(tokenizer, bert)
    example = EXAMPLES[0]
    units = [example.positive, *example.negatives]

    def margin() -> float:
        logits = reranker.score([example.query] * len(units), units)
        return float(logits[0] - logits[1:].max())

    before = margin()
    config = RerankerTrainConfig(epochs=3, lr=1e-3, batch_size=2, negatives=3, warmup=0.0, freeze_word_embeddings=False)
    losses = train_reranker(reranker, EXAMPLES, config)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert margin() > max(before, 0.0)
    with pytest.raises(ValueError, match="at least one example with a negative"):
        train_reranker(reranker, [RankingExample("q", "p")], config)


def test_batched_scores_equal_one_pair_at_a_time(tokenizer: Any, bert: Any) -> None:
    reranker = fresh_reranker(tokenizer, bert)
    reranker.batch_size = 2
    queries = ["Which statement raises exceptions?", "What is a loop?", "Which?"]
    units = ["The raise statement raises an exception.", "A for loop iterates.", "A very much longer unit " * 8]
    batched = reranker.score(queries, units)
    single = [reranker.score([q], [u])[0] for q, u in zip(queries, units, strict=True)]
    assert batched.tolist() == pytest.approx(single, abs=1e-5)
    with pytest.raises(ValueError, match="2 queries for 1 units"):
        reranker.score(queries[:2], units[:1])


def test_long_pairs_get_small_batches_and_the_scores_do_not_depend_on_it(tokenizer: Any, bert: Any) -> None:
    reranker = fresh_reranker(tokenizer, bert)
    reranker.batch_size = 4  # at most 4 pairs and 4 x 96 padded tokens per batch
    shapes: list[tuple[int, int]] = []
    reranker.encoder.register_forward_hook(
        lambda _m, _a, kwargs, _o: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    queries = ["Which statement raises exceptions?"] * 6
    units = ["word " * 300, "word " * 300, "A short unit.", "Another one.", "A third short unit here.", "Fine."]
    scores = reranker.score(queries, units, max_tokens=160)
    assert [rows for rows, _ in shapes] == [2, 4]  # two pairs cut to 160 tokens, then the four short ones
    assert shapes[0][1] == 160
    single = [reranker.score([q], [u], max_tokens=160)[0] for q, u in zip(queries, units, strict=True)]
    assert scores.tolist() == pytest.approx(single, abs=1e-5)
    assert reranker.score([], []).shape == (0,)


def test_a_saved_reranker_loads_beside_its_sentence_model_and_reorders_its_units(
    tmp_path: Path, tokenizer: Any, bert: Any
) -> None:
    reranker = fresh_reranker(tokenizer, bert)
    train_reranker(reranker, EXAMPLES, RerankerTrainConfig(epochs=2, lr=1e-3, batch_size=2, warmup=0.0))
    options = SentenceConfig(rerank_units=4, rerank_weight=3.0, rerank_hop=False)
    save_sentences(reranker.encoder, tokenizer, tmp_path, options)
    save_reranker(reranker, tmp_path)
    loaded = load_reranker(tmp_path, tokenizer, device=torch.device("cpu"), dtype=torch.float32, batch_size=8)
    assert loaded is not None
    pair = (["Which statement raises exceptions?"] * 2, ["The raise statement.", "A loop."])
    assert loaded.score(*pair).tolist() == pytest.approx(reranker.score(*pair).tolist(), abs=1e-5)

    compressor = Compressor.from_pretrained(str(tmp_path), device="cpu")
    scorer = compressor.scorer
    assert isinstance(scorer, SentenceScorer) and scorer.sentence_config.rerank_units == 4
    context = "\n".join(["The raise statement raises an exception.", *EXAMPLES[0].negatives] * 2)
    plain = SentenceScorer(
        scorer.model, tokenizer, scorer.config, options.model_copy(update={"rerank_units": 0}), name="plain"
    )
    tokens = scorer.tokenize(context)
    reranked = scorer.score([(tokens, EXAMPLES[0].query)])[0]
    assert not np.allclose(reranked, plain.score([(tokens, EXAMPLES[0].query)])[0])


def test_asking_for_reranking_without_a_reranker_is_a_model_error(tmp_path: Path, tokenizer: Any, bert: Any) -> None:
    save_sentences(bert, tokenizer, tmp_path, SentenceConfig(rerank_units=8))
    with pytest.raises(ModelError, match="asks for rerank_units=8 but has no reranker"):
        Compressor.from_pretrained(str(tmp_path), device="cpu")
    with pytest.raises(ModelError, match="has no reranker"):
        SentenceScorer(bert, tokenizer, ScoringConfig(), SentenceConfig(rerank_units=2), name="bare")
