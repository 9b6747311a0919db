"""Choose the trained head's draft depth and objective by validation recall (stage 1 data, then stage 2).

Extracts the frozen draft's states once for several depths (cached where ``contextsieve train`` looks for them),
trains one head per (layers, objective) and writes a JSON table of validation recall at keep rate 0.1.

    python benchmarks/head_sweep.py --layers 4,6,8 --out bench-results/head_sweep.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from contextsieve.models.cache import cache_root
from contextsieve.scoring.head import HeadConfig
from contextsieve.training.trainer import TrainConfig, train_head, validation_recall
from contextsieve_eval.recipe.command import StageRequest, stage_features


def main() -> None:
    """Run the sweep."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", default="4,6,8")
    parser.add_argument("--objectives", default="mass,bce")
    parser.add_argument("--lengths", default="512,1024,2048,4096")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--val-samples", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--stages", default="1,2")
    parser.add_argument("--out", default="bench-results/head_sweep.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(2)
    layers = [int(v) for v in args.layers.split(",")]
    lengths = [int(v) for v in args.lengths.split(",")]
    rows = []
    for stage in (int(v) for v in args.stages.split(",")):
        request = StageRequest(stage, "smollm2-135m", tuple(lengths), args.samples, args.val_samples, seed=0)
        features = stage_features(request, layers, cache_root() / "train")
        for layer in layers:
            train, val = features[layer]
            hidden = int(train[0].blocks[0].context.shape[-1])
            for objective in args.objectives.split(","):
                config = HeadConfig(layers=layer, hidden_size=hidden, objective=objective)  # type: ignore[arg-type]
                started = time.perf_counter()
                result = train_head(train, val, config, TrainConfig(epochs=args.epochs))
                by_task: dict[str, list] = {}
                for sample in val:
                    by_task.setdefault(sample.task, []).append(sample)
                row = {
                    "stage": stage,
                    "layers": layer,
                    "objective": objective,
                    "val_recall": result.history[result.best_epoch - 1]["val_recall"],
                    "best_epoch": result.best_epoch,
                    "per_task": {t: validation_recall(result.head, s) for t, s in sorted(by_task.items())},
                    "train_seconds": round(time.perf_counter() - started, 1),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
