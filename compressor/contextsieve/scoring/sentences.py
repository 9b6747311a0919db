"""The sentence backend: a sentence-embedding model ranks units of text, fused with BM25, a second hop and paragraphs.

Where the draft and head backends score tokens, this one scores the units the pipeline keeps or drops (sentences
packed up to ``chunk_tokens``, :mod:`contextsieve.aggregation.chunking`; a sentence split at words is one unit)
and gives every token its unit's score:

1. each unit is embedded with its paragraph's header (a title line restores a sentence's missing subject);
2. its cosine with the query and its BM25 score are standardised over the collection and summed (lexical weight);
3. a second hop: the query joined with the best units so far is embedded again, and its cosine joins the sum
   (multi-hop questions need the bridge sentence that only the first hop names);
4. links: a paragraph whose header (its title) is named by one of the best units so far gains ``link_weight``
   (the bridge of a multi-hop question is often a document named by the first hop), and a unit of another
   paragraph that mentions a rare name of one of them gains ``name_weight`` (:mod:`contextsieve.scoring.names`);
5. a reranker, when the model has one (:mod:`contextsieve.scoring.rerank`): a cross-encoder reads the query with
   each of the best units, then the query joined with its best, and reorders them;
6. a unit inherits part of its paragraph's best score (evidence comes in paragraphs).

A collection is one context, or every document of a :meth:`~contextsieve.Compressor.compress_documents` call
(:meth:`SentenceScorer.score_collections`), so the ranking is shared across documents. Scores are the logistic of
the fused standard score (scaled down when it reaches far enough to round to 1 in float32): relative, not
calibrated.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from contextsieve.aggregation.chunking import chunk_tokens, whole_sentences
from contextsieve.config import ChunkingConfig, ScoringConfig
from contextsieve.errors import ConfigError, ModelError
from contextsieve.scoring.base import ModelScorer, ScoreRequest
from contextsieve.scoring.headers import blank_lines, linked_paragraphs, unit_context
from contextsieve.scoring.lexical import bm25_scores
from contextsieve.scoring.names import name_links
from contextsieve.scoring.padding import length_batches, pad_rows
from contextsieve.scoring.rerank import CrossEncoder, load_reranker, rerank
from contextsieve.scoring.reuse import ReuseInfo, VectorStore, reuse_folder
from contextsieve.scoring.sentence_config import (
    SENTENCE_CONFIG_FILE,
    SentenceConfig,
    is_sentence_folder,
    mean_pooled,
    save_sentences,
)

__all__ = [
    "SENTENCE_CONFIG_FILE",
    "RankedUnit",
    "SentenceConfig",
    "SentenceScorer",
    "is_sentence_folder",
    "mean_pooled",
    "save_sentences",
]

logger = logging.getLogger(__name__)

PADDED_TOKENS_PER_ITEM = 64
"""A batch of ``batch_size`` units pads to at most this many tokens per unit (long units go in smaller batches)."""


@dataclass(frozen=True)
class RankedUnit:
    """A unit of a context as the first stage ranks it: its character span, the text read and its fused score."""

    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class _Unit:
    """One unit of a collection: its request, token range and the text it is embedded as."""

    request: int
    first: int
    last: int
    text: str
    paragraph: tuple[int, int]
    header: str


def _fingerprint(model: Any, sentence: SentenceConfig) -> str:
    """Name a model's stored vectors by its weights and truncation, so no two models share them on disk.

    The pooler is left out: mean pooling never reads it, and a checkpoint without one gets it freshly random.
    """
    digest = hashlib.blake2b(f"{sentence.max_tokens}".encode(), digest_size=16)
    for name, tensor in sorted(model.state_dict().items()):
        if name.startswith("pooler."):
            continue
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


_SATURATION = 15.0
"""Largest fused score the logistic is taken of: float32 keeps the logistic's order up to about here."""


