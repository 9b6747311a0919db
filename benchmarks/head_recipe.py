"""Compare variants of the trained head's recipe on the cached draft states (stage 1, then stage 2 from it).

Variants (comma-separated ``--variants``):

- ``joint``: the shipped recipe. The query suffix is read in the same causal pass as the context block, after it.
- ``separate``: the query suffix is read alone (the header, then ``Question: ... Answer:``), so its states have not
  seen the context. Context states are the same in both (the draft is causal and the context comes first), so
  only the query states are recomputed.
- ``rank<W>`` (e.g. ``rank1``): the shipped recipe plus the chunk ranking term with weight ``W`` in both stages.

Every variant trains with the same seeds, epochs and data as ``make train-head`` and reports validation recall at
keep rate 0.1 (train split, held-out samples) per stage and task, and how single RAG documents separate. With
``--save DIR`` each variant's stage 2 head is saved to ``DIR/<variant>`` (usable as ``--draft`` of
``contextsieve eval``).

    python benchmarks/head_recipe.py --variants joint,separate,rank1 --out bench-results/head_recipe.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contextsieve.models import resolve_model
from contextsieve.models.cache import cache_root
from contextsieve.models.heads import save_head
from contextsieve.scoring.blocks import HEADER, Block, encode, query_suffix_ids
from contextsieve.scoring.head import HeadConfig
from contextsieve.scoring.loading import draft_pad_id, load_draft, truncate_layers
from contextsieve.scoring.states import block_states
from contextsieve.training.features import SampleFeatures
from contextsieve.training.trainer import TrainConfig, TrainResult, document_separation, train_head, validation_recall
from contextsieve_eval.recipe.command import StageRequest, document_features, stage_features, stage_items

LAYER = 8
LENGTHS = (512, 1024, 2048, 4096)
DOCUMENTS = 3
EPOCHS = {1: 8, 2: 10}


def alone_queries(items: Sequence[Any], model: Any, tokenizer: Any) -> list[torch.Tensor]:
    """Layer-8 states of each item's query suffix read alone after the header (fp16, like the cache)."""
    header = encode(tokenizer, HEADER, special=True)
    pad = draft_pad_id(tokenizer, model)
    seen: dict[str, torch.Tensor] = {}
    for item in items:
        if item.question not in seen:
            ids = [*header, *query_suffix_ids(tokenizer, item.question)]
            block = Block(0, 0, 0, 0, ids, len(header))
            states = block_states(model, [block], pad_id=pad, layers=(LAYER,))[0][LAYER]
            seen[item.question] = states.query.to("cpu", torch.float16).clone()
    return [seen[item.question] for item in items]


def with_queries(features: Sequence[SampleFeatures], queries: Sequence[torch.Tensor]) -> list[SampleFeatures]:
    """Replace every block's query states with its sample's separately read query."""
    out = []
    for sample, query in zip(features, queries, strict=True):
        blocks = tuple(dataclasses.replace(b, query=query) for b in sample.blocks)
        out.append(dataclasses.replace(sample, blocks=blocks))
    return out


def read_queries_alone(
    joint: dict[str, tuple[list[SampleFeatures], list[SampleFeatures]]], stage1: StageRequest, stage2: StageRequest
) -> dict[str, tuple[list[SampleFeatures], list[SampleFeatures]]]:
    """Copy the joint features with every query suffix read alone instead (items rebuilt from the seeds)."""
    started = time.perf_counter()
    model, tokenizer = load_draft(resolve_model("smollm2-135m").path, dtype=torch.float32, attn_implementation="sdpa")
    truncate_layers(model, LAYER)
    model.eval()
    out = {}
    for key, request, documents in (("stage1", stage1, 0), ("stage2", stage2, 0), ("documents", stage2, DOCUMENTS)):
        items = stage_items(request, tokenizer, documents=documents)
        parts = []
        for features, part in zip(joint[key], items, strict=True):
            if [f.tokens.text for f in features] != [i.context for i in part]:
                msg = f"the cached {key} features do not match the rebuilt items; delete the cache and rerun"
                raise RuntimeError(msg)
            parts.append(with_queries(features, alone_queries(part, model, tokenizer)))
        out[key] = (parts[0], parts[1])
    logging.info("queries read alone in %.1fs", time.perf_counter() - started)
    return out


def per_task(result: TrainResult, val: Sequence[SampleFeatures]) -> dict[str, float]:
    """Return the kept head's validation recall, task by task."""
    tasks: dict[str, list[SampleFeatures]] = {}
    for sample in val:
        tasks.setdefault(sample.task, []).append(sample)
    return {task: round(validation_recall(result.head, s), 3) for task, s in sorted(tasks.items())}


def main() -> None:
    """Train every variant and write the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", default="joint,separate,rank1")
    parser.add_argument("--out", default="bench-results/head_recipe.json")
    parser.add_argument("--save", default=None, help="folder for each variant's stage 2 head")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(2)
    cache = cache_root() / "train"
    requests = {stage: StageRequest(stage, "smollm2-135m", LENGTHS, 20, 4, 0) for stage in (1, 2)}
    data = {stage: stage_features(requests[stage], (LAYER,), cache)[LAYER] for stage in (1, 2)}
    documents = document_features(requests[2], (LAYER,), cache, DOCUMENTS)[LAYER]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for variant in variants:
        if variant not in ("joint", "separate") and not _is_rank(variant):
            parser.error(f"unknown variant {variant!r}: use joint, separate or rank<weight> such as rank1")
    joint: dict[str, tuple[list[SampleFeatures], list[SampleFeatures]]] = {
        "stage1": data[1],
        "stage2": data[2],
        "documents": documents,
    }
    sources = {"joint": joint}
    if "separate" in variants:
        sources["separate"] = read_queries_alone(joint, requests[1], requests[2])
    rows = []
    for variant in variants:
        source = sources.get(variant, joint)
        rank = float(variant[4:]) if variant.startswith("rank") else 0.0
        hidden = int(source["stage1"][0][0].blocks[0].context.shape[-1])
        head_config = HeadConfig(layers=LAYER, hidden_size=hidden, objective="bce")
        started = time.perf_counter()
        first = train_head(*source["stage1"], head_config, TrainConfig(epochs=EPOCHS[1], rank_weight=rank))
        second = train_head(
            *source["stage2"],
            head_config,
            TrainConfig(epochs=EPOCHS[2], rank_weight=rank),
            init=first.head,
            documents=source["documents"][0],
            validation_documents=source["documents"][1],
        )
        best = second.history[second.best_epoch - 1]
        row = {
            "variant": variant,
            "stage1_recall": round(first.history[first.best_epoch - 1]["val_recall"], 3),
            "stage2_recall": round(best["val_recall"], 3),
            "stage2_best_epoch": second.best_epoch,
            "stage2_per_task": per_task(second, source["stage2"][1]),
            **{k: round(v, 3) for k, v in document_separation(second.head, source["documents"][1]).items()},
            "train_seconds": round(time.perf_counter() - started, 1),
        }
        rows.append(row)
        logging.info("%s", json.dumps(row))
        if args.save:
            save_head(second.head, Path(args.save) / variant, extra={"variant": variant, "row": row})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


def _is_rank(variant: str) -> bool:
    try:
        return variant.startswith("rank") and float(variant[4:]) > 0
    except ValueError:
        return False


if __name__ == "__main__":
    main()
