"""The reranker recipe's examples from generated tasks: gold units against the first stage's best other units."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from contextsieve.scoring.sentences import RankedUnit
from contextsieve_eval.recipe.reranker import generated_examples
from contextsieve_eval.recipe.sentences import chain_examples
from contextsieve_eval.samples import Sample

SENTENCES = [
    "Ada's key is at the mill.",
    "The mill is guarded by Rex.",
    "Rain fell.",
    "The key of Bo is at the pier.",
    "Cats nap.",
]
CHAIN = " ".join(SENTENCES)


class FixedRanking:
    """A first stage that ranks the context's sentences in a fixed order."""

    def __init__(self, order: Sequence[int]) -> None:
        self.order = order

    def first_stage(self, text: str, query: str) -> list[RankedUnit]:
        spans = [(text.index(s), text.index(s) + len(s)) for s in SENTENCES]
        return [RankedUnit(*spans[i], f"title\n{SENTENCES[i]}", float(-rank)) for rank, i in enumerate(self.order)]


def sample(task: str, gold: Sequence[str]) -> Sample:
    spans = tuple((CHAIN.index(g), CHAIN.index(g) + len(g)) for g in gold)
    question = "Which dog guards the place of Ada's key?"
    return Sample(task, f"{task}-0", CHAIN, question, tuple(gold), spans, "Rex", hard=False, length=32)


@pytest.mark.parametrize("task", ["multihop", "multihop-gap"])
def test_each_gold_unit_is_ranked_against_the_best_other_units_and_chains_add_second_hops(task: str) -> None:
    chain = sample(task, SENTENCES[:2])
    examples = generated_examples(FixedRanking([3, 0, 4, 1, 2]), [chain], candidates=3, seed=0)
    first, second = "title\nAda's key is at the mill.", "title\nThe mill is guarded by Rex."
    negatives = ("title\nThe key of Bo is at the pier.", "title\nCats nap.")  # the 3 best, less the gold
    assert [(e.query, e.positive, e.negatives) for e in examples] == [
        (chain.question, first, negatives),
        (f"{chain.question} {second}", first, negatives),
        (chain.question, second, negatives),
        (f"{chain.question} {first}", second, negatives),
    ]


def test_a_single_needle_has_no_second_hop_and_a_sample_without_negatives_gives_nothing() -> None:
    needle = sample("needle", SENTENCES[1:2])
    (example,) = generated_examples(FixedRanking([1, 2, 0, 3, 4]), [needle], candidates=2, seed=0)
    assert (example.positive, example.negatives) == ("title\nThe mill is guarded by Rex.", ("title\nRain fell.",))
    assert generated_examples(FixedRanking([1, 2, 0, 3, 4]), [needle], candidates=1, seed=0) == []


def test_a_chain_ranks_each_fact_for_the_question_and_for_the_question_joined_with_another_fact() -> None:
    examples = chain_examples([sample("multihop", SENTENCES[:2])], negatives=8, seed=0)
    question = "Which dog guards the place of Ada's key?"
    pairs = [(e.query, e.positive) for e in examples]
    assert pairs == [
        (question, SENTENCES[0]),
        (f"{question} {SENTENCES[1]}", SENTENCES[0]),
        (question, SENTENCES[1]),
        (f"{question} {SENTENCES[0]}", SENTENCES[1]),
    ]
    assert all(sorted(e.negatives) == sorted(SENTENCES[2:]) for e in examples)  # every other sentence, no fact


def test_a_chain_whose_context_holds_only_its_facts_gives_no_examples() -> None:
    whole = sample("multihop", SENTENCES)
    assert chain_examples([whole]) == []


def test_a_further_fine_tune_starts_from_a_shipped_model_by_name_or_from_its_saved_folder(tmp_path) -> None:
    import torch

    from contextsieve.models import model_status
    from contextsieve.scoring.sentences import save_sentences
    from contextsieve_eval.recipe.sentences import init_model

    if not {s.name: s for s in model_status()}["minilm-l6-sieve"].installed:
        pytest.skip("the minilm-l6 package is not installed")
    model, tokenizer = init_model("minilm-l6-sieve")
    save_sentences(model, tokenizer, tmp_path)
    again, _ = init_model(str(tmp_path))
    weights, saved = model.state_dict(), again.state_dict()
    assert weights.keys() == saved.keys() and all(torch.equal(weights[k], saved[k]) for k in weights)
    assert all(p.requires_grad for p in model.parameters())  # trainable, not frozen for inference
    assert (
        init_model("minilm-l6")[0]
        .state_dict()["encoder.layer.0.attention.self.query.weight"]
        .sub(weights["encoder.layer.0.attention.self.query.weight"])
        .abs()
        .max()
        > 1e-3
    )  # the name loads the fine-tuned delta, not the base


def test_writing_a_delta_into_a_shipped_folder_keeps_its_fusion_options(tmp_path) -> None:
    import shutil

    import torch
    from safetensors import safe_open

    from contextsieve.models import model_status
    from contextsieve.models.deltas import DELTA_FILE
    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve.scoring.sentences import SENTENCE_CONFIG_FILE, SentenceConfig
    from contextsieve_eval.recipe.sentences import init_model, write_delta

    if not {s.name: s for s in model_status()}["minilm-l6-sieve"].installed:
        pytest.skip("the minilm-l6 package is not installed")
    shipped = SENTENCE_MODELS["minilm-l6-sieve"].delta_folder
    assert shipped is not None
    model, _ = init_model("minilm-l6-sieve")
    kept, fresh = tmp_path / "kept", tmp_path / "fresh"
    shutil.copytree(shipped, kept, ignore=shutil.ignore_patterns(DELTA_FILE, "reranker"))
    write_delta(model, kept)
    write_delta(model, fresh)
    options = (shipped / SENTENCE_CONFIG_FILE).read_text(encoding="utf-8")
    assert (kept / SENTENCE_CONFIG_FILE).read_text(encoding="utf-8") == options
    assert SentenceConfig.model_validate_json((fresh / SENTENCE_CONFIG_FILE).read_text(encoding="utf-8")) == (
        SentenceConfig()
    )
    assert SentenceConfig.model_validate_json(options) != SentenceConfig()  # the shipped options are not defaults
    with safe_open(str(kept / DELTA_FILE), "pt") as a, safe_open(str(fresh / DELTA_FILE), "pt") as b:
        assert a.metadata() == b.metadata() and sorted(a.keys()) == sorted(b.keys())
        assert all(torch.equal(a.get_tensor(k), b.get_tensor(k)) for k in a.keys())  # noqa: SIM118
