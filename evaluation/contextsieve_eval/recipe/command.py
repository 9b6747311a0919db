"""The ``contextsieve train`` subcommand: build a stage's data, cache draft states, train and save the head."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from contextsieve.cli import SubCommand
from contextsieve.errors import ConfigError

if TYPE_CHECKING:
    from contextsieve.training.features import Labelled

__all__ = [
    "COMMAND",
    "StageFeatures",
    "StageRequest",
    "add_train_parser",
    "document_features",
    "run_train_command",
    "stage_features",
    "stage_items",
]

logger = logging.getLogger(__name__)

StageFeatures = tuple[list[Any], list[Any]]
"""Training and validation :class:`~contextsieve.training.features.SampleFeatures` of one layer."""


def add_train_parser(sub: Any) -> None:
    """Register ``train`` on the CLI's subparsers."""
    from contextsieve_eval.recipe.stages import STAGES

    tr = sub.add_parser(
        "train", help="train the cross-attention scoring head (stage 1, then each next stage with --init)"
    )
    stages = "; ".join(f"{n}: {data.summary}" for n, data in STAGES.items())
    tr.add_argument("--stage", type=int, choices=sorted(STAGES), required=True, help=stages)
    tr.add_argument("--out", required=True, help="folder for head.safetensors, head_config.json and train_log.json")
    tr.add_argument(
        "--init", default=None, help="head folder to start from (each stage after the first starts from the one before)"
    )
    tr.add_argument("--draft", default="smollm2-135m", help="frozen draft model (registered name or folder)")
    tr.add_argument("--layers", type=int, default=8, help="draft layers the head reads (default 8)")
    tr.add_argument("--objective", choices=["mass", "bce"], default="mass", help="training objective")
    tr.add_argument("--heads", type=int, default=None, help="attention heads of the scoring layer (default 4)")
    tr.add_argument("--head-dim", type=int, default=None, help="query/key width per head (default 64)")
    tr.add_argument("--lengths", default="512,1k,2k,4k", help="haystack lengths in draft tokens")
    tr.add_argument("--samples", type=int, default=20, help="training samples per task and length")
    tr.add_argument("--val-samples", type=int, default=4, help="validation samples per task and length")
    tr.add_argument("--epochs", type=int, default=8)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument(
        "--documents",
        type=int,
        default=3,
        help="stage 2: per RAG sample, also train on its answering document and this many others, each read alone "
        "(0: none)",
    )
    tr.add_argument(
        "--presence-weight",
        type=float,
        default=0.0,
        help="bce: weight of the block-level term (a block's best window reaches 0.5 only if it holds evidence)",
    )
    tr.add_argument(
        "--rank-weight",
        type=float,
        default=0.0,
        help="bce: weight of the chunk ranking term (every evidence chunk above the block's other chunks)",
    )
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--cache", default=None, help="folder caching draft states (default: $CONTEXTSIEVE_CACHE/train)")
    tr.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")


@dataclass(frozen=True)
class StageRequest:
    """Which samples a stage's draft states are extracted from: the stage, draft, lengths, counts and seed."""

    stage: int
    draft: str
    lengths: tuple[int, ...]
    samples: int
    val_samples: int
    seed: int

    def cache_name(self, layer: int) -> str:
        """File stem of this request's cached states at ``layer``."""
        name = Path(self.draft).name
        spec = json.dumps([name, self.stage, layer, list(self.lengths), self.samples, self.val_samples, self.seed, 1])
        return f"{name}-stage{self.stage}-L{layer}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"


def stage_features(
    request: StageRequest, layers: Sequence[int], cache: Path, device: str | None = None
) -> dict[int, StageFeatures]:
    """Training and validation features of a stage per draft layer, from the cache or by running the draft once."""
    paths = {layer: cache / f"{request.cache_name(layer)}.pt" for layer in layers}
    return _cached(paths, lambda missing: _extract(request, missing, device, documents=0), "stage states")


def document_features(
    request: StageRequest, layers: Sequence[int], cache: Path, negatives: int, device: str | None = None
) -> dict[int, StageFeatures]:
    """Single-document features of a stage (answering and ``negatives`` other documents per sample), cached."""
    paths = {layer: cache / f"{request.cache_name(layer)}-documents{negatives}.pt" for layer in layers}
    return _cached(paths, lambda missing: _extract(request, missing, device, documents=negatives), "documents")


