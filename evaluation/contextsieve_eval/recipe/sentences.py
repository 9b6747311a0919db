"""The sentence scorer's recipe: all-MiniLM-L6-v2 fine-tuned contrastively on real evidence (training splits only).

Examples (the reserved HotpotQA half is never loaded):

* HotpotQA's training quarter: the question and each supporting-fact sentence (read as the scorer reads it, after
  its paragraph's title), against other sentences of the question's 10 paragraphs (the distractors share the
  question's words); and the second hop: the question joined with one supporting fact, against the other
  supporting fact (what the scorer's second-hop query looks for);
* SQuAD's training articles: the question and the sentence holding its answer, against the paragraph's other
  sentences;
* with ``--synthetic N``, N chains per generated multi-hop task (training split): the question and each fact of
  the chain, and the question joined with one fact and each other fact (the second hop), against the haystack's
  other sentences (so a fine-tune on people's questions does not forget a chain whose later links share no word
  with it).

Run ``python -m contextsieve_eval.recipe.sentences --out heads/sentences``; every epoch writes the model folder
(loadable with ``Compressor.from_pretrained``) and a ``log.jsonl`` line, and ``--resume`` continues from the last
finished epoch. ``--delta DIR`` also writes what changed from the base as a shipped weight delta
(:mod:`contextsieve.models.deltas`); with ``--epochs 0`` it only writes the delta of the model in ``--out``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CHAIN_TASKS",
    "chain_examples",
    "finished_epochs",
    "hotpot_examples",
    "init_model",
    "log_epoch",
    "main",
    "minilm_base",
    "recipe_parser",
    "squad_examples",
    "synthetic_examples",
]

logger = logging.getLogger(__name__)


def _unit(title: str, sentence: str) -> str:
    return f"{title}\n{sentence.strip()}"


def hotpot_examples(
    split: str = "train", *, limit: int | None = None, seed: int = 0, exclude: frozenset[str] = frozenset()
) -> list[Any]:
    """Return ranking examples from HotpotQA's ``split`` (first- and second-hop queries), skipping ``exclude`` ids."""
    from contextsieve.training import RankingExample
    from contextsieve_eval.real import source

    rng = random.Random(seed)
    questions = [q for q in source.hotpot_questions(split) if q.id not in exclude]
    rng.shuffle(questions)
    out: list[Any] = []
    for question in questions[:limit]:
        texts = dict(question.paragraphs)
        facts = [
            (t, i) for t, i in question.supporting if t in texts and 0 <= i < len(texts[t]) and texts[t][i].strip()
        ]
        if len(facts) != len(question.supporting):
            continue
        gold = {(t, i) for t, i in facts}
        negatives = tuple(
            _unit(t, s)
            for t, sentences in question.paragraphs
            for i, s in enumerate(sentences)
            if (t, i) not in gold and s.strip()
        )
        units = [_unit(t, texts[t][i]) for t, i in facts]
        for unit in units:
            out.append(RankingExample(question.question, unit, negatives))
        for (title, _), unit in zip(facts, units, strict=True):
            others = [u for (t, _), u in zip(facts, units, strict=True) if t != title]
            if others:
                out.append(RankingExample(f"{question.question} {rng.choice(others)}", unit, negatives))
    return out


def squad_examples(split: str = "train", *, limit: int | None = None, seed: int = 0) -> list[Any]:
    """Return ranking examples from SQuAD's ``split``: the answer sentence against its paragraph's others."""
    from contextsieve.training import RankingExample
    from contextsieve_eval import corpora
    from contextsieve_eval.real import source

    articles = source.squad_articles(split)
    questions = list(source.squad_questions(split))
    random.Random(seed).shuffle(questions)
    out: list[Any] = []
    for question in questions[:limit]:
        paragraph = articles[question.article].paragraphs[question.paragraph]
        bounds = [0, *corpora.sentence_starts(paragraph), len(paragraph)]
        sentences = [paragraph[a:b].strip() for a, b in itertools.pairwise(bounds)]
        index = max(k for k, a in enumerate(bounds[:-1]) if a <= question.answer_start)
        negatives = tuple(s for k, s in enumerate(sentences) if k != index and s)
        if sentences[index] and negatives:
            out.append(RankingExample(question.question, sentences[index], negatives))
    return out


CHAIN_TASKS = ("multihop", "multihop-gap")
"""Generated tasks whose gold units are a chain (``--synthetic`` draws from them): each link also answers the question
joined with another link."""


def chain_examples(samples: Sequence[Any], *, negatives: int = 16, seed: int = 0) -> list[Any]:
    """Return ranking examples from chain samples: the question, and the question joined with one fact, per fact.

    Each fact is ranked against up to ``negatives`` of the context's sentences that hold no fact.
    """
    from contextsieve.training import RankingExample
    from contextsieve_eval import corpora

    rng = random.Random(seed)
    out: list[Any] = []
    for sample in samples:
        sentences = corpora.split_sentences(sample.context)
        others = [s for s in sentences if not any(g in s or s in g for g in sample.gold)]
        pool = tuple(rng.sample(others, min(negatives, len(others))))
        if not pool:
            continue
        for fact in sample.gold:
            out.append(RankingExample(sample.question, fact, pool))
            out.extend(RankingExample(f"{sample.question} {o}", fact, pool) for o in sample.gold if o != fact)
    return out


