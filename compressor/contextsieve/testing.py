"""Offline test doubles for code built on contextsieve: a lexical scorer, real prose, a tokenizer trained in-process.

Nothing here downloads anything: the prose is Python's own documentation (``pydoc_data``, shipped with CPython) and
the tokenizer is trained on it in a second. ``KeywordScorer`` implements :class:`~contextsieve.scoring.TokenScorer`,
so ``Compressor(KeywordScorer(tokenizer))`` runs the whole pipeline (chunking, budgets, selection, rendering)
without a model, deterministically.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from contextsieve.tokens import TokenizedText, tokenize_with_offsets

__all__ = ["GatedScorer", "KeywordScorer", "corpus_text", "tiny_draft", "tiny_encoder", "train_tokenizer"]


class KeywordScorer:
    """Scores a token 1.0 when its word (longer than 3 letters) appears in the query, 0.01 otherwise.

    Token scores are not pooled unless ``pool_kernel`` says so. ``calls`` counts the scoring passes, so a test
    can tell whether a cache was used.
    """

    calibrated = False

    def __init__(self, tokenizer: Any, *, pool_kernel: int = 1) -> None:
        from contextsieve.config import ScoringConfig

        self._tokenizer = tokenizer
        self.config = ScoringConfig(pool_kernel=pool_kernel)
        self.calls = 0

    @property
    def name(self) -> str:
        """Always ``"keywords"``."""
        return "keywords"

    @property
    def tokenizer(self) -> Any:
        """The tokenizer the scorer was built with."""
        return self._tokenizer

    def tokenize(self, text: str) -> TokenizedText:
        """Tokenize a context with character offsets."""
        return tokenize_with_offsets(self._tokenizer, text)

    def score(
        self, requests: Sequence[tuple[TokenizedText, str]], *, progress: bool = False
    ) -> list[npt.NDArray[np.float32]]:
        """Score every token of every ``(context, query)`` request by query-word overlap."""
        self.calls += 1
        out = []
        for tokens, query in requests:
            words = {w.lower() for w in re.findall(r"\w+", query) if len(w) > 3}
            scores = np.full(len(tokens), 0.01, dtype=np.float32)
            for match in re.finditer(r"\w+", tokens.text):
                if match.group().lower() in words:
                    inside = (tokens.offsets[:, 0] < match.end()) & (tokens.offsets[:, 1] > match.start())
                    scores[inside] = 1.0
            out.append(scores)
        return out


class GatedScorer(KeywordScorer):
    """A :class:`KeywordScorer` that waits for ``gate`` before every pass and records each pass's size.

    Clear ``gate`` to hold the scorer (requests queue up behind it), set it to let them through: a test of
    batching, queue bounds or cancellation can then see how calls were grouped (``passes``). ``entered`` is set
    once a pass has started waiting, so a test can know the worker holds a request before it sends more.
    """

    def __init__(self, tokenizer: Any, *, pool_kernel: int = 1, timeout: float = 30.0) -> None:
        super().__init__(tokenizer, pool_kernel=pool_kernel)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.passes: list[int] = []
        self._timeout = timeout

    def score(
        self, requests: Sequence[tuple[TokenizedText, str]], *, progress: bool = False
    ) -> list[npt.NDArray[np.float32]]:
        """Wait for the gate (at most ``timeout`` seconds), note the pass size, then score as the keyword scorer."""
        self.entered.set()
        self.gate.wait(timeout=self._timeout)
        self.passes.append(len(requests))
        return super().score(requests, progress=progress)


def corpus_text(limit: int = 200_000) -> str:
    """Real English prose from Python's own documentation (ships with CPython), cut to ``limit`` characters."""
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    return "\n\n".join(topics[k] for k in sorted(topics))[:limit]


def train_tokenizer(kind: Literal["bpe", "wordpiece"] = "bpe", vocab_size: int = 600, *, encoder: bool = False) -> Any:
    """Train a small fast tokenizer with character offsets on :func:`corpus_text` (byte-level BPE or WordPiece).

    ``encoder=True`` (WordPiece only) adds ``[CLS]`` and ``[SEP]``, as a BERT-style encoder's tokenizer has.
    """
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    lines = corpus_text().splitlines()
    tok = Tokenizer(models.BPE()) if kind == "bpe" else Tokenizer(models.WordPiece(unk_token="[UNK]"))
    trainer: Any
    if kind == "bpe":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
    else:
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        specials = ["[UNK]", "[PAD]", *(["[CLS]", "[SEP]"] if encoder else [])]
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    tok.train_from_iterator(lines, trainer)
    fast: Any = transformers.PreTrainedTokenizerFast  # untyped in transformers
    if kind == "bpe":
        return fast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    if encoder:
        return fast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]")
    return fast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


def tiny_draft(vocab_size: int, *, layers: int = 3, seed: int = 0, max_positions: int = 4096) -> Any:
    """Build a randomly initialised tiny Llama (hidden 64, 4 heads) with the capturing attention, for offline tests."""
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
    model: Any = LlamaForCausalLM(config)
    model.eval()
    model.set_attn_implementation(register_capture_attention())
    return model


def tiny_encoder(vocab_size: int, *, layers: int = 2, seed: int = 0, max_positions: int = 128) -> Any:
    """Build a random BERT token classifier with one label (a stand-in for a fine-tuned encoder scorer)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(seed)
    options: dict[str, Any] = {"num_labels": 1}  # a PretrainedConfig keyword, untyped in BertConfig
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        **options,
    )
    model: Any = BertForTokenClassification(config)
    return model.eval()