def _logistic(fused: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return the logistic of ``fused``, scaled down first when it reaches past :data:`_SATURATION`.

    Past about 17 the float32 logistic rounds to 1, so a unit far above a uniform collection (a needle among
    repeated filler, lifted by its paragraph) would tie with the filler it lifts; a collection that stays within
    the bound is left as it is.
    """
    reach = float(np.abs(fused).max(initial=0.0))
    scaled = fused * (_SATURATION / reach) if reach > _SATURATION else fused
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-scaled))
    return out


def _spread(
    requests: Sequence[ScoreRequest], units: Sequence[_Unit], values: npt.NDArray[np.float64]
) -> list[npt.NDArray[np.float32]]:
    """Give every token of each unit its unit's score (tokens outside any unit score 0)."""
    out = [np.zeros(len(tokens), dtype=np.float32) for tokens, _ in requests]
    for unit, value in zip(units, values, strict=True):
        out[unit.request][unit.first : unit.last] = value
    return out


def _standard(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return standard scores (a constant collection gives zeros)."""
    spread = float(values.std())
    scaled: npt.NDArray[np.float64] = (values - values.mean()) / (spread if spread > 1e-9 else 1.0)
    return scaled


class SentenceScorer(ModelScorer):
    """Ranks a context's units with a sentence-embedding model (mean pooling), BM25, a second hop and paragraphs."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        config: ScoringConfig,
        sentence: SentenceConfig,
        *,
        name: str,
        reranker: CrossEncoder | None = None,
    ):
        super().__init__(model, tokenizer, config, name=name)
        if sentence.rerank_units and reranker is None:
            msg = f"the sentence scorer {name!r} asks for rerank_units={sentence.rerank_units} but has no reranker"
            raise ModelError(msg)
        self._sentence = sentence
        self._reranker = reranker if sentence.rerank_units else None
        self._units = ChunkingConfig()
        disk = reuse_folder(config.reuse_dir)
        namespace = _fingerprint(model, sentence) if disk else "memory"
        self._reuse = VectorStore(config.reuse_mb * 2**20, disk=disk, namespace=namespace)

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        config: ScoringConfig,
        *,
        device: torch.device,
        dtype: torch.dtype,
        name: str,
        delta: tuple[Path, str] | None = None,
    ) -> SentenceScorer:
        """Load a sentence-transformers style folder (a BERT-like encoder and its tokenizer).

        ``delta`` is a ``(folder, base name)`` pair: a weight delta added to the loaded model
        (:mod:`contextsieve.models.deltas`), whose folder's fusion options replace the base's.
        """
        from transformers import AutoModel, AutoTokenizer

        from contextsieve.models.deltas import apply_delta

        path = Path(folder)
        try:
            options = delta[0] / SENTENCE_CONFIG_FILE if delta is not None else path / SENTENCE_CONFIG_FILE
            text = options.read_text(encoding="utf-8") if options.is_file() else None
            sentence = SentenceConfig.model_validate_json(text) if text is not None else SentenceConfig()
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            model = AutoModel.from_pretrained(str(path), dtype=torch.float32 if delta else dtype)
        except (OSError, ValueError) as exc:
            msg = f"could not load the sentence scorer at {path}: {exc}"
            raise ModelError(msg) from exc
        if not getattr(tokenizer, "is_fast", False):
            msg = f"the sentence scorer at {path} needs a fast tokenizer (character offsets)"
            raise ModelError(msg)
        if delta is not None:
            apply_delta(model, delta[0], base_name=delta[1])
        model.to(device=device, dtype=dtype).eval()
        reranker = None
        if sentence.rerank_units:
            owner = delta[0] if delta is not None else path
            reranker = load_reranker(owner, tokenizer, device=device, dtype=dtype, batch_size=config.batch_size)
        logger.info("Loaded sentence scorer %s on %s", name, device)
        return cls(model, tokenizer, config, sentence, name=name, reranker=reranker)

    @property
    def sentence_config(self) -> SentenceConfig:
        """The fusion options."""
        return self._sentence

    @property
    def reranker(self) -> CrossEncoder | None:
        """The cross-encoder that reorders the best units, or ``None`` when this model reranks nothing."""
        return self._reranker

    @property
    def calibrated(self) -> bool:
        """Scores rank units within a collection; they are not probabilities."""
        return False

    def score(self, requests: Sequence[ScoreRequest], *, progress: bool = False) -> list[npt.NDArray[np.float32]]:
        """Score every request as its own collection (embedded in one pass)."""
        return [scores[0] for scores in self.score_collections([[request] for request in requests], progress=progress)]

    def score_collection(
        self, requests: Sequence[ScoreRequest], *, progress: bool = False
    ) -> list[npt.NDArray[np.float32]]:
        """Score documents that share one query as one collection (one ranking across all of them)."""
        return self.score_collections([requests], progress=progress)[0]

    def score_collections(
        self, collections: Sequence[Sequence[ScoreRequest]], *, progress: bool = False
    ) -> list[list[npt.NDArray[np.float32]]]:
        """Score several collections, embedding all their units and queries in one pass; rankings stay apart."""
        parts = []
        for requests in collections:
            queries = {query for _, query in requests}
            if len(queries) != 1:
                msg = f"a collection is scored for one query, got {len(queries)}"
                raise ModelError(msg)
            units = [unit for index, (tokens, _) in enumerate(requests) for unit in self._units_of(index, tokens)]
            parts.append((units, queries.pop()))
        texts = [unit.text for units, _ in parts for unit in units]
        try:
            vectors = self.embed([*texts, *(query for _, query in parts)], progress=progress)
            out = []
            first = 0
            for number, (requests, (units, query)) in enumerate(zip(collections, parts, strict=True)):
                last = first + len(units)
                question = vectors[len(texts) + number]
                fused = self._fuse(units, texts[first:last], vectors[first:last], question, query)
                out.append(_spread(requests, units, _logistic(fused)))
                first = last
        except RuntimeError as exc:  # torch reports shape, dtype and memory failures as RuntimeError
            msg = f"the sentence scorer {self._name!r} could not score {len(texts)} unit(s): {exc}"
            raise ModelError(msg) from exc
        return out

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> npt.NDArray[np.float32]:
        """Return unit-length mean-pooled embeddings in input order, reusing stored ones (see ``reuse_mb``)."""
        return self._embed_reusing(texts, progress=progress)[0]

    def precompute(self, requests: Sequence[Any], *, progress: bool = False) -> int:
        """Embed every unit of the tokenized texts ahead of any query; return how many were not stored yet."""
        if not self._reuse.enabled:
            msg = "precompute needs reuse: reuse_mb is 0 and no reuse_dir or $CONTEXTSIEVE_REUSE_DIR is set"
            raise ConfigError(msg)
        texts = [unit.text for index, tokens in enumerate(requests) for unit in self._units_of(index, tokens)]
        return self._embed_reusing(texts, progress=progress)[1]

    def _embed_reusing(self, texts: Sequence[str], *, progress: bool = False) -> tuple[npt.NDArray[np.float32], int]:
        """Return the embeddings of ``texts`` and how many of them the model computed (the rest were stored)."""
        width = int(self._model.config.hidden_size)
        out = np.zeros((len(texts), width), dtype=np.float32)
        found = self._reuse.get_many(texts) if self._reuse.enabled else {}
        for index, vector in found.items():
            out[index] = vector
        todo = [i for i in range(len(texts)) if i not in found]
        if todo:
            fresh = self._compute([texts[i] for i in todo], progress=progress)
            out[todo] = fresh
            if self._reuse.enabled:
                self._reuse.put_many([texts[i] for i in todo], fresh)
        return out, len(todo)

    def reuse_info(self) -> ReuseInfo:
        """Hits, misses and bytes of the stored unit embeddings."""
        return self._reuse.info()

    @torch.inference_mode()
    def _compute(self, texts: Sequence[str], *, progress: bool = False) -> npt.NDArray[np.float32]:
        """Embed ``texts`` with the model, batched longest first with little padding, in input order."""
        from tqdm.auto import tqdm

        width = int(self._model.config.hidden_size)
        out = np.zeros((len(texts), width), dtype=np.float32)
        whole = self._tokenizer(list(texts), truncation=True, max_length=self._sentence.max_tokens)
        size = self._config.batch_size
        batches = length_batches([len(ids) for ids in whole["input_ids"]], size, size * PADDED_TOKENS_PER_ITEM)
        for batch in tqdm(batches, desc="sentences", unit="batch", disable=not progress):
            encoded = pad_rows(self._tokenizer, whole, batch).to(self._device)
            out[batch] = mean_pooled(self._model, encoded).cpu().numpy()
        return out

    def _units_of(self, index: int, tokens: Any) -> list[_Unit]:
        """Cut one context into units (the default chunking) and give each its header.

        The chunks of a sentence split at words make one unit, so every piece of it shares the whole
        sentence's score (a key and its value on either side of the split stay together).
        """
        text = tokens.text
        blanks = blank_lines(text)
        units = []
        for chunk in whole_sentences(chunk_tokens(tokens, self._units)):
            body = text[chunk.start : chunk.end]
            place = unit_context(text, chunk.start, blanks)
            header = place.header if self._sentence.headers and chunk.start >= place.header_end else ""
            units.append(
                _Unit(
                    index,
                    chunk.first,
                    chunk.last,
                    f"{header}\n{body}" if header else body,
                    (index, place.paragraph),
                    place.header,
                )
            )
        return units

    def first_stage(self, text: str, query: str) -> list[RankedUnit]:
        """Rank one context's units before the reranker, best first (what a reranker is given; also for inspection).

        The score is the fused standard score of steps 1-4 of the module docstring.
        """
        tokens = self.tokenize(text)
        units = self._units_of(0, tokens)
        if not units:
            return []
        texts = [unit.text for unit in units]
        vectors = self.embed([*texts, query])
        fused = self._first_stage(units, texts, vectors[:-1], vectors[-1], query)
        order = np.argsort(-fused, kind="stable")
        ends = tokens.offsets[:, 1]
        return [
            RankedUnit(int(tokens.starts[units[i].first]), int(ends[units[i].last - 1]), texts[i], float(fused[i]))
            for i in order
        ]

    def _fuse(
        self,
        units: Sequence[_Unit],
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        question: npt.NDArray[np.float32],
        query: str,
    ) -> npt.NDArray[np.float64]:
        """Sum the standardised signals of every unit (see the module docstring)."""
        options = self._sentence
        fused = self._first_stage(units, texts, vectors, question, query)
        if self._reranker is not None:
            fused = rerank(
                fused,
                texts,
                query,
                self._reranker,
                units=options.rerank_units,
                weight=options.rerank_weight,
                hop=options.rerank_hop,
                max_tokens=options.rerank_tokens,
                lowers=options.rerank_lowers,
            )
        if options.paragraph_weight:
            best_of: dict[tuple[int, int], float] = {}
            for unit, value in zip(units, fused, strict=True):
                best_of[unit.paragraph] = max(best_of.get(unit.paragraph, -np.inf), float(value))
            fused = fused + options.paragraph_weight * np.array([best_of[u.paragraph] for u in units])
        return fused

    def _first_stage(
        self,
        units: Sequence[_Unit],
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        question: npt.NDArray[np.float32],
        query: str,
    ) -> npt.NDArray[np.float64]:
        """Sum similarity, BM25, the second hop and header links (steps 1-4 of the module docstring)."""
        options = self._sentence
        fused = _standard(np.asarray(vectors @ question, dtype=np.float64))
        if options.lexical_weight:
            fused = fused + options.lexical_weight * _standard(bm25_scores(texts, query))
        order = np.argsort(-fused, kind="stable")
        best = order[: options.hop_units]
        if options.hop_weight and len(units) > 1:
            expanded = " ".join([query, *(texts[i] for i in best)])
            second = self.embed([expanded])[0]
            fused = fused + options.hop_weight * _standard(np.asarray(vectors @ second, dtype=np.float64))
        if options.link_weight and len(units) > 1:
            readers = [units[i] for i in order[: options.link_units]]
            linked = linked_paragraphs(units, readers, query if options.link_query else "")
            fused = fused + options.link_weight * np.array([u.paragraph in linked for u in units], dtype=np.float64)
        if options.name_weight and len(units) > 1:
            fused = name_links(
                units,
                fused,
                query,
                weight=options.name_weight,
                rounds=options.name_rounds,
                readers=options.link_units,
                max_units=options.name_units,
            )
        return fused