def synthetic_examples(per_task: int, *, length: int = 1024, seed: int = 0) -> list[Any]:
    """Return :func:`chain_examples` of ``per_task`` chains per generated multi-hop task (training split)."""
    from contextsieve.counting import make_counter
    from contextsieve_eval.tasks import build_samples

    counter = make_counter("gemma3-270m", None)
    return chain_examples(build_samples(CHAIN_TASKS, counter, [length], per_task, seed, "train"), seed=seed)


def _from_folder(folder: str) -> tuple[Any, Any]:
    """Load a saved encoder folder and its tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


def minilm_base() -> tuple[Any, Any]:
    """Load all-MiniLM-L6-v2 (the base every recipe starts from) and its tokenizer."""
    from contextsieve.models.sentences import SENTENCE_MODELS, sentence_folder

    return _from_folder(str(sentence_folder(SENTENCE_MODELS["minilm-l6"])))


def init_model(name_or_folder: str) -> tuple[Any, Any]:
    """Load what a further fine-tune starts from: a saved model folder, or a model name such as ``minilm-l6-sieve``."""
    if Path(name_or_folder).is_dir():
        return _from_folder(name_or_folder)
    from contextsieve import Compressor
    from contextsieve.scoring.sentences import SentenceScorer

    scorer = Compressor.from_pretrained(name_or_folder, device="cpu", dtype="float32").scorer  # trains in fp32
    if not isinstance(scorer, SentenceScorer):
        msg = f"{name_or_folder!r} is not a sentence model, so the sentence recipe cannot start from it"
        raise SystemExit(msg)
    return scorer.model, scorer.tokenizer


def recipe_parser(description: str, *, lr: float, batch_size: int, delta: str) -> argparse.ArgumentParser:
    """Return the arguments both recipes take (output, data, epochs, delta, optimiser, seed, resume)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", required=True)
    parser.add_argument("--hotpot", type=int, default=None, help="HotpotQA training questions (default: all)")
    parser.add_argument("--squad", type=int, default=None, help="SQuAD training questions (default: all)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--delta", default=None, help=delta)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue after the last finished epoch")
    return parser


def finished_epochs(log: Path, *, resume: bool) -> list[dict[str, Any]]:
    """Return the rows of the epochs ``log`` records as finished (none unless resuming)."""
    return [json.loads(line) for line in log.read_text().splitlines()] if resume and log.is_file() else []


def log_epoch(log: Path, epoch: int, loss: float, examples: int, started: float) -> None:
    """Append one finished epoch (loss, examples, seconds since ``started``) to ``log``."""
    with log.open("a", encoding="utf-8") as handle:
        row = {"epoch": epoch, "loss": loss, "examples": examples}
        handle.write(json.dumps({**row, "seconds": time.perf_counter() - started}) + "\n")


def write_delta(model: Any, folder: Path) -> None:
    """Write ``model``'s difference from all-MiniLM-L6-v2 into ``folder``, with default fusion options if it has none.

    A folder that already holds fusion options (a shipped model's, with its reranker) keeps them.
    """
    from contextsieve.models.deltas import save_delta
    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve.scoring.sentences import SENTENCE_CONFIG_FILE, SentenceConfig

    base, _ = minilm_base()
    save_delta(model, base, folder, base_name=SENTENCE_MODELS["minilm-l6"].package.pin)
    options = folder / SENTENCE_CONFIG_FILE
    if not options.exists():
        options.write_text(SentenceConfig().model_dump_json(indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Build the examples, fine-tune epoch by epoch, and write the model folder and its log."""
    from transformers import AutoModel

    from contextsieve.scoring.sentences import save_sentences
    from contextsieve.training import SentenceTrainConfig, train_sentences

    delta = "also write the weight delta over the base into this folder"
    parser = recipe_parser(__doc__.splitlines()[0], lr=2e-5, batch_size=32, delta=delta)
    parser.add_argument("--freeze-word-embeddings", action="store_true", help="train the layers only")
    parser.add_argument("--synthetic", type=int, default=0, help="chains per generated multi-hop task (default: none)")
    parser.add_argument("--init", default=None, help="start from this model folder or name instead of the base")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    log = out / "log.jsonl"
    done = finished_epochs(log, resume=args.resume)
    if args.epochs == 0 and args.delta:
        write_delta(AutoModel.from_pretrained(str(out)), Path(args.delta))
        return
    if done or args.init:
        model, tokenizer = init_model(str(out) if done else args.init)
    else:
        model, tokenizer = minilm_base()
    examples = hotpot_examples(limit=args.hotpot, seed=args.seed) + squad_examples(limit=args.squad, seed=args.seed)
    if args.synthetic:
        examples += synthetic_examples(args.synthetic, seed=args.seed)
    logger.info("%d examples; %d epoch(s) already done", len(examples), len(done))
    out.mkdir(parents=True, exist_ok=True)
    for epoch in range(len(done), args.epochs):
        started = time.perf_counter()
        config = SentenceTrainConfig(
            epochs=1,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed + epoch,
            freeze_word_embeddings=args.freeze_word_embeddings,
        )
        (loss,) = train_sentences(model, tokenizer, examples, config, progress=True)
        save_sentences(model, tokenizer, out)
        log_epoch(log, epoch + 1, loss, len(examples), started)
        if args.delta:
            write_delta(model, Path(args.delta))


if __name__ == "__main__":
    main()
