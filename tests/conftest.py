"""Offline fixtures: tokenizers trained in-process on real text and tiny random draft models."""

from __future__ import annotations

import pydoc_data.topics

import pytest


def corpus_text(limit: int = 200_000) -> str:
    """Real English prose from Python's own documentation (ships with CPython)."""
    topics = pydoc_data.topics.topics
    return "\n\n".join(topics[k] for k in sorted(topics))[:limit]


def train_tokenizer(kind: str = "bpe", vocab_size: int = 600):
    """Train a small fast tokenizer with character offsets on the Python docs."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    text = corpus_text()
    lines = text.splitlines()
    if kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
    else:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=["[UNK]", "[PAD]"])
    tok.train_from_iterator(lines, trainer)
    if kind == "bpe":
        return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


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
        return Compressor(scorer, pool_kernel=config.pool_kernel, chunking=chunking or ChunkingConfig())

    return build


@pytest.fixture(scope="session")
def real_compressor():
    """The real default draft, loaded once per test session and shared with the integrations."""
    from contextsieve.shared import shared_compressor

    return shared_compressor("smollm2-135m", device="cpu")
