"""Run the frozen draft once over training samples and keep what the head needs: hidden states and labels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from contextsieve.scoring.blocks import HEADER, encode, plan_blocks, query_suffix_ids
from contextsieve.scoring.states import block_states
from contextsieve.tokens import TokenizedText, tokenize_with_offsets

__all__ = ["BlockFeatures", "Labelled", "SampleFeatures", "evidence_labels", "extract_features"]

logger = logging.getLogger(__name__)


class Labelled(Protocol):
    """What training reads from a sample: its task, context, question and gold evidence spans (maybe none)."""

    @property
    def task(self) -> str:
        """Task name."""

    @property
    def context(self) -> str:
        """The text the draft reads."""

    @property
    def question(self) -> str:
        """The question asked after the context."""

    @property
    def gold_spans(self) -> tuple[tuple[int, int], ...]:
        """Character spans of the evidence (empty when the context holds none)."""


@dataclass(frozen=True)
class BlockFeatures:
    """One block: fp16 query/context hidden states, evidence labels, and where its kept scores go."""

    query: torch.Tensor
    context: torch.Tensor
    labels: torch.Tensor
    start: int
    keep_from: int
    end: int


@dataclass(frozen=True)
class SampleFeatures:
    """A sample's blocks at one draft layer, with what validation recall needs (text, tokens, gold spans)."""

    task: str
    tokens: TokenizedText
    gold_spans: tuple[tuple[int, int], ...]
    blocks: tuple[BlockFeatures, ...]


def evidence_labels(tokens: TokenizedText, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Mark every token whose characters overlap a gold span."""
    labels = np.zeros(len(tokens), dtype=bool)
    starts, ends = tokens.offsets[:, 0], tokens.offsets[:, 1]
    for a, b in spans:
        labels |= (starts < b) & (ends > a)
    return labels


def extract_features(
    samples: Sequence[Labelled],
    model: Any,
    tokenizer: Any,
    *,
    layers: Sequence[int],
    block_tokens: int = 1024,
    batch_size: int = 4,
    pad_id: int = 0,
    progress: bool = True,
) -> dict[int, list[SampleFeatures]]:
    """Hidden states of every sample's blocks (planned exactly as the head scorer plans them), per layer."""
    header = encode(tokenizer, HEADER, special=True)
    planned = []
    for sample in samples:
        tokens = tokenize_with_offsets(tokenizer, sample.context)
        query = query_suffix_ids(tokenizer, sample.question)
        planned.append((sample, tokens, plan_blocks(0, tokens, query, header, block_tokens)))
    out: dict[int, list[SampleFeatures]] = {layer: [] for layer in layers}
    for sample, tokens, blocks in tqdm(planned, desc="draft states", unit="sample", disable=not progress):
        labels = torch.from_numpy(evidence_labels(tokens, sample.gold_spans))
        per_block: dict[int, list[BlockFeatures]] = {layer: [] for layer in layers}
        for i in range(0, len(blocks), batch_size):
            group = blocks[i : i + batch_size]
            for block, states in zip(group, block_states(model, group, pad_id=pad_id, layers=layers), strict=True):
                for layer in layers:
                    per_block[layer].append(
                        BlockFeatures(
                            query=states[layer].query.to("cpu", torch.float16).clone(),
                            context=states[layer].context.to("cpu", torch.float16).clone(),
                            labels=labels[block.start : block.end].clone(),
                            start=block.start,
                            keep_from=block.keep_from,
                            end=block.end,
                        )
                    )
        for layer in layers:
            out[layer].append(SampleFeatures(sample.task, tokens, sample.gold_spans, tuple(per_block[layer])))
    return out
