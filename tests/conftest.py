"""Offline fixtures: tokenizers trained in-process on real text and tiny random draft models."""

from __future__ import annotations

import pytest

from contextsieve.testing import corpus_text, train_tokenizer

__all__ = ["corpus_text", "tiny_llama", "train_tokenizer"]


@pytest.fixture(scope="session")
def draft_tokenizer():
    return train_tokenizer("bpe", 600)


@pytest.fixture(scope="session")
def foreign_tokenizer():
    """A WordPiece tokenizer: a 'target' that shares nothing with the draft's byte-level BPE."""
    return train_tokenizer("wordpiece", 400)


def tiny_llama(vocab_size: int, *, layers: int = 3, seed: int = 0, max_positions: int = 4096):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from contextsieve.scoring.capture import register_capture_attention

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        eos_token_id=0,
        pad_token_id=0,
        bos_token_id=0,
    )
    model = LlamaForCausalLM(config).eval()
    model.set_attn_implementation(register_capture_attention())
    return model


@pytest.fixture(scope="session")
def tiny_model(draft_tokenizer):
    return tiny_llama(len(draft_tokenizer))


@pytest.fixture
def make_compressor(draft_tokenizer, tiny_model):
    from contextsieve import ChunkingConfig, Compressor, ScoringConfig
    from contextsieve.scoring.draft import DraftAttentionScorer

    def build(**options):
        chunking = options.pop("chunking", None)
        config = ScoringConfig(**options)
        scorer = DraftAttentionScorer(tiny_model, draft_tokenizer, config, name="tiny")
        return Compressor(scorer, chunking=chunking or ChunkingConfig())

    return build


@pytest.fixture(scope="session")
def real_compressor():
    """The real default draft, loaded once per test session and shared with the integrations."""
    from contextsieve.shared import shared_compressor

    return shared_compressor("smollm2-135m", device="cpu")
