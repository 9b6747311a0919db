"""How fast an encoder classifier could score on this machine: its arithmetic per context token against the machine's.

For one ``compress`` call over ``--length`` tokens of prose, the script counts every token position the encoder's
forward passes compute (padding included), split by pass (the first read and the hop's second), and turns the
model's shape into floating-point operations: the linear layers (query, key, value, output and the two feed-forward
matrices) and attention (scores and weighted sum). It then times, on this machine and in the model's dtype, the
matrix products of those shapes and scaled-dot-product attention of the windows' shape, and divides: the
throughput the scorer would reach if every forward pass ran at the speed of its own matrix products, with no other
work. Beside it, the measured throughput of the same call, and the same bound with the second pass left out and
with half the layers, the two ways to halve the arithmetic.

    python benchmarks/encoder_roofline.py --model minilm-l6-lingua --dtype float32 --length 32768 \
        --out bench-results/roofline
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

QUERY = "What is the secret code of the Halvorsen vault?"


def _prose(compressor: Any, length: int) -> str:
    """Prose of exactly ``length`` scorer tokens (the benchmark corpus, repeated if need be)."""
    from contextsieve_eval import prose_corpus

    paragraphs = prose_corpus()
    text = "\n\n".join(paragraphs)
    while len(compressor.scorer.tokenize(text).ids) < length:
        text += "\n\n" + text
    tokens = compressor.scorer.tokenize(text)
    return text[: int(tokens.offsets[length - 1, 1])]


def _count_forwards(compressor: Any, text: str) -> tuple[float, list[dict[str, int]]]:
    """Run one compress call, timed; return its seconds and each forward pass's rows, padded length and pass."""
    scorer = compressor.scorer
    phase = {"pass": 0}
    seen: list[dict[str, int]] = []
    score_pass = scorer._score_pass

    def counted_pass(*args: Any, **kwargs: Any) -> Any:
        phase["pass"] += 1
        return score_pass(*args, **kwargs)

    def record(_module: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        rows, length = kwargs["input_ids"].shape
        seen.append({"pass": phase["pass"], "rows": int(rows), "length": int(length)})

    scorer._score_pass = counted_pass
    handle = scorer.model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        compressor.compress(text[:2000], QUERY, rate=0.5)  # warm-up, not counted
        seen.clear()
        phase["pass"] = 0
        started = time.perf_counter()
        compressor.compress(text, QUERY, rate=0.1)
        seconds = time.perf_counter() - started
    finally:
        handle.remove()
        scorer._score_pass = score_pass
    return seconds, seen


def _flops(shape: dict[str, int], forwards: list[dict[str, int]]) -> dict[str, float]:
    """Linear-layer and attention operations of ``forwards`` for an encoder of ``shape``."""
    hidden, inner, layers = shape["hidden"], shape["intermediate"], shape["layers"]
    positions = sum(f["rows"] * f["length"] for f in forwards)
    squares = sum(f["rows"] * f["length"] ** 2 for f in forwards)
    return {
        "positions": positions,
        "linear": 2.0 * positions * layers * (4 * hidden * hidden + 2 * hidden * inner),
        "attention": 2.0 * 2.0 * squares * hidden * layers,
    }


def _rates(shape: dict[str, int], dtype: Any, rows: int, length: int) -> dict[str, float]:
    """Operations per second of the encoder's matrix products and attention on this machine, in ``dtype``."""
    import torch
    import torch.nn.functional as F

    hidden, inner, heads = shape["hidden"], shape["intermediate"], shape["heads"]

    def timed(step: Any) -> float:
        step()
        started, repeats = time.perf_counter(), 0
        while time.perf_counter() - started < 1.0:
            step()
            repeats += 1
        return (time.perf_counter() - started) / repeats

    with torch.inference_mode():
        x = torch.randn(rows * length, hidden, dtype=dtype)
        y = torch.randn(rows * length, inner, dtype=dtype)
        square = torch.randn(hidden, hidden, dtype=dtype)
        up = torch.randn(inner, hidden, dtype=dtype)
        down = torch.randn(hidden, inner, dtype=dtype)
        seconds = (
            4 * timed(lambda: F.linear(x, square)) + timed(lambda: F.linear(x, up)) + timed(lambda: F.linear(y, down))
        )
        linear = 2.0 * rows * length * (4 * hidden * hidden + 2 * hidden * inner) / seconds
        q = torch.randn(rows, heads, length, hidden // heads, dtype=dtype)
        attention = 2.0 * 2.0 * rows * length * length * hidden / timed(lambda: F.scaled_dot_product_attention(q, q, q))
    return {"linear": linear, "attention": attention}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure one call and its bound; return the report."""
    import torch

    from contextsieve import Compressor
    from contextsieve.scoring.encoder import EncoderScorer

    compressor = Compressor.from_pretrained(args.model, dtype=args.dtype)
    if not isinstance(compressor.scorer, EncoderScorer):
        msg = f"{args.model} is not an encoder classifier; the roofline counts an encoder's windows"
        raise SystemExit(msg)
    config = compressor.scorer.model.config
    shape = {
        "hidden": config.hidden_size,
        "intermediate": config.intermediate_size,
        "layers": config.num_hidden_layers,
        "heads": config.num_attention_heads,
    }
    text = _prose(compressor, args.length)
    seconds, forwards = _count_forwards(compressor, text)
    dtype = next(compressor.scorer.model.parameters()).dtype
    rows = max(f["rows"] for f in forwards)
    rates = _rates(shape, dtype, rows, max(f["length"] for f in forwards))
    total = _flops(shape, forwards)
    first = _flops(shape, [f for f in forwards if f["pass"] == 1])

    def bound(ops: dict[str, float], layer_share: float = 1.0) -> float:
        busy = layer_share * (ops["linear"] / rates["linear"] + ops["attention"] / rates["attention"])
        return args.length / busy

    return {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "command": " ".join(["python", *sys.argv]),
        "model": args.model,
        "dtype": str(dtype).removeprefix("torch."),
        "context_tokens": args.length,
        "forward_passes": len(forwards),
        "positions_per_context_token": total["positions"] / args.length,
        "first_pass_positions_per_context_token": first["positions"] / args.length,
        "gflop_per_context_token": (total["linear"] + total["attention"]) / args.length / 1e9,
        "linear_gflops": rates["linear"] / 1e9,
        "attention_gflops": rates["attention"] / 1e9,
        "measured_tokens_per_s": args.length / seconds,
        "bound_tokens_per_s": bound(total),
        "bound_without_second_pass": bound(first),
        "bound_with_half_the_layers": bound(total, 0.5),
    }


def _markdown(report: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {key} | {value:,.3g} |" if isinstance(value, float) else f"| {key} | {value} |"
        for key, value in report.items()
    )
    return f"# Encoder roofline\n\n| quantity | value |\n|---|---|\n{rows}\n"


def main() -> None:
    """Measure and write ``roofline.json`` and ``roofline.md`` into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm-l6-lingua")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--length", type=int, default=32768)
    parser.add_argument("--out", default="bench-results/roofline")
    args = parser.parse_args()
    report = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "roofline.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "roofline.md").write_text(_markdown(report), encoding="utf-8")
    sys.stdout.write(_markdown(report))


if __name__ == "__main__":
    main()
