"""Sliding-window layers in draft attention: "window" (their attention on the keys they saw) against "skip".

Gemma 3 (the only registered draft with sliding-window layers: 5 local layers of window 512 per global one) scores
the evaluation split's samples of every harness task with each setting; evidence recall (gold kept intact) at two
rates, budgets counted in the draft's own tokenizer. Each sample is scored once per setting (the score cache
serves the second rate). Results are appended to ``--out`` as they are measured; a rerun skips what is there.

    python benchmarks/sliding_layers.py --lengths 2k,8k --samples 1 --out bench-results/sliding_layers.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import torch

from contextsieve import Compressor
from contextsieve_eval.metrics import evidence_recall
from contextsieve_eval.runner import parse_length
from contextsieve_eval.tasks import TASKS, build_samples

SETTINGS = ("window", "skip")
RATES = (0.1, 0.25)


def main() -> None:
    """Measure both settings and print the recall table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="gemma3-270m")
    parser.add_argument("--lengths", default="2k,8k")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--out", default="bench-results/sliding_layers.jsonl")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(2)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["setting"], r["sample"], r["rate"]) for r in _read(out)}
    lengths = [parse_length(v) for v in args.lengths.split(",")]
    for setting in SETTINGS:
        compressor = Compressor.from_pretrained(args.model, device="cpu", sliding_layers=setting, score_cache=2)
        samples = build_samples(list(TASKS), compressor.count_tokens, lengths, args.samples, 0, "eval")
        for sample in samples:
            for rate in RATES:
                if (setting, sample.id, rate) in done:
                    continue
                started = time.perf_counter()
                result = compressor.compress(sample.context, sample.question, rate=rate)
                row = {
                    "setting": setting,
                    "sample": sample.id,
                    "task": sample.task,
                    "hard": sample.hard,
                    "length": sample.length,
                    "rate": rate,
                    "recall": evidence_recall(result.text, sample.gold),
                    "seconds": time.perf_counter() - started,
                }
                with out.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
    _table(_read(out))


def _read(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _table(rows: list[dict[str, object]]) -> None:
    cells: dict[tuple[object, object, object], list[float]] = defaultdict(list)
    for row in rows:
        cells[(row["setting"], row["length"], row["rate"])].append(float(str(row["recall"])))
    print("| setting | length | rate | samples | evidence recall |")
    print("|---|---|---|---|---|")
    for (setting, length, rate), values in sorted(cells.items(), key=str):
        print(f"| {setting} | {length} | {rate} | {len(values)} | {sum(values) / len(values):.0%} |")


if __name__ == "__main__":
    main()
