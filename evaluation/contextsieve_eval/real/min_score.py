"""How ``min_score`` trades answering documents for dropped ones, on the real report split (RAG-style sets).

Each HotpotQA question brings its own 10 paragraphs (2 gold, 8 distractors) as documents; each SQuAD question
brings up to 10 paragraphs of its article, one of which holds the answer. A document is dropped at threshold
``t`` exactly when its best chunk scores below ``t`` (``DocumentCompression.score``), so one scoring pass per
question gives every threshold.

Run ``python -m contextsieve_eval.real.min_score --model smollm2-135m-head --samples 48 --out FILE.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

__all__ = ["document_sets", "main", "sweep"]

logger = logging.getLogger(__name__)

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def document_sets(samples: int) -> list[dict[str, Any]]:
    """Return ``samples`` HotpotQA and ``samples`` SQuAD report-split sets: query, documents, gold indices."""
    from contextsieve_eval.real import source

    sets: list[dict[str, Any]] = []
    for question in _spread(source.hotpot_questions("eval"), samples):
        titles = {title for title, _ in question.supporting}
        texts = [f"{title}\n{''.join(sentences).strip()}" for title, sentences in question.paragraphs]
        wanted = [i for i, (title, _) in enumerate(question.paragraphs) if title in titles]
        sets.append(
            {"suite": "hotpotqa", "id": question.id, "query": question.question, "texts": texts, "gold": wanted}
        )
    articles = source.squad_articles("eval")
    for question in _spread(source.squad_questions("eval"), samples):
        paragraphs = articles[question.article].paragraphs
        first = max(0, min(question.paragraph - 4, len(paragraphs) - 10))
        texts = list(paragraphs[first : first + 10])
        answer = [question.paragraph - first]
        sets.append({"suite": "squad", "id": question.id, "query": question.question, "texts": texts, "gold": answer})
    return sets


def _spread(items: tuple[Any, ...], count: int) -> list[Any]:
    """Every ``len(items) // count``-th item (questions of one article come together in SQuAD)."""
    step = max(1, len(items) // max(1, count))
    return list(items[::step][:count])


def sweep(rows: list[dict[str, Any]], thresholds: tuple[float, ...] = THRESHOLDS) -> list[dict[str, Any]]:
    """Per suite and threshold: share of sets keeping every gold document, share of other documents dropped."""
    out = []
    for suite in sorted({row["suite"] for row in rows}):
        mine = [row for row in rows if row["suite"] == suite]
        for t in thresholds:
            kept = sum(all(row["scores"][g] >= t for g in row["gold"]) for row in mine)
            others = [s for row in mine for i, s in enumerate(row["scores"]) if i not in row["gold"]]
            out.append(
                {
                    "suite": suite,
                    "min_score": t,
                    "sets": len(mine),
                    "gold_kept": kept / len(mine),
                    "others_dropped": sum(s < t for s in others) / max(1, len(others)),
                }
            )
    return out


def main(argv: list[str] | None = None) -> None:
    """Score every set once with the model and write the rows and the sweep to ``--out``."""
    from contextsieve import Compressor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-head")
    parser.add_argument("--samples", type=int, default=48)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    compressor = Compressor.from_pretrained(args.model, device="cpu")
    rows = []
    started = time.perf_counter()
    for item in document_sets(args.samples):
        result = compressor.compress_documents(item["texts"], item["query"], top_p=1.0)
        scores = [round(d.score, 4) for d in result.documents]
        rows.append({k: item[k] for k in ("suite", "id", "gold")} | {"scores": scores})
    table = sweep(rows)
    command = f"python -m contextsieve_eval.real.min_score --model {args.model} --samples {args.samples}"
    report = {"command": command, "seconds": time.perf_counter() - started, "sweep": table, "rows": rows}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    for line in table:
        logger.info("%s", line)


if __name__ == "__main__":
    main()
