"""Time ``compress_documents`` with an encoder classifier reading a call's documents as one stream or each apart.

Both variants load the same weights (the second from a copy of the model folder with ``"pack_documents": false``)
and score the same HotpotQA report-split samples on the documents path, alternating call by call in one process,
so their ratio is measured in one run on a noisy machine. The score cache is off.

    python benchmarks/bench_documents.py --lengths 4096,16384 --samples 3 --out bench-results/documents
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
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


def _run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from contextsieve import Compressor
    from contextsieve.counting import make_counter
    from contextsieve_eval.tasks.registry import build_samples

    counter = make_counter("gemma3-270m", None)
    lengths = [int(x) for x in args.lengths.split(",")]
    samples = build_samples(["hotpotqa"], counter, lengths, args.samples, paths=("documents",))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        variants = {
            "one stream": Compressor.from_pretrained(args.model, score_cache=0),
            "apart": Compressor.from_pretrained(str(_apart_copy(args.model, Path(tmp))), score_cache=0),
        }
        for compressor in variants.values():  # warm-up: lazy initialisation is not scoring time
            compressor.compress_documents(samples[0].document_texts[:3], samples[0].question, rate=0.5)
        for length in lengths:
            mine = [s for s in samples if s.length == length]
            seconds = dict.fromkeys(variants, 0.0)
            tokens = 0
            for sample in mine:
                texts = sample.document_texts
                tokens += sum(len(variants["apart"].scorer.tokenize(text)) for text in texts) * args.repeats
                for _ in range(args.repeats):
                    for name, compressor in variants.items():
                        started = time.perf_counter()
                        compressor.compress_documents(texts, sample.question, rate=args.rate)
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
                        "speedup_over_apart": seconds["apart"] / spent,
                    }
                )
                print(f"  {length:>6} {name:>10}: {tokens / spent:,.0f} tokens/s", flush=True)
    return rows


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Machine: {report['machine']['processor']}, {report['machine']['cpus']} CPUs; command: `{report['command']}`",
        "",
        "| length | variant | documents per call | calls | tokens/s | speed-up over apart |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['length']:,} | {r['variant']} | {r['documents_per_call']:.0f} | {r['calls']} | "
            f"{r['tokens_per_s']:,.0f} | {r['speedup_over_apart']:.2f}× |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write results.json and results.md under --out."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm-l6-lingua", help="a registered encoder classifier")
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
