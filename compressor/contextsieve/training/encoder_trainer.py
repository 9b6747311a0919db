"""Fine-tune a query-aware encoder token classifier (the LLMLingua-2 recipe) on labelled texts.

Every item is cut into the windows the scorer reads (``[CLS] query [SEP] window [SEP]``); a context token is
labelled 1 when its characters overlap a gold span. The loss is binary cross-entropy on context tokens only, plus
(with ``rank_weight``) a listwise loss per window that ranks its gold units above its others, a unit being what the
compressor selects (sentences packed up to ``chunk_tokens``): per-token labels teach what evidence looks like, the
ranking teaches which unit answers *this* question.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from contextsieve.aggregation.chunking import chunk_tokens, whole_sentences
from contextsieve.config import ChunkingConfig
from contextsieve.scoring.encoder import EncoderConfig, keep_layers
from contextsieve.scoring.windows import context_offset, window_inputs
from contextsieve.tokens import tokenize_with_offsets
from contextsieve.training.features import Labelled

__all__ = [
    "EncoderTrainConfig",
    "LabelledWindow",
    "encoder_windows",
    "keep_layers",
    "load_base_encoder",
    "train_encoder",
    "unit_rank_loss",
    "window_unit_means",
]

logger = logging.getLogger(__name__)


class EncoderTrainConfig(BaseModel):
    """Optimisation options of :func:`train_encoder`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(default=2, ge=1)
    lr: float = Field(default=5e-5, gt=0)
    """Peak learning rate of the encoder (the classifier gets 20 times this)."""
    batch_size: int = Field(default=8, ge=1)
    weight_decay: float = Field(default=0.01, ge=0)
    positive_weight: float = Field(default=1.0, gt=0)
    """Weight of gold tokens in the loss (above 1 when gold tokens are rare)."""
    rank_weight: float = Field(default=0.0, ge=0)
    """Weight of the listwise unit loss (:func:`unit_rank_loss`); 0 trains on token labels alone."""
    seed: int = 0


@dataclass(frozen=True)
class LabelledWindow:
    """One training window: its input, segment ids, per-token labels (-1 where no loss applies) and units.

    ``units`` numbers each context token's unit (the compressor's chunk) within the window, from 0 in order, and is
    -1 off the context.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    labels: list[float]
    units: list[int]


def encoder_windows(items: Sequence[Labelled], tokenizer: object, encoder: EncoderConfig) -> list[LabelledWindow]:
    """Cut labelled items into the windows the scorer reads, with a label and a unit per context token.

    Units are the chunks the compressor selects with the default :class:`ChunkingConfig` (:func:`whole_sentences`).
    """
    cls_id = int(getattr(tokenizer, "cls_token_id"))  # noqa: B009 - a tokenizer is duck-typed here
    sep_id = int(getattr(tokenizer, "sep_token_id"))  # noqa: B009
    out = []
    for index, item in enumerate(items):
        tokens = tokenize_with_offsets(tokenizer, item.context)
        query = tokenizer(item.question, add_special_tokens=False, verbose=False)["input_ids"]  # type: ignore[operator]
        query = [int(t) for t in query[: encoder.max_query_tokens]]
        gold = [False] * len(tokens)
        for k, (start, end) in enumerate(tokens.offsets.tolist()):
            gold[k] = end > start and any(start < b and a < end for a, b in item.gold_spans)
        unit_of = [0] * len(tokens)
        for number, chunk in enumerate(whole_sentences(chunk_tokens(tokens, ChunkingConfig()))):
            unit_of[chunk.first : chunk.last] = [number] * chunk.tokens
        for window in encoder.plan(index, len(tokens), len(query)):
            ids, types = window_inputs(window, tokens.ids, query, cls_id, sep_id)
            labels = [-1.0] * len(ids)
            units = [-1] * len(ids)
            offset = context_offset(query)
            first = unit_of[window.start] if window.end > window.start else 0
            for k in range(window.start, window.end):
                labels[offset + k - window.start] = float(gold[k])
                units[offset + k - window.start] = unit_of[k] - first
            out.append(LabelledWindow(ids, types, labels, units))
    return out


def load_base_encoder(
    path: str,
    *,
    dtype: torch.dtype = torch.float32,
    attention_dropout: float | None = None,
    layers: int | None = None,
) -> tuple[Any, Any]:
    """Load an encoder (e.g. all-MiniLM-L6-v2's folder) with a one-label token-classification head.

    The head is fresh unless the folder holds one (a classifier trained before). ``attention_dropout`` replaces the
    model's attention-probability dropout for training (0 makes a CPU step about three times faster: the fused
    attention kernel does not drop out). ``layers`` keeps only the encoder's first layers (:func:`keep_layers`).
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    extra: dict[str, Any] = {} if attention_dropout is None else {"attention_probs_dropout_prob": attention_dropout}
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=1, dtype=dtype, **extra)
    if layers is not None:
        keep_layers(model, layers)
    return model, tokenizer