def _cached(
    paths: dict[int, Path], extract: Callable[[list[int]], dict[int, StageFeatures]], what: str
) -> dict[int, StageFeatures]:
    """Load each layer's features from ``paths``; run ``extract`` once for the missing layers and save them."""
    import torch

    found = {layer: torch.load(p, weights_only=False) for layer, p in paths.items() if p.is_file()}
    missing = [layer for layer in paths if layer not in found]
    if missing:
        logger.info("extracting draft states (%s), layers %s", what, missing)
        for layer, features in extract(missing).items():
            paths[layer].parent.mkdir(parents=True, exist_ok=True)
            partial = paths[layer].with_suffix(".tmp")
            torch.save(features, partial)
            partial.replace(paths[layer])
            found[layer] = features
    return {layer: found[layer] for layer in paths}


def _extract(
    request: StageRequest, layers: Sequence[int], device: str | None, *, documents: int
) -> dict[int, StageFeatures]:
    """Run the draft over the stage's samples, or (``documents`` > 0) over their single documents."""
    import torch

    from contextsieve.device import resolve_device
    from contextsieve.models import resolve_model
    from contextsieve.scoring.loading import draft_pad_id, load_draft, truncate_layers
    from contextsieve.training.features import extract_features

    model, tokenizer = load_draft(resolve_model(request.draft).path, dtype=torch.float32, attn_implementation="sdpa")
    truncate_layers(model, max(layers))
    model.to(resolve_device(device)).eval()

    pad = draft_pad_id(tokenizer, model)
    train_items, val_items = stage_items(request, tokenizer, documents=documents)
    train_f = extract_features(train_items, model, tokenizer, layers=layers, pad_id=pad)
    val_f = extract_features(val_items, model, tokenizer, layers=layers, pad_id=pad)
    return {layer: (train_f[layer], val_f[layer]) for layer in layers}


def stage_items(request: StageRequest, tokenizer: Any, *, documents: int = 0) -> tuple[list[Labelled], list[Labelled]]:
    """Rebuild the training and validation items a stage's cached features were extracted from, in order.

    With ``documents`` > 0, the single-document items of the stage's multi-document tasks.
    """
    from contextsieve.training.data import document_items
    from contextsieve_eval.recipe.stages import STAGES, stage_samples
    from contextsieve_eval.tasks import build_samples

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def items(samples: int, seed: int, skip: int) -> list[Labelled]:
        if not documents:
            return list(stage_samples(request.stage, count, request.lengths, samples, seed, skip=skip))
        data = STAGES[request.stage]
        drawn = [
            sample
            for task in data.documents
            for sample in build_samples(
                (task,), count, request.lengths, data.samples_of(task, samples), seed=seed, split="train"
            )
        ]
        return list(document_items(drawn, negatives=documents, seed=seed))

    # A real task's questions do not depend on the seed: validation takes its first ones, training those after.
    return items(request.samples, request.seed, request.val_samples), items(request.val_samples, request.seed + 1000, 0)


