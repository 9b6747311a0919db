"""Choose the sentence scorer's fusion weights on a training split: a grid over :class:`SentenceConfig`.

Every configuration runs the real pipeline (``Compressor.compress`` and ``compress_documents`` with
:class:`~contextsieve.scoring.sentences.SentenceScorer`); embeddings are memoised across configurations, so a
grid costs one embedding pass. HotpotQA's training quarter by default (never the report split, never the reserved
half). Run ``python -m contextsieve_eval.recipe.sentence_grid --samples 96 [--ablation | --links | --names |
--rerank DIR]``; it logs one line per configuration: both hops kept, one context / documents, at each rate.
``--links`` sweeps the header-link weight and reach over ``--model``'s own fusion options, ``--names`` the name-link
weight, rounds and rarity; ``--rerank DIR`` sweeps the reranker saved in ``DIR/reranker`` (how many units, its
weight, the second pass), its pair scores memoised too. ``--tasks multihop-gap,multihop`` runs the grid on the
synthetic chains' train split instead (one context only).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ABLATION", "both_hops", "grid", "link_grid", "main", "name_grid", "rerank_grid"]

logger = logging.getLogger(__name__)

ABLATION: dict[str, dict[str, Any]] = {
    "plain MiniLM units": {
        "headers": False,
        "lexical_weight": 0.0,
        "hop_weight": 0.0,
        "paragraph_weight": 0.0,
        "link_weight": 0.0,
        "name_weight": 0.0,
    },
    "+ headers": {
        "lexical_weight": 0.0,
        "hop_weight": 0.0,
        "paragraph_weight": 0.0,
        "link_weight": 0.0,
        "name_weight": 0.0,
    },
    "+ headers + BM25": {"hop_weight": 0.0, "paragraph_weight": 0.0, "link_weight": 0.0, "name_weight": 0.0},
    "+ headers + BM25 + hop": {"paragraph_weight": 0.0, "link_weight": 0.0, "name_weight": 0.0},
    "+ headers + BM25 + hop + paragraph": {"link_weight": 0.0, "name_weight": 0.0},
    "+ header links": {"name_weight": 0.0},
    "the default (with name links)": {},
}


def grid() -> dict[str, dict[str, Any]]:
    """Return the full grid: BM25 weight × hop weight × hop units × paragraph weight."""
    out: dict[str, dict[str, Any]] = {}
    for lexical, hop, paragraph, units in itertools.product((0, 0.25, 0.5, 1.0), (0, 0.5, 1.0), (0, 0.5, 1.0), (1, 2)):
        if hop == 0 and units == 2:
            continue
        name = f"bm25 {lexical} hop {hop}x{units} paragraph {paragraph}"
        out[name] = {"lexical_weight": lexical, "hop_weight": hop, "hop_units": units, "paragraph_weight": paragraph}
    return out


def link_grid() -> dict[str, dict[str, Any]]:
    """Return the header-link grid: link weight × how many best units are read for names."""
    return {
        f"link {weight} x{units}": {"link_weight": weight, "link_units": units}
        for weight, units in itertools.product((0.0, 0.5, 1.0, 2.0, 3.0), (1, 2, 4, 6))
    }


def name_grid() -> dict[str, dict[str, Any]]:
    """Return the name-link grid: weight × rounds × how many units a rare name may appear in."""
    out: dict[str, dict[str, Any]] = {"no name links": {"name_weight": 0.0}}
    for weight, rounds, rare in itertools.product((1.0, 1.5, 2.0, 3.0), (1, 2), (3, 8, 16, 32)):
        name = f"names {weight} x{rounds} rare {rare}"
        out[name] = {"name_weight": weight, "name_rounds": rounds, "name_units": rare}
    return out


def rerank_grid() -> dict[str, dict[str, Any]]:
    """Return the reranker grid: units reordered × rerank weight × second pass (and no reranking)."""
    out: dict[str, dict[str, Any]] = {"no reranker": {"rerank_units": 0}}
    for units, weight, hop in itertools.product((16, 32, 64), (1.0, 2.0, 4.0, 8.0), (False, True)):
        name = f"rerank {units} weight {weight}{' hop' if hop else ''}"
        out[name] = {"rerank_units": units, "rerank_weight": weight, "rerank_hop": hop}
    return out


def _memoised_reranker(folder: str, base: Any) -> Any:
    """Load the reranker in ``folder`` with its pair scores memoised across configurations."""
    import torch

    from contextsieve.scoring.rerank import CrossEncoder, load_reranker

    loaded = load_reranker(Path(folder), base.tokenizer, device=torch.device("cpu"), dtype=torch.float32, batch_size=32)
    if loaded is None:
        msg = f"no reranker in {folder}"
        raise SystemExit(msg)
    memo: dict[tuple[tuple[str, str], int], float] = {}

    class Memoised(CrossEncoder):
        def score(
            self, queries: Sequence[str], units: Sequence[str], *, max_tokens: int = 160
        ) -> npt.NDArray[np.float64]:
            pairs = list(zip(queries, units, strict=True))
            todo = [pair for pair in dict.fromkeys(pairs) if (pair, max_tokens) not in memo]
            if todo:
                fresh = super().score([q for q, _ in todo], [u for _, u in todo], max_tokens=max_tokens)
                memo.update({(pair, max_tokens): float(v) for pair, v in zip(todo, fresh, strict=True)})
            return np.array([memo[(pair, max_tokens)] for pair in pairs], dtype=np.float64)

    return Memoised(loaded.encoder, loaded.head, loaded.tokenizer, batch_size=32)


def _scorer(base: Any, options: dict[str, Any], memo: dict[str, npt.NDArray[np.float32]], reranker: Any = None) -> Any:
    """Return the loaded model under another fusion, its embeddings memoised in ``memo`` across configurations."""
    from contextsieve.scoring.sentences import SentenceConfig, SentenceScorer

    class Memoised(SentenceScorer):
        def embed(self, texts: Sequence[str], *, progress: bool = False) -> npt.NDArray[np.float32]:
            todo = [t for t in dict.fromkeys(texts) if t not in memo]
            if todo:
                memo.update(zip(todo, super().embed(todo, progress=progress), strict=True))
            return np.stack([memo[t] for t in texts])

    config = SentenceConfig(**options)
    return Memoised(
        base.model,
        base.tokenizer,
        base.config,
        config,
        name=base.name,
        reranker=reranker if config.rerank_units else None,
    )


def _kept_text(compressor: Any, sample: Any, budget: int, counter: Any) -> str:
    """Compress one sample on its path and return the text the target would read."""
    if not sample.documents:
        return str(compressor.compress(sample.context, sample.question, budget=budget, target_tokenizer=counter).text)
    result = compressor.compress_documents(
        sample.document_texts, sample.question, budget=budget, target_tokenizer=counter
    )
    return "\n...\n".join(d.text for d in result.documents if not d.dropped)


def both_hops(compressor: Any, samples: Sequence[Any], rates: Sequence[float], counter: Any) -> str:
    """Return 'rate r: context% / documents%' for every rate (share of samples with all their evidence kept).

    Samples on one path only (the synthetic tasks) give one share per rate.
    """
    from contextsieve_eval.metrics import kept

    cells: dict[tuple[str, float], list[bool]] = {}
    for sample in samples:
        total = counter(sample.context)
        for rate in rates:
            text = _kept_text(compressor, sample, max(1, math.floor(rate * total)), counter)
            cells.setdefault((sample.path, rate), []).append(kept(sample, text).all_kept)
    shares = {key: f"{100 * np.mean(values):.0f}%" for key, values in cells.items()}
    paths = [path for path in ("context", "documents") if (path, rates[0]) in shares]
    return "  ".join(f"rate {r}: {' / '.join(shares[(path, r)] for path in paths)}" for r in rates)


def main(argv: list[str] | None = None) -> None:
    """Run the grid (or the ablation) and log both hops kept per configuration and rate."""
    from contextsieve import Compressor
    from contextsieve.counting import make_counter
    from contextsieve_eval.tasks import build_samples
    from contextsieve_eval.tasks.registry import PATHS, TASKS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=96)
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--rates", default="0.1,0.25")
    parser.add_argument("--split", choices=["train", "eval"], default="train")
    parser.add_argument("--ablation", action="store_true", help="the ablation rows instead of the grid")
    parser.add_argument("--links", action="store_true", help="the header-link grid instead of the fusion grid")
    parser.add_argument("--names", action="store_true", help="the name-link grid instead of the fusion grid")
    parser.add_argument("--tasks", default="hotpotqa", help="comma-separated tasks (HotpotQA and SQuAD: both paths)")
    parser.add_argument("--rerank", default=None, help="sweep the reranker saved in DIR/reranker")
    parser.add_argument("--model", default="minilm-l6", help="sentence model whose own options the grid starts from")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rates = [float(r) for r in args.rates.split(",")]
    counter = make_counter("gemma3-270m", None)
    tasks = args.tasks.split(",")
    real = all(spec is not None and spec.suite == "real" for spec in map(TASKS.get, tasks))
    paths = PATHS if real else ("context",)
    samples = build_samples(tasks, counter, [args.length], args.samples, 0, args.split, paths=paths)
    from contextsieve.scoring.sentences import SentenceScorer

    base = Compressor.from_pretrained(args.model, device="cpu", dtype="float32").scorer
    if not isinstance(base, SentenceScorer):
        parser.error(f"{args.model} is not a sentence model")
    own = base.sentence_config.model_dump()
    memo: dict[str, npt.NDArray[np.float32]] = {}
    configurations = link_grid() if args.links else name_grid() if args.names else ABLATION if args.ablation else grid()
    reranker = None
    if args.rerank:
        configurations, reranker = rerank_grid(), _memoised_reranker(args.rerank, base)
    for name, options in configurations.items():
        compressor = Compressor(_scorer(base, {**own, **options}, memo, reranker))
        logger.info("%-40s %s", name, both_hops(compressor, samples, rates, counter))


if __name__ == "__main__":
    main()
