"""The sentence scorer's reranker recipe: all-MiniLM-L6-v2 as a cross-encoder, on real evidence (training splits only).

The examples are the sentence recipe's (:mod:`contextsieve_eval.recipe.sentences`): HotpotQA's training quarter
(first hop: the question and a supporting fact; second hop: the question joined with the other fact), against the
other sentences of the question's 10 paragraphs, and SQuAD's training articles (the answer sentence against its
paragraph's others). The reserved HotpotQA half is never loaded. ``--holdout N`` keeps the first ``N`` questions of
the harness's training order out of training, so that the fusion grid
(``python -m contextsieve_eval.recipe.sentence_grid --rerank``) tunes on questions the reranker has not seen.

Run ``python -m contextsieve_eval.recipe.reranker --out heads/reranker``: every epoch writes ``OUT/reranker``
(loadable beside a sentence model) and a ``log.jsonl`` line; ``--resume`` continues after the last finished epoch.
``--delta DIR`` also writes the encoder's difference from the base into ``DIR/reranker`` (the shipped form).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

__all__ = ["main"]

logger = logging.getLogger(__name__)


def held_out(count: int) -> frozenset[str]:
    """Return the ids of the first ``count`` HotpotQA training questions in the harness's order (the grid's)."""
    from contextsieve_eval.real import qa_suites, source

    questions = source.hotpot_questions("train")
    order = qa_suites.question_order(len(questions), "hotpotqa", "train")
    return frozenset(questions[i].id for i in order[:count])


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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    log = out / "log.jsonl"
    done = finished_epochs(log, resume=args.resume)
    base, tokenizer = minilm_base()
    pin = SENTENCE_MODELS["minilm-l6"].package.pin
    if done:
        loaded = load_reranker(out, tokenizer, device=torch.device("cpu"), dtype=torch.float32, batch_size=32)
        if loaded is None:
            msg = f"--resume found no reranker in {out}"
            raise SystemExit(msg)
        reranker = loaded
    else:
        encoder, _ = minilm_base()
        reranker = CrossEncoder.from_base(encoder, tokenizer, seed=args.seed)
    exclude = held_out(args.holdout)
    examples = hotpot_examples(limit=args.hotpot, seed=args.seed, exclude=exclude)
    examples += squad_examples(limit=args.squad, seed=args.seed)
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