def run_train_command(args: argparse.Namespace, out: TextIO) -> None:
    """Run one training stage and save the head (best validation epoch) with its log."""
    from contextsieve.config import validated
    from contextsieve.models.cache import cache_root
    from contextsieve.models.heads import load_head, save_head
    from contextsieve.scoring.head import HeadConfig
    from contextsieve.training.trainer import TrainConfig, train_head
    from contextsieve_eval.recipe.stages import STAGES
    from contextsieve_eval.runner import parse_length

    try:
        lengths = [parse_length(v) for v in args.lengths.split(",") if v.strip()]
    except ValueError as exc:
        msg = f"bad --lengths {args.lengths!r}: {exc}"
        raise ConfigError(msg) from exc
    if not lengths or args.samples < 1 or args.val_samples < 1 or args.epochs < 1 or args.layers < 1:
        msg = "--lengths, --samples, --val-samples, --epochs and --layers must be positive"
        raise ConfigError(msg)
    if args.documents < 0 or args.presence_weight < 0 or args.rank_weight < 0:
        msg = "--documents, --presence-weight and --rank-weight must not be negative"
        raise ConfigError(msg)
    weighted = [
        flag for flag, w in (("--presence-weight", args.presence_weight), ("--rank-weight", args.rank_weight)) if w
    ]
    if weighted and args.objective != "bce":
        verb = "needs" if len(weighted) == 1 else "need"
        msg = f"{' and '.join(weighted)} {verb} --objective bce (the terms read its per-token logits)"
        raise ConfigError(msg)
    if args.stage > 1 and args.init is None:
        logger.warning(
            "stage %d without --init trains from scratch; the recipe starts from the previous stage's head", args.stage
        )
    init = load_head(args.init) if args.init else None
    shape = {"heads": args.heads, "head_dim": args.head_dim}
    options = {
        "draft": _draft_reference(args.draft),
        "layers": args.layers,
        "objective": args.objective,
        **{k: v for k, v in shape.items() if v is not None},
    }
    validated(HeadConfig, hidden_size=1, **options)  # bad options fail here, before the draft runs for minutes
    if init is not None:
        _check_init(init.config, options)
    started = time.perf_counter()
    cache = Path(args.cache) if args.cache else cache_root() / "train"
    request = StageRequest(args.stage, args.draft, tuple(lengths), args.samples, args.val_samples, args.seed)
    features = stage_features(request, (args.layers,), cache, args.device)
    train, val = features[args.layers]
    documents: StageFeatures = ([], [])
    if args.documents and STAGES[args.stage].documents:
        documents = document_features(request, (args.layers,), cache, args.documents, args.device)[args.layers]
    hidden = int(train[0].blocks[0].context.shape[-1])
    head_config = init.config if init is not None else validated(HeadConfig, hidden_size=hidden, **options)
    config = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
        presence_weight=args.presence_weight,
        rank_weight=args.rank_weight,
    )

    def log(row: dict[str, float]) -> None:
        out.write(
            f"stage {args.stage} epoch {int(row['epoch'])}: loss {row['loss']:.4f}, "
            f"validation recall@{config.rate} {row['val_recall']:.3f}, validation loss {row['val_loss']:.4f}"
            + (
                f", documents AUC {row['doc_auc']:.3f} (kept {row['doc_kept']:.2f}, dropped {row['doc_dropped']:.2f})"
                if "doc_auc" in row
                else ""
            )
            + f" ({row['seconds']:.1f}s)\n"
        )
        out.flush()

    result = train_head(
        train,
        val,
        head_config,
        config,
        init=init,
        on_epoch=log,
        documents=documents[0],
        validation_documents=documents[1],
    )
    extra = {
        "stage": args.stage,
        "init": str(args.init) if args.init else None,
        "train": config.model_dump(),
        "data": {
            "lengths": lengths,
            "samples": args.samples,
            "val_samples": args.val_samples,
            "train_samples": len(train),
            "train_blocks": sum(len(s.blocks) for s in train),
            "documents": args.documents if documents[0] else 0,
            "train_documents": len(documents[0]),
            "val_samples_total": len(val),
        },
        "history": result.history,
        "best_epoch": result.best_epoch,
        "command": "contextsieve " + shlex.join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {platform.system()}, {_cores()} cores",
        "seconds": round(time.perf_counter() - started, 1),
    }
    folder = save_head(result.head, args.out, extra=extra)
    best = result.history[result.best_epoch - 1]["val_recall"]
    out.write(f"saved {folder} (epoch {result.best_epoch}, validation recall {best:.3f})\n")


_INIT_FLAGS = {
    "draft": "--draft",
    "layers": "--layers",
    "objective": "--objective",
    "heads": "--heads",
    "head_dim": "--head-dim",
}


def _check_init(init: Any, options: dict[str, Any]) -> None:
    """Refuse options that contradict the ``--init`` head's config (its layers, objective and shape win otherwise)."""
    clashes = [
        f"{flag} {options[k]!r} (the head has {getattr(init, k)!r})"
        for k, flag in _INIT_FLAGS.items()
        if k in options and options[k] != getattr(init, k)
    ]
    if clashes:
        msg = f"--init head does not match: {', '.join(clashes)}; leave these options out or match the head"
        raise ConfigError(msg)


def _draft_reference(draft: str) -> str:
    """Refer to a draft folder by its absolute path (so the head can find it), to a registered name as is."""
    folder = Path(draft).expanduser()
    return str(folder.resolve()) if folder.is_dir() else draft


def _cores() -> int:
    import os

    return os.cpu_count() or 1


COMMAND = SubCommand(add_parser=add_train_parser, run=run_train_command)
"""The ``train`` subcommand, registered under the ``contextsieve.commands`` entry points."""
