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

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

logger = logging.getLogger(__name__)


def _base() -> tuple[Any, Any, str]:
    from transformers import AutoModel, AutoTokenizer

    from contextsieve.models.sentences import SENTENCE_MODELS, sentence_folder

    spec = SENTENCE_MODELS["minilm-l6"]
    folder = str(sentence_folder(spec))
    return AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder), spec.package.pin


def held_out(count: int) -> frozenset[str]:
    """Return the ids of the first ``count`` HotpotQA training questions in the harness's order (the grid's)."""
    from contextsieve_eval.real import qa_suites, source

    questions = source.hotpot_questions("train")
    order = qa_suites.question_order(len(questions), "hotpotqa", "train")
    return frozenset(questions[i].id for i in order[:count])


def main(argv: list[str] | None = None) -> None:
    """Build the examples, fine-tune epoch by epoch, and write the reranker folder and its log."""
    import torch

    from contextsieve.scoring.rerank import CrossEncoder, load_reranker, save_reranker
    from contextsieve.training import RerankerTrainConfig, train_reranker
    from contextsieve_eval.recipe.sentences import hotpot_examples, squad_examples

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--hotpot", type=int, default=None, help="HotpotQA training questions (default: all)")
    parser.add_argument("--squad", type=int, default=None, help="SQuAD training questions (default: all)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--delta", default=None, help="also write the encoder's delta over the base into DIR/reranker")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--negatives", type=int, default=7)
    parser.add_argument("--max-tokens", type=int, default=160, help="tokens per (query, unit) pair")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holdout", type=int, default=200, help="grid questions kept out of training")
    parser.add_argument("--resume", action="store_true", help="continue after the last finished epoch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    log = out / "log.jsonl"
    done = [json.loads(line) for line in log.read_text().splitlines()] if args.resume and log.is_file() else []
    base, tokenizer, pin = _base()
    if done:
        loaded = load_reranker(out, tokenizer, device=torch.device("cpu"), dtype=torch.float32, batch_size=32)
        if loaded is None:
            msg = f"--resume found no reranker in {out}"
            raise SystemExit(msg)
        reranker = loaded
    else:
        encoder, _, _ = _base()
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
        with log.open("a", encoding="utf-8") as handle:
            row = {"epoch": epoch + 1, "loss": loss, "examples": len(examples)}
            handle.write(json.dumps({**row, "seconds": time.perf_counter() - started}) + "\n")


if __name__ == "__main__":
    main()
