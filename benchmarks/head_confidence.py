"""How well the trained head's scores separate documents that answer a question from those that do not.

On the evaluation split's RAG samples (Wikipedia summaries, one of which answers the question), every document
is scored with ``Compressor.compress_documents``; a document's score is its best chunk score. The same
question is then asked of the documents without the answering one (nothing answers). For each threshold the
table gives the share of answering documents that reach it, the share of other documents that fall below it,
and the share of no-answer sets that fall entirely below it (the "drop all" case).

    python benchmarks/head_confidence.py --lengths 2k,8k --samples 8 --out bench-results/head_confidence.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from contextsieve import Compressor
from contextsieve.counting import make_counter
from contextsieve.training.data import split_documents
from contextsieve_eval.runner import machine_info, parse_length
from contextsieve_eval.tasks import build_samples

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def main() -> None:
    """Score the documents and write the separation table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m-head")
    parser.add_argument("--lengths", default="2k,8k")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--target", default="gemma3-270m")
    parser.add_argument("--out", default="bench-results/head_confidence.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(2)
    compressor = Compressor.from_pretrained(args.model)
    counter = make_counter(args.target, None)
    lengths = [parse_length(v) for v in args.lengths.split(",")]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for sample in build_samples(["rag"], counter, lengths, args.samples, 0, "eval"):
        split = split_documents(sample)
        documents = [d.context for d in split]
        gold = next(i for i, d in enumerate(split) if d.gold_spans)
        scores = [d.score for d in compressor.compress_documents(documents, sample.question, rate=0.25).documents]
        others = documents[:gold] + documents[gold + 1 :]
        unanswered = [d.score for d in compressor.compress_documents(others, sample.question, rate=0.25).documents]
        rows.append(
            {
                "sample": sample.id,
                "documents": len(documents),
                "gold_score": scores[gold],
                "other_scores": scores[:gold] + scores[gold + 1 :],
                "gold_rank": 1 + sum(s > scores[gold] for s in scores),
                "unanswered_max": max(unanswered),
            }
        )
        logging.info("%s: gold %.3f, best other %.3f", sample.id, scores[gold], max(rows[-1]["other_scores"]))
    table = [_at(rows, t) for t in THRESHOLDS]
    payload = {
        "command": "python benchmarks/head_confidence.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
        "machine": machine_info(),
        "seconds": round(time.perf_counter() - started, 1),
        "samples": len(rows),
        "gold_rank_1": sum(r["gold_rank"] == 1 for r in rows) / len(rows),
        "thresholds": table,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    logging.info("answering document ranked first in %.0f%% of samples", 100 * payload["gold_rank_1"])
    for row in table:
        logging.info(
            "min_score %.1f: answering kept %.0f%%, others dropped %.0f%%, no-answer sets dropped whole %.0f%%",
            row["min_score"],
            100 * row["answering_kept"],
            100 * row["others_dropped"],
            100 * row["unanswered_sets_dropped"],
        )


def _at(rows: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    others = [s for r in rows for s in r["other_scores"]]
    return {
        "min_score": threshold,
        "answering_kept": sum(r["gold_score"] >= threshold for r in rows) / len(rows),
        "others_dropped": sum(s < threshold for s in others) / len(others),
        "unanswered_sets_dropped": sum(r["unanswered_max"] < threshold for r in rows) / len(rows),
    }


if __name__ == "__main__":
    main()
