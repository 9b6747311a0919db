"""Sliding-window layers (Gemma 3, Mistral-style): the capture places each layer's attention on absolute keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from contextsieve import Compressor, ScoringConfig
from contextsieve.scoring.blocks import HEADER, Block, encode, plan_blocks, query_suffix_ids
from contextsieve.scoring.capture import register_capture_attention
from contextsieve.scoring.draft import DraftAttentionScorer
from contextsieve.testing import corpus_text
from contextsieve.tokens import tokenize_with_offsets

WINDOW = 16


def tiny_sliding(family: str, vocab_size: int, *, seed: int = 0):
    """A tiny random draft whose first layers attend over a 16-token window (Gemma 3 mixes in a global layer)."""
    torch.manual_seed(seed)
    if family == "gemma3":
        model = tiny_gemma3(vocab_size)
    else:
        from transformers import AutoModelForCausalLM, MistralConfig, Qwen2Config

        common = {
            "vocab_size": vocab_size,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "pad_token_id": 0,
            "eos_token_id": vocab_size - 1,
            "bos_token_id": 1,
        }
        config = (
            MistralConfig(sliding_window=WINDOW, **common)
            if family == "mistral"
            else Qwen2Config(use_sliding_window=True, sliding_window=WINDOW, max_window_layers=1, **common)
        )
        model = AutoModelForCausalLM.from_config(config).eval()
    model.set_attn_implementation(register_capture_attention())
    return model


def tiny_gemma3(vocab_size: int):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=WINDOW,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=4096,
        pad_token_id=0,
        eos_token_id=vocab_size - 1,
        bos_token_id=1,
    )
    return Gemma3ForCausalLM(config).eval()


def _blocks(tokenizer, text: str, query: str) -> list[Block]:
    tokens = tokenize_with_offsets(tokenizer, text)
    header = encode(tokenizer, HEADER, special=True)
    return plan_blocks(0, tokens, query_suffix_ids(tokenizer, query), header, 10_000)


def _eager_scores(model, block: Block, rows: int, lookahead: int, eos: set[int]) -> np.ndarray:
    """Reference: eager attention on the whole sequence (no cache), max over layers and heads, absolute keys."""
    model.set_attn_implementation("eager")
    try:
        ids = list(block.ids)
        keys = len(ids)
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), output_attentions=True)
        total = torch.stack(out.attentions)[:, 0, :, -rows:, :].amax(dim=(0, 1)).sum(dim=0).double()
        count = rows
        token = int(out.logits[0, -1].argmax())
        for _ in range(lookahead):
            if token in eos:
                break
            ids.append(token)
            with torch.no_grad():
                out = model(input_ids=torch.tensor([ids]), output_attentions=True)
            total = total + torch.stack(out.attentions)[:, 0, :, -1, :keys].amax(dim=(0, 1)).double()
            count += 1
            token = int(out.logits[0, -1].argmax())
    finally:
        model.set_attn_implementation(register_capture_attention())
    first = block.context_offset
    return (total[first : first + block.context_len] / count).numpy()


@pytest.mark.parametrize("family", ["gemma3", "mistral", "qwen2"])
@pytest.mark.parametrize("lookahead", [0, 4])
def test_capture_equals_eager_attention_on_absolute_positions(draft_tokenizer, family: str, lookahead: int) -> None:
    model = tiny_sliding(family, len(draft_tokenizer), seed=lookahead)
    types = getattr(model.config, "layer_types", None)
    assert model.config.sliding_window == WINDOW and (types is None or "sliding_attention" in types)
    text = corpus_text(600)
    (block,) = _blocks(draft_tokenizer, text, "What does the statement do?")
    assert block.context_len > 4 * WINDOW
    scorer = DraftAttentionScorer(
        model, draft_tokenizer, ScoringConfig(lookahead=lookahead, sliding_layers="window"), name="tiny"
    )
    (scores,) = scorer.score_batch([block])
    reference = _eager_scores(model, block, rows=16, lookahead=lookahead, eos={len(draft_tokenizer) - 1})
    np.testing.assert_allclose(scores, reference, atol=1e-5, rtol=0)
    assert scores.shape == (block.context_len,)
    if family == "gemma3":  # its global layer still gives the tokens every window has left behind attention
        assert float(scores[:WINDOW].min()) > 0.0


@pytest.mark.parametrize("family", ["gemma3", "mistral"])
def test_a_sliding_window_draft_compresses_long_text_within_budget(draft_tokenizer, family: str) -> None:
    model = tiny_sliding(family, len(draft_tokenizer), seed=7)
    scorer = DraftAttentionScorer(model, draft_tokenizer, ScoringConfig(block_tokens=128), name="tiny-gemma3")
    text = corpus_text(6_000)
    result = Compressor(scorer).compress(text, "How are exceptions handled?", rate=0.25)
    assert 0 < result.compressed_tokens <= int(0.25 * result.original_tokens)
    assert result.text == "\n...\n".join(text[a:b] for a, b in result.spans)


def test_a_model_that_cannot_score_is_a_model_error_naming_it(draft_tokenizer, monkeypatch) -> None:
    from contextsieve.errors import ModelError

    model = tiny_sliding("mistral", len(draft_tokenizer))
    scorer = DraftAttentionScorer(model, draft_tokenizer, ScoringConfig(), name="broken-draft")

    def fail(*args, **kwargs):
        raise RuntimeError("The size of tensor a (512) must match the size of tensor b (1052)")

    monkeypatch.setattr(model, "forward", fail)
    with pytest.raises(ModelError, match=r"'broken-draft' could not score 1 block\(s\): The size of tensor a"):
        Compressor(scorer).compress(corpus_text(2_000), "What is it?", rate=0.5)


def test_skip_reads_only_the_global_layers_and_falls_back_without_one(draft_tokenizer) -> None:
    text = corpus_text(600)
    (block,) = _blocks(draft_tokenizer, text, "What does the statement do?")
    gemma = tiny_sliding("gemma3", len(draft_tokenizer), seed=2)
    windowed_config = ScoringConfig(lookahead=0, sliding_layers="window")
    window = DraftAttentionScorer(gemma, draft_tokenizer, windowed_config, name="g").score_batch([block])
    skip = DraftAttentionScorer(gemma, draft_tokenizer, ScoringConfig(lookahead=0, sliding_layers="skip"), name="g")
    (global_only,) = skip.score_batch([block])
    gemma.set_attn_implementation("eager")
    with torch.no_grad():
        out = gemma(input_ids=torch.tensor([block.ids]), output_attentions=True)
    gemma.set_attn_implementation(register_capture_attention())
    (full,) = [i for i, kind in enumerate(gemma.config.layer_types) if kind == "full_attention"]
    reference = out.attentions[full][0, :, -16:, :].amax(dim=0).mean(dim=0).double().numpy()
    first = block.context_offset
    np.testing.assert_allclose(global_only, reference[first : first + block.context_len], atol=1e-5, rtol=0)
    assert not np.allclose(global_only, window[0])
    mistral = tiny_sliding("mistral", len(draft_tokenizer), seed=2)
    config = ScoringConfig(lookahead=0, sliding_layers="skip")
    (fallback,) = DraftAttentionScorer(mistral, draft_tokenizer, config, name="m").score_batch([block])
    (windowed,) = DraftAttentionScorer(mistral, draft_tokenizer, windowed_config, name="m").score_batch([block])
    np.testing.assert_allclose(fallback, windowed, atol=1e-7, rtol=0)
