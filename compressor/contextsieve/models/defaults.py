"""The ``"auto"`` model: the sentence scorer, or the full draft when draft-attention options are set."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from contextsieve.config import DRAFT_ONLY_OPTIONS
from contextsieve.models.registry import DEFAULT_MODEL

__all__ = ["AUTO", "DEFAULT_HEAD", "DEFAULT_SCORER", "DRAFT_ONLY_OPTIONS", "auto_model"]

logger = logging.getLogger(__name__)

AUTO = "auto"
DEFAULT_HEAD = "smollm2-135m-head"
DEFAULT_SCORER = "minilm-l6-sieve"


def auto_model(device_type: str, options: Iterable[str] = ()) -> str:
    """Pick the model ``"auto"`` stands for on ``device_type`` given the scoring options the caller set.

    The sentence scorer with the fine-tuned ``minilm-l6-sieve`` keeps more HotpotQA evidence than the stock
    ``minilm-l6``, as much SQuAD and RULER within one sample, and the synthetic suite at least as well (report
    split, docs/results/real-benchmarks.md); nothing in that depends on the device, so it is the default on every
    device. ``minilm-l6`` is faster, most on short contexts. Setting a
    draft-attention option (``layers``, ``lookahead``, ``query_rows``, ``sliding_layers``) asks for the full draft.
    """
    asked = DRAFT_ONLY_OPTIONS.intersection(options)
    choice = DEFAULT_MODEL if asked else DEFAULT_SCORER
    logger.info("model 'auto' on %s%s -> %s", device_type, f" with {sorted(asked)}" if asked else "", choice)
    return choice
