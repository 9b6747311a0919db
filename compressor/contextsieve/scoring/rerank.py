"""A cross-encoder reranker for the sentence scorer: it reads the query and a unit together and scores the pair.

A bi-encoder embeds a question and a sentence apart, so it can only match their meanings; a cross-encoder attends
across both and sees which sentence answers. It costs a forward pass per (query, unit) pair, so the sentence scorer
runs it only over its best units (:func:`rerank`), twice when asked: once for the question, once for the question
joined with the best unit of the first pass (the bridge of a multi-hop question names what the second hop needs).

A reranker lives in a ``reranker/`` folder beside the sentence scorer's options: an encoder (a full Hugging Face
folder, or a weight delta over the sentence model's base package, :mod:`contextsieve.models.deltas`) and
``rerank_head.safetensors``, a linear layer over the encoder's pooled first token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from contextsieve.errors import ModelError
from contextsieve.scoring.padding import length_batches, pad_rows

__all__ = ["HEAD_FILE", "RERANKER_FOLDER", "CrossEncoder", "load_reranker", "rerank", "save_reranker"]

logger = logging.getLogger(__name__)

RERANKER_FOLDER = "reranker"
HEAD_FILE = "rerank_head.safetensors"
PADDED_TOKENS_PER_PAIR = 96
"""A batch of ``batch_size`` pairs pads to at most this many tokens per pair (long pairs go in smaller batches)."""


class CrossEncoder:
    """Scores (query, unit) pairs: a BERT-like encoder read as ``[CLS] query [SEP] unit [SEP]``, then a linear head."""

    def __init__(self, encoder: Any, head: torch.nn.Linear, tokenizer: Any, *, batch_size: int = 32) -> None:
        self.encoder = encoder
        self.head = head
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @classmethod
    def from_base(cls, encoder: Any, tokenizer: Any, *, seed: int = 0) -> CrossEncoder:
        """Start a reranker from a plain encoder, with a freshly initialised head (for training)."""
        generator = torch.Generator().manual_seed(seed)
        head = torch.nn.Linear(int(encoder.config.hidden_size), 1)
        with torch.no_grad():
            head.weight.normal_(0.0, 0.02, generator=generator)
            head.bias.zero_()
        return cls(encoder, head, tokenizer)

    @property
    def device(self) -> torch.device:
        """Where the encoder's weights are."""
        return next(self.encoder.parameters()).device  # type: ignore[no-any-return]

    def logits(self, queries: Sequence[str], units: Sequence[str], *, max_tokens: int = 160) -> torch.Tensor:
        """Return one logit per pair (with gradients when enabled); longer pairs lose their unit's end first."""
        return self._forward(self._encode(queries, units, max_tokens=max_tokens, padding=True, tensors="pt"))

    @torch.inference_mode()
    def score(self, queries: Sequence[str], units: Sequence[str], *, max_tokens: int = 160) -> npt.NDArray[np.float64]:
        """Return the logits of many pairs in input order, tokenized once and batched longest first.

        A batch holds at most ``batch_size`` pairs and ``batch_size × PADDED_TOKENS_PER_PAIR`` padded tokens.
        """
        if len(queries) != len(units):
            msg = f"{len(queries)} queries for {len(units)} units"
            raise ValueError(msg)
        out = np.zeros(len(units), dtype=np.float64)
        if not units:
            return out
        whole = self._encode(queries, units, max_tokens=max_tokens, padding=False, tensors=None)
        lengths = [len(ids) for ids in whole["input_ids"]]
        for batch in length_batches(lengths, self.batch_size, self.batch_size * PADDED_TOKENS_PER_PAIR):
            out[batch] = self._forward(pad_rows(self.tokenizer, whole, batch)).cpu().numpy()
        return out

    def _encode(
        self, queries: Sequence[str], units: Sequence[str], *, max_tokens: int, padding: bool, tensors: str | None
    ) -> Any:
        """Tokenize pairs as ``[CLS] query [SEP] unit [SEP]``, cut to ``max_tokens`` from the unit's end first."""
        return self.tokenizer(
            list(queries),
            list(units),
            padding=padding,
            truncation="longest_first",
            max_length=max_tokens,
            return_tensors=tensors,
        )

    def _forward(self, encoded: Any) -> torch.Tensor:
        """Run the encoder over tokenized pairs and the head over each pair's pooled first token."""
        pooled = self.encoder(**encoded.to(self.device)).pooler_output
        return self.head(pooled.to(self.head.weight.dtype)).squeeze(-1).float()  # type: ignore[no-any-return]

    def to(self, device: torch.device, dtype: torch.dtype) -> CrossEncoder:
        """Move the encoder and head; return self."""
        self.encoder.to(device=device, dtype=dtype).eval()
        self.head.to(device=device, dtype=dtype).eval()
        return self


