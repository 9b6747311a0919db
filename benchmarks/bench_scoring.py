"""Scoring throughput, peak memory and needle recall of the draft-attention scorer.

Each throughput point runs in its own subprocess so that peak RSS belongs to that length alone.
Writes ``results.json`` and ``results.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

QUERY = "What is the secret code of the Halvorsen vault?"


def _one_throughput(length: int, layers: int | None, options: dict[str, int | str]) -> dict[str, float]:
    from contextsieve import Compressor
    from contextsieve_eval import prose_corpus

    options = dict(options)
    model = str(options.pop("model", "smollm2-135m"))
    if layers is not None:  # an explicit layers=None would still count as a draft option
        options["layers"] = layers
    compressor = Compressor.from_pretrained(model, **options)
    paragraphs = prose_corpus()
    tokenizer = compressor.scorer.tokenizer
    pieces: list[str] = []
    total, i = 0, 0
    while total < length + 64:
        paragraph = paragraphs[i % len(paragraphs)]  # the corpus (~100k tokens) repeats for 128k
        pieces.append(paragraph)
        total += len(tokenizer(paragraph + "\n\n", add_special_tokens=False)["input_ids"])
        i += 1
    text = "\n\n".join(pieces)
    tokens = compressor.scorer.tokenize(text)
    cut = int(tokens.offsets[length - 1, 1])
    text = text[:cut]
    compressor.compress(text[:2000], QUERY, rate=0.5)  # warm-up: lazy initialisation is not scoring time
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    compressor.compress(text, QUERY, rate=0.1)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "tokens": length,
        "seconds": seconds,
        "tokens_per_s": length / seconds,
        "peak_rss_mb": peak,
        "rss_after_load_mb": rss_loaded,
    }


def _throughput(lengths: list[int], layers: int | None, options: dict[str, int | str]) -> list[dict[str, float]]:
    rows = []
    for length in lengths:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            str(length),
            "--layers",
            str(layers or 0),
            "--options",
            json.dumps(options),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"  layers={layers or 'all'} {length:>7} tokens: {row['tokens_per_s']:.0f} tok/s, "
            f"peak {row['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        rows.append(row)
    return rows


def _recall(lengths: list[int], rates: list[float], layers: int | None, options: dict[str, int]) -> list[dict]:
    from contextsieve import Compressor
    from contextsieve_eval import needle_samples

    compressor = Compressor.from_pretrained(layers=layers, **options)
    tokenizer = compressor.scorer.tokenizer

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    rows = []
    for length in lengths:
        samples = needle_samples(count, length)
        for rate in rates:
            hits = 0
            for sample in samples:
                result = compressor.compress(sample.text, sample.question, rate=rate)
                hits += sample.needle in result.text
            row = {
                "tokens": length,
                "rate": rate,
                "layers": layers or "all",
                **options,
                "found": hits,
                "samples": len(samples),
                "recall": hits / len(samples),
            }
            print(
                f"  layers={layers or 'all'} {options or ''} {length} tokens rate {rate}: {hits}/{len(samples)}",
                flush=True,
            )
            rows.append(row)
    return rows


def _markdown(report: dict) -> str:
    lines = [
        f"# contextsieve scoring benchmark\n\nMachine: {report['machine']}  \nCommand: `{report['command']}`\n",
        "## Throughput (one compress call at rate 0.1, model load excluded)\n",
        "| variant | tokens | tokens/s | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    for row in report.get("throughput", []):
        variant = row.get("variant", f"layers={row['layers']}")
        lines.append(f"| {variant} | {row['tokens']} | {row['tokens_per_s']:.0f} | {row['peak_rss_mb']:.0f} |")
    lines += [
        "",
        "## Needle recall (the needle sentence kept intact; 3 needles x 3 depths per cell)\n",
        "| layers | variant | tokens | rate | found | recall |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.get("recall", []):
        variant = ", ".join(f"{k}={v}" for k, v in row.items() if k in {"block_tokens", "pool_kernel"}) or "default"
        lines.append(
            f"| {row['layers']} | {variant} | {row['tokens']} | {row['rate']} | "
            f"{row['found']}/{row['samples']} | {row['recall']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark (or one throughput point with --one)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--lengths", default="2048,8192,32768,131072")
    parser.add_argument("--recall-lengths", default="2048,8192")
    parser.add_argument("--rates", default="0.1,0.25")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--layers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["throughput", "recall"], help="run one part only")
    parser.add_argument(
        "--variants",
        default="full,lookahead0,l8,head,sentences,sieve",
        help="throughput variants: full, lookahead0, l8, head, sentences, sieve, lingua",
    )
    parser.add_argument(
        "--dtypes",
        default="",
        help="comma-separated dtypes to time each variant in (e.g. float32,bfloat16); default: the device's own",
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one_throughput(args.one, args.layers or None, json.loads(args.options))))
        return
    lengths = [int(x) for x in args.lengths.split(",")]
    recall_lengths = [int(x) for x in args.recall_lengths.split(",")]
    rates = [float(x) for x in args.rates.split(",")]
    out = Path(args.out)
    previous = out / "results.json"
    report: dict = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    report.update(
        {
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
            f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
            "command": " ".join(["python", *sys.argv]),
        }
    )
    if args.only in (None, "throughput"):
        kept = report.get("throughput", []) if args.only else []
        variants: dict[str, tuple[str, int | None, dict[str, int | str], list[int]]] = {
            "full": ("full draft", None, {}, lengths),
            "lookahead0": ("full draft, lookahead=0", None, {"lookahead": 0}, [n for n in lengths if n <= 8192]),
            "l8": ("first 8 layers", 8, {}, lengths),
            "head": ("trained head (smollm2-135m-head)", None, {"model": "smollm2-135m-head"}, lengths),
            "sentences": ("sentence scorer (minilm-l6)", None, {"model": "minilm-l6"}, lengths),
            "sieve": ("sentence scorer (minilm-l6-sieve)", None, {"model": "minilm-l6-sieve"}, lengths),
            "lingua": ("encoder classifier (minilm-l6-lingua)", None, {"model": "minilm-l6-lingua"}, lengths),
        }
        dtypes = [d for d in args.dtypes.split(",") if d] or [None]
        chosen = [
            (f"{name}, {dtype}" if dtype else name, layers, {**options, "dtype": dtype} if dtype else options, sizes)
            for key in args.variants.split(",")
            for name, layers, options, sizes in [variants[key]]
            for dtype in dtypes
        ]
        for name, layers, options, sizes in chosen:
            print(f"throughput, {name}", flush=True)
            for row in _throughput(sizes, layers, options):
                fresh = {"variant": name, "layers": layers or "all", **row}
                kept = [r for r in kept if (r.get("variant"), r["tokens"]) != (name, row["tokens"])] + [fresh]
        report["throughput"] = sorted(kept, key=lambda r: (str(r.get("variant")), r["tokens"]))
    if args.only in (None, "recall"):
        report["recall"] = []
        for layers in (None, 8):
            print(f"needle recall, layers={layers or 'all'}", flush=True)
            report["recall"] += _recall(recall_lengths, rates, layers, {})
        print("needle recall, one pass over 8k (block_tokens=8192)", flush=True)
        report["recall"] += _recall([8192], rates, None, {"block_tokens": 8192})
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2))
    (out / "results.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
