"""Time ``compress_documents`` against a reference on the same HotpotQA report-split calls, in one process.

With an encoder classifier (the default ``--model``), a call's documents read as one stream against each read
apart: both load the same weights (the second from a copy of the model folder with ``"pack_documents": false``).
With a causal draft (``--model smollm2-135m``), the documents path (reuse on, as shipped, and off) against the same
text compressed as one context; every call gets a scorer with an empty reuse store over the one loaded model, so no
call reuses another's states. Variants alternate call by call, so their ratio is measured in one run on a noisy
machine. The score cache is off.

    python benchmarks/bench_documents.py --lengths 4096,16384 --samples 3 --out bench-results/documents
    python benchmarks/bench_documents.py --model smollm2-135m --lengths 16384,32768 --samples 2 --repeats 1 \
        --out bench-results/documents-draft
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _apart_copy(model: str, folder: Path) -> Path:
    """Copy the model's folder with ``pack_documents`` off; return the copy."""
    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve.scoring.encoder import ENCODER_CONFIG_FILE

    shipped = SENTENCE_MODELS[model].delta_folder
    if shipped is None:
        msg = f"{model} ships no folder to copy"
        raise SystemExit(msg)
    copy = folder / "apart"
    shutil.copytree(shipped, copy)
    config = json.loads((copy / ENCODER_CONFIG_FILE).read_text(encoding="utf-8"))
    (copy / ENCODER_CONFIG_FILE).write_text(json.dumps({**config, "pack_documents": False}), encoding="utf-8")
    return copy


Call = Callable[[list[str], str, str, float], Any]
"""One variant: compress a call's documents (or the context they span) under its question at a rate."""


def _encoder_variants(model: str, folder: Path) -> tuple[dict[str, Call], Any]:
    """Return calls of the encoder classifier reading a call's documents as one stream, and each apart (reference)."""
    from contextsieve import Compressor

    stream = Compressor.from_pretrained(model, score_cache=0)
    apart = Compressor.from_pretrained(str(_apart_copy(model, folder)), score_cache=0)
    variants: dict[str, Call] = {
        "one stream": lambda docs, _, question, rate: stream.compress_documents(docs, question, rate=rate),
        "apart": lambda docs, _, question, rate: apart.compress_documents(docs, question, rate=rate),
    }
    return variants, apart.scorer


def _draft_variants(model: str) -> tuple[dict[str, Call], Any]:
    """Return calls of a draft on the documents path, reuse on and off, and the text as one context (reference)."""
    from contextsieve import Compressor
    from contextsieve.scoring.draft import DraftAttentionScorer

    loaded = Compressor.from_pretrained(model, score_cache=0).scorer
    if not isinstance(loaded, DraftAttentionScorer):
        msg = f"{model} is neither an encoder classifier nor a causal draft (draft attention)"
        raise SystemExit(msg)

    def fresh(**options: Any) -> Any:  # the loaded model under an empty store: no call reuses another's states
        config = loaded.config.model_copy(update=options)
        return Compressor(type(loaded)(loaded.model, loaded.tokenizer, config, name=loaded.name))

    variants: dict[str, Call] = {
        "documents": lambda docs, _, question, rate: fresh().compress_documents(docs, question, rate=rate),
        "documents, reuse off": lambda docs, _, question, rate: fresh(reuse_mb=0).compress_documents(
            docs, question, rate=rate
        ),
        "one context": lambda _, context, question, rate: fresh().compress(context, question, rate=rate),
    }
    return variants, loaded


def _run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from contextsieve.counting import make_counter
    from contextsieve.models.sentences import SENTENCE_MODELS
    from contextsieve_eval.tasks.registry import build_samples

    counter = make_counter("gemma3-270m", None)
    lengths = [int(x) for x in args.lengths.split(",")]
    samples = build_samples(["hotpotqa"], counter, lengths, args.samples, paths=("documents",))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.model in SENTENCE_MODELS:
            variants, scorer = _encoder_variants(args.model, Path(tmp))
        else:
            variants, scorer = _draft_variants(args.model)
        reference = list(variants)[-1]
        first = samples[0]
        warm_up = first.document_texts[:3]
        for call in variants.values():  # lazy initialisation is not scoring time
            call(warm_up, "\n\n".join(warm_up), first.question, 0.5)
        for length in lengths:
            mine = [s for s in samples if s.length == length]
            seconds = dict.fromkeys(variants, 0.0)
            tokens = 0
            for sample in mine:
                tokens += sum(len(scorer.tokenize(text)) for text in sample.document_texts) * args.repeats
                for _ in range(args.repeats):
                    for name, call in variants.items():
                        started = time.perf_counter()
                        call(sample.document_texts, sample.context, sample.question, args.rate)
                        seconds[name] += time.perf_counter() - started
            documents = sum(len(s.documents) for s in mine) / len(mine)
            for name, spent in seconds.items():
                rows.append(
                    {
                        "length": length,
                        "variant": name,
                        "documents_per_call": documents,
                        "calls": len(mine) * args.repeats,
                        "seconds": spent,
                        "tokens_per_s": tokens / spent,
                        "reference": reference,
                        "speedup_over_reference": seconds[reference] / spent,
                    }
                )
                print(f"  {length:>6} {name:>20}: {tokens / spent:,.0f} tokens/s", flush=True)
    return rows


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Machine: {report['machine']['processor']}, {report['machine']['cpus']} CPUs; command: `{report['command']}`",
        "",
        "| length | variant | documents per call | calls | tokens/s | speed-up over "
        f"{report['rows'][0]['reference']} |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['length']:,} | {r['variant']} | {r['documents_per_call']:.0f} | {r['calls']} | "
            f"{r['tokens_per_s']:,.0f} | {r['speedup_over_reference']:.2f}× |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write results.json and results.md under --out."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm-l6-lingua", help="a registered encoder classifier or causal draft")
    parser.add_argument("--lengths", default="4096,16384")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--out", default="bench-results/documents")
    args = parser.parse_args()
    from contextsieve_eval.runner import machine_info

    report = {"machine": machine_info(), "command": " ".join(["python", *sys.argv]), "rows": _run(args)}
    text = _markdown(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in (("results.json", json.dumps(report, indent=1) + "\n"), ("results.md", text)):
        (out / name).write_text(content, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