def rerank(
    fused: npt.NDArray[np.float64],
    texts: Sequence[str],
    query: str,
    reranker: CrossEncoder,
    *,
    units: int,
    weight: float,
    hop: bool,
    max_tokens: int,
    lowers: bool = True,
) -> npt.NDArray[np.float64]:
    """Reorder the ``units`` best of ``fused`` by the reranker; every other unit stays below them.

    A candidate's rerank score is its logit for the query, or with ``hop`` the larger of that and its logit for the
    query joined with the first pass's best candidate. Candidates get ``weight`` times the standardised rerank score
    on top of their fused score; without ``lowers``, a negative standard score counts as zero.
    """
    order = np.argsort(-fused, kind="stable")
    chosen = order[: min(units, len(fused))]
    if len(chosen) < 2:
        return fused
    candidates = [texts[i] for i in chosen]
    first = reranker.score([query] * len(chosen), candidates, max_tokens=max_tokens)
    scores = first
    if hop:
        top = int(np.argmax(first))
        joined = f"{query} {candidates[top]}"
        second = reranker.score([joined] * len(chosen), candidates, max_tokens=max_tokens)
        second[top] = first[top]
        scores = np.maximum(first, second)
    spread = float(scores.std())
    standard = (scores - scores.mean()) / (spread if spread > 1e-9 else 1.0)
    lifted = fused[chosen] + weight * (standard if lowers else np.maximum(standard, 0.0))
    out: npt.NDArray[np.float64] = fused.copy()
    out[chosen] = lifted
    rest = order[len(chosen) :]
    if len(rest):
        gap = float(fused[rest].max() - lifted.min())
        out[rest] = fused[rest] - max(0.0, gap) - 1.0
    return out


def save_reranker(
    reranker: CrossEncoder, folder: str | Path, *, base: Any | None = None, base_name: str | None = None
) -> Path:
    """Write ``reranker`` into ``folder``/``reranker``: a weight delta over ``base`` if given, else a full folder."""
    from safetensors.torch import save_file

    from contextsieve.models.deltas import save_delta

    path = Path(folder) / RERANKER_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    if base is not None:
        if base_name is None:
            msg = "a reranker saved as a delta needs base_name (the base's package pin)"
            raise ValueError(msg)
        save_delta(reranker.encoder, base, path, base_name=base_name)
    else:
        reranker.encoder.save_pretrained(str(path))
        reranker.tokenizer.save_pretrained(str(path))
    state = {key: value.detach().float().cpu().contiguous() for key, value in reranker.head.state_dict().items()}
    save_file(state, str(path / HEAD_FILE))
    (path / HEAD_FILE).chmod(0o644)
    return path


def load_reranker(
    folder: Path, tokenizer: Any, *, device: torch.device, dtype: torch.dtype, batch_size: int
) -> CrossEncoder | None:
    """Load the reranker saved in ``folder``/``reranker`` (``None`` when there is none); ModelError if unreadable.

    A delta reads pairs with ``tokenizer`` (the sentence model's); a full folder with the tokenizer saved in it.
    """
    from safetensors.torch import load_file
    from transformers import AutoModel

    from contextsieve.models.deltas import apply_delta, delta_base, is_delta_folder

    path = folder / RERANKER_FOLDER
    if not (path / HEAD_FILE).is_file():
        return None
    try:
        if is_delta_folder(path):
            from contextsieve.models.sentences import sentence_base, sentence_folder

            pin = delta_base(path)
            encoder = AutoModel.from_pretrained(str(sentence_folder(sentence_base(pin))), dtype=torch.float32)
            apply_delta(encoder, path, base_name=pin)
        else:
            encoder = AutoModel.from_pretrained(str(path), dtype=torch.float32)
            if (path / "tokenizer_config.json").is_file():  # a full folder carries its own vocabulary
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(str(path))
        state = load_file(str(path / HEAD_FILE))
        head = torch.nn.Linear(int(encoder.config.hidden_size), 1)
        head.load_state_dict(state)
    except (OSError, ValueError, RuntimeError) as exc:
        msg = f"could not load the reranker at {path}: {exc}"
        raise ModelError(msg) from exc
    logger.info("Loaded the reranker at %s on %s", path, device)
    return CrossEncoder(encoder, head, tokenizer, batch_size=batch_size).to(device, dtype)
