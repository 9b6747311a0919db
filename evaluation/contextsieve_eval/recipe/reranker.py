"""The sentence scorer's reranker recipe: all-MiniLM-L6-v2 as a cross-encoder, on real evidence (training splits only).

The examples are the sentence recipe's (:mod:`contextsieve_eval.recipe.sentences`): HotpotQA's training quarter
(first hop: the question and a supporting fact; second hop: the question joined with the other fact), against the
other sentences of the question's 10 paragraphs, and SQuAD's training articles (the answer sentence against its
paragraph's others). ``--synthetic N`` adds the generated needle, multi-key, multi-value, multi-hop (with and
without a lexical gap), RAG and code tasks (train split, ``N`` samples per task and length): each gold unit against
the other units the sentence model's first stage ranks highest, the candidates the reranker is given at inference;
a chain's links also answer the question joined with another link. The reserved HotpotQA half is never loaded.
``--holdout N`` keeps the first ``N`` questions of the harness's training order out of training, so that the fusion
grid (``python -m contextsieve_eval.recipe.sentence_grid --rerank``) tunes on questions the reranker has not seen.

Run ``python -m contextsieve_eval.recipe.reranker --out heads/reranker``: every epoch writes ``OUT/reranker``
(loadable beside a sentence model) and a ``log.jsonl`` line; ``--resume`` continues after the last finished epoch.
``--delta DIR`` also writes the encoder's difference from the base into ``DIR/reranker`` (the shipped form);
``--init DIR`` starts from the reranker in ``DIR/reranker`` instead of the base (a further round of fine-tuning).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contextsieve_eval.recipe.sentences import CHAIN_TASKS

__all__ = ["generated_examples", "main"]

logger = logging.getLogger(__name__)


def held_out(count: int) -> frozenset[str]:
    """Return the ids of the first ``count`` HotpotQA training questions in the harness's order (the grid's)."""
    from contextsieve_eval.real import qa_suites, source

    questions = source.hotpot_questions("train")
    order = qa_suites.question_order(len(questions), "hotpotqa", "train")
    return frozenset(questions[i].id for i in order[:count])


def generated_examples(scorer: Any, samples: Sequence[Any], *, candidates: int, seed: int = 0) -> list[Any]:
    """Return ranking examples from generated samples: each gold unit against the first stage's best other units.

    ``scorer`` is a :class:`~contextsieve.scoring.sentences.SentenceScorer`; the negatives are the units among its
    ``candidates`` best (before any reranker) that hold no gold. Multi-hop chains also give second-hop examples:
    the question joined with another link of the chain, against the same negatives.
    """
    from contextsieve.training import RankingExample

    rng = random.Random(seed)
    out: list[Any] = []
    for sample in samples:
        ranked = scorer.first_stage(sample.context, sample.question)
        is_gold = [any(u.start < end and start < u.end for start, end in sample.gold_spans) for u in ranked]
        gold = [u.text for u, hit in zip(ranked, is_gold, strict=True) if hit]
        negatives = tuple(u.text for u, hit in zip(ranked[:candidates], is_gold, strict=False) if not hit)
        if not gold or not negatives:
            continue
        for unit in gold:
            out.append(RankingExample(sample.question, unit, negatives))
            others = [other for other in gold if other != unit]
            if sample.task in CHAIN_TASKS and others:
                out.append(RankingExample(f"{sample.question} {rng.choice(others)}", unit, negatives))
    return out


RERANK_SYNTHETIC = ("needle", "multikey", "multivalue", "multihop", "multihop-gap", "rag", "code")
"""Generated tasks ``--synthetic`` draws from: the encoder recipe's, and the chains whose later links share no word
with the question."""


def _synthetic(count: int, lengths: Sequence[int], candidates: int, seed: int) -> list[Any]:
    """Build the generated tasks' examples (train split) with the shipped sentence model's first stage."""
    from contextsieve import Compressor
    from contextsieve.counting import make_counter
    from contextsieve_eval.tasks import build_samples

    counter = make_counter("gemma3-270m", None)
    samples = build_samples(RERANK_SYNTHETIC, counter, list(lengths), count, seed=seed, split="train")
    scorer = Compressor.from_pretrained("minilm-l6-sieve", device="cpu", dtype="float32").scorer
    return generated_examples(scorer, samples, candidates=candidates, seed=seed)


def main(argv: list[str] | None = None) -> None:
    """Build the examples, fine-tune epoch by epoch, and write the reranker folder and its log."""
    import torch

    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve.scoring.rerank import CrossEncoder, load_reranker, save_reranker
    from contextsieve.training import RerankerTrainConfig, train_reranker
    from contextsieve_eval.recipe.sentences import (
        finished_epochs,
        hotpot_examples,
        log_epoch,
        minilm_base,
        recipe_parser,
        squad_examples,
    )

    delta = "also write the encoder's delta over the base into DIR/reranker"
    parser = recipe_parser(__doc__.splitlines()[0], lr=3e-5, batch_size=8, delta=delta)
    parser.add_argument("--negatives", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=160, help="tokens per (query, unit) pair")
    parser.add_argument("--holdout", type=int, default=200, help="grid questions kept out of training")
    parser.add_argument("--synthetic", type=int, default=0, help="generated samples per task and length")
    parser.add_argument("--synthetic-lengths", default="2048,4096", help="context tokens of the generated samples")
    parser.add_argument("--candidates", type=int, default=32, help="first-stage units the negatives come from")
    parser.add_argument("--init", default=None, help="start from the reranker in DIR/reranker")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    log = out / "log.jsonl"
    done = finished_epochs(log, resume=args.resume)
    base, tokenizer = minilm_base()
    pin = SENTENCE_MODELS["minilm-l6"].package.pin
    start = out if done else Path(args.init) if args.init else None
    if start is not None:
        loaded = load_reranker(start, tokenizer, device=torch.device("cpu"), dtype=torch.float32, batch_size=32)
        if loaded is None:
            msg = f"found no reranker in {start}"
            raise SystemExit(msg)
        reranker = loaded
    else:
        encoder, _ = minilm_base()
        reranker = CrossEncoder.from_base(encoder, tokenizer, seed=args.seed)
    exclude = held_out(args.holdout)
    examples = hotpot_examples(limit=args.hotpot, seed=args.seed, exclude=exclude)
    examples += squad_examples(limit=args.squad, seed=args.seed)
    if args.synthetic:
        lengths = [int(n) for n in args.synthetic_lengths.split(",")]
        examples += _synthetic(args.synthetic, lengths, args.candidates, args.seed)
    logger.info("%d examples; %d epoch(s) already done", len(examples), len(done))
    out.mkdir(parents=True, exist_ok=True)
    for epoch in range(len(done), args.epochs):
        started = time.perf_counter()
        config = RerankerTrainConfig(
            lr=args.lr,
            batch_size=args.batch_size,
            negatives=args.negatives,
            max_tokens=args.max_tokens,
            seed=args.seed + epoch,
        )
        (loss,) = train_reranker(reranker, examples, config, progress=True)
        save_reranker(reranker, out)
        if args.delta:
            save_reranker(reranker, args.delta, base=base, base_name=pin)
        log_epoch(log, epoch + 1, loss, len(examples), started)


if __name__ == "__main__":
    main()