def _batch(windows: Sequence[LabelledWindow], pad_id: int) -> dict[str, torch.Tensor]:
    longest = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), longest), pad_id, dtype=torch.long)
    types = torch.zeros((len(windows), longest), dtype=torch.long)
    mask = torch.zeros((len(windows), longest), dtype=torch.long)
    labels = torch.full((len(windows), longest), -1.0)
    units = torch.full((len(windows), longest), -1, dtype=torch.long)
    for r, w in enumerate(windows):
        n = len(w.input_ids)
        ids[r, :n] = torch.tensor(w.input_ids)
        types[r, :n] = torch.tensor(w.token_type_ids)
        mask[r, :n] = 1
        labels[r, :n] = torch.tensor(w.labels)
        units[r, :n] = torch.tensor(w.units)
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": labels, "units": units}


def window_unit_means(
    logits: torch.Tensor, labels: torch.Tensor, units: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return one window's unit logits (the mean of their tokens') and which units are gold, in unit order.

    A unit is gold when any of its tokens is; tokens with unit -1 (off the context) are left out.
    """
    used = units >= 0
    unit, values = units[used], logits[used]
    count = int(unit.max()) + 1 if unit.numel() else 0
    zeros = torch.zeros(count, dtype=logits.dtype, device=logits.device)
    sums = zeros.index_add(0, unit, values)
    sizes = zeros.index_add(0, unit, torch.ones_like(values))
    hits = zeros.index_add(0, unit, (labels[used] > 0.5).to(logits.dtype))
    present = sizes > 0
    return sums[present] / sizes[present], hits[present] > 0


def unit_rank_loss(logits: torch.Tensor, labels: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """Listwise loss that ranks each window's gold units above the rest; 0 when no window has both kinds.

    A unit's logit is the mean of its tokens' logits; a unit is gold when any of its tokens is. Per window with gold
    and plain units the loss is ``logsumexp(all) - logsumexp(gold)`` (softmax cross-entropy with every gold unit a
    right answer), averaged over those windows.
    """
    losses = []
    for row in range(logits.shape[0]):
        means, gold = window_unit_means(logits[row], labels[row], units[row])
        if bool(gold.any()) and not bool(gold.all()):
            losses.append(torch.logsumexp(means, 0) - torch.logsumexp(means[gold], 0))
    if not losses:
        return logits.sum() * 0.0
    return torch.stack(losses).mean()


def train_encoder(
    model: torch.nn.Module,
    windows: Sequence[LabelledWindow],
    config: EncoderTrainConfig,
    *,
    pad_id: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Fine-tune ``model`` in place on ``windows``; return the mean loss of each epoch."""
    if not windows:
        msg = "no training windows"
        raise ValueError(msg)
    torch.manual_seed(config.seed)
    device = next(model.parameters()).device
    head_names = {n for n, _ in model.named_parameters() if n.startswith("classifier")}
    groups = [
        {"params": [p for n, p in model.named_parameters() if n not in head_names], "lr": config.lr},
        {"params": [p for n, p in model.named_parameters() if n in head_names], "lr": config.lr * 20},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(windows) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[config.lr, config.lr * 20], total_steps=steps, pct_start=0.1
    )
    rng = random.Random(config.seed)
    order = list(range(len(windows)))
    losses: list[float] = []
    step = 0
    model.train()
    for epoch in range(config.epochs):
        rng.shuffle(order)
        total, count = 0.0, 0
        for k in range(0, len(order), config.batch_size):
            batch = {
                n: t.to(device)
                for n, t in _batch([windows[i] for i in order[k : k + config.batch_size]], pad_id).items()
            }
            labels, units = batch.pop("labels"), batch.pop("units")
            logits = model(**batch).logits[..., 0].float()
            used = labels >= 0
            weights = torch.where(labels > 0.5, config.positive_weight, 1.0)[used]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[used], labels[used], weight=weights)
            if config.rank_weight > 0:
                loss = loss + config.rank_weight * unit_rank_loss(logits, labels, units)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            value = float(loss.detach())
            total += value
            count += 1
            step += 1
            if on_step is not None:
                on_step(step, value)
        losses.append(total / max(count, 1))
        logger.info("encoder epoch %d: loss %.4f", epoch + 1, losses[-1])
    model.eval()
    return losses
