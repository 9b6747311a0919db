"""Reuse across queries: what a second question over a known context costs, with and without stored states.

Runs one scorer (``--model``: the sentence scorer by default, or draft attention / the trained head, whose stored
states are each block's key/value cache) on real prose in one process and reports ratios measured in that run:

* a 32k-token context, a first question (cold), then a different question, with reuse and without: the whole
  ``compress`` call, and the scoring pass alone;
* an agent loop: 6 turns, a tool output of 8k tokens arriving at each of the first 3, each turn a new question
  over every output so far (as the LangChain middleware compresses them);
* 128k tokens under a small cap (eviction under load) against the default cap: equal kept text, bytes held under
  the cap, peak memory;
* a persistent store filled by ``Compressor.precompute``: bytes on disk per context token.

Writes ``reuse.json`` and ``reuse.md`` (``reuse-<model>.*`` for another model than ``auto``) into ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

QUESTIONS = [
    "What does the import statement do?",
    "How are exceptions raised and caught?",
    "Which methods define how objects are compared?",
    "What happens when a generator is closed?",
    "How does augmented assignment work?",
    "What is a context manager used for?",
]


def _text(compressor: Any, tokens: int, offset: int = 0) -> str:
    from contextsieve_eval import prose_corpus

    paragraphs = prose_corpus()
    pieces, total, i = [], 0, offset
    while total < tokens + 64:
        paragraph = paragraphs[i % len(paragraphs)]
        pieces.append(paragraph)
        total += compressor.count_tokens(paragraph + "\n\n")
        i += 1
    text = "\n\n".join(pieces)
    cut = int(compressor.scorer.tokenize(text).offsets[tokens - 1, 1])
    return text[:cut]


def _timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = call()
    return out, time.perf_counter() - started


def second_question(model: str, tokens: int, device: str = "cpu") -> dict[str, Any]:
    """Time a first and a second question over one context, with reuse and without."""
    from contextsieve import Compressor

    warm = Compressor.from_pretrained(model, device=device)
    cold = Compressor.from_pretrained(model, device=device, reuse_mb=0)
    text = _text(warm, tokens)
    warm.compress(text[:2000], "warm up", rate=0.5)
    cold.compress(text[:2000], "warm up", rate=0.5)
    _, first = _timed(lambda: warm.compress(text, QUESTIONS[0], rate=0.1))
    reused, second = _timed(lambda: warm.compress(text, QUESTIONS[1], rate=0.1))
    fresh, second_cold = _timed(lambda: cold.compress(text, QUESTIONS[1], rate=0.1))
    tokenized = warm.scorer.tokenize(text)
    _, score_reused = _timed(lambda: warm.scorer.score([(tokenized, QUESTIONS[2])]))
    _, score_cold = _timed(lambda: cold.scorer.score([(tokenized, QUESTIONS[2])]))
    return {
        "tokens": tokens,
        "first_s": first,
        "second_with_reuse_s": second,
        "second_without_reuse_s": second_cold,
        "speedup": second_cold / second,
        "scoring_with_reuse_s": score_reused,
        "scoring_without_reuse_s": score_cold,
        "scoring_speedup": score_cold / score_reused,
        "same_kept_text": reused.text == fresh.text,
    }


def agent_loop(model: str, tokens: int, device: str = "cpu") -> list[dict[str, Any]]:
    """Six turns; a new tool output at each of the first three; every output compressed for each turn's question."""
    from contextsieve import Compressor

    runs: dict[str, list[float]] = {}
    same = []
    outputs: list[str] = []
    for label, options in (("reuse", {}), ("no_reuse", {"reuse_mb": 0})):
        compressor = Compressor.from_pretrained(model, device=device, **options)
        if not outputs:
            outputs = [_text(compressor, tokens, offset=200 * k) for k in range(3)]
        compressor.compress(outputs[0][:2000], "warm up", rate=0.5)
        times, kept = [], []
        for turn, question in enumerate(QUESTIONS):
            seen = outputs[: min(turn + 1, len(outputs))]
            results, seconds = _timed(lambda: compressor.compress_batch(seen, question, rate=0.1))  # noqa: B023
            times.append(seconds)
            kept.append([r.text for r in results])
        runs[label] = times
        same.append(kept)
    return [
        {
            "turn": turn + 1,
            "outputs": min(turn + 1, 3),
            "with_reuse_s": runs["reuse"][turn],
            "without_reuse_s": runs["no_reuse"][turn],
            "speedup": runs["no_reuse"][turn] / runs["reuse"][turn],
            "same_kept_text": same[0][turn] == same[1][turn],
        }
        for turn in range(len(QUESTIONS))
    ]


def capped(model: str, tokens: int, cap_mb: int, device: str = "cpu") -> dict[str, Any]:
    """Score a long context under a small cap, the default cap and no reuse, each in a fresh process.

    Eviction must keep the kept text, hold the bytes under the cap, and add at most the cap to the peak memory of
    the same two questions scored without reuse.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    runs = {}
    for label, cap in (("capped", cap_mb), ("default", None), ("off", 0)):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            runs[label] = pool.submit(_two_questions, model, tokens, cap, device).result()
    tight, loose, off = runs["capped"], runs["default"], runs["off"]
    return {
        "tokens": tokens,
        "cap_bytes": tight["max_bytes"],
        "held_bytes": tight["bytes"],
        "uncapped_bytes": loose["bytes"],
        "same_kept_text": tight["kept"] == loose["kept"] == off["kept"],
        "peak_rss_mb": tight["peak_rss_mb"],
        "peak_rss_without_reuse_mb": off["peak_rss_mb"],
        "peak_rss_default_cap_mb": loose["peak_rss_mb"],
        "model_mb": tight["model_mb"],
    }


def _reset_peak() -> None:
    """Reset this process's peak RSS (Linux): a spawned child starts with its parent's high-water mark."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def _peak_mb() -> float:
    """Return this process's peak RSS in MB since :func:`_reset_peak` (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _two_questions(model: str, tokens: int, cap_mb: int | None, device: str) -> dict[str, Any]:
    from contextsieve import Compressor

    _reset_peak()
    options = {} if cap_mb is None else {"reuse_mb": cap_mb}
    compressor = Compressor.from_pretrained(model, device=device, **options)
    text = _text(compressor, tokens)
    kept = [compressor.compress(text, question, rate=0.1).text for question in QUESTIONS[:2]]
    weights = getattr(compressor.scorer, "model", None)
    info = compressor.reuse_info()
    assert info is not None
    return {
        "kept": kept,
        "peak_rss_mb": _peak_mb(),
        "model_mb": sum(t.numel() * t.element_size() for t in weights.parameters()) / 2**20 if weights else 0.0,
        "bytes": info.bytes,
        "max_bytes": info.max_bytes,
    }


def on_disk(model: str, tokens: int, device: str = "cpu") -> dict[str, Any]:
    """Bytes a persistent store takes per context token, and a fresh process's second question."""
    from contextsieve import Compressor

    with tempfile.TemporaryDirectory() as folder:
        first = Compressor.from_pretrained(model, device=device, reuse_dir=folder)
        text = _text(first, tokens)
        units, seconds = _timed(lambda: first.precompute([text]))
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
        later = Compressor.from_pretrained(model, device=device, reuse_dir=folder, reuse_mb=0)
        _, query_s = _timed(lambda: later.compress(text, QUESTIONS[2], rate=0.1))
    return {
        "tokens": tokens,
        "units": units,
        "precompute_s": seconds,
        "disk_bytes": size,
        "bytes_per_token": size / tokens,
        "query_from_disk_s": query_s,
    }


def _markdown(report: dict[str, Any]) -> str:
    q = report["second_question"]
    lines = [
        f"# Reuse across queries ({report['model']}, {report['machine']}, device {report['device']})",
        "",
        f"Second question over {q['tokens']:,} tokens: {q['second_with_reuse_s']:.2f} s with reuse, "
        f"{q['second_without_reuse_s']:.2f} s without (**{q['speedup']:.1f}×**); first question {q['first_s']:.2f} s; "
        f"same kept text: {q['same_kept_text']}. The scoring pass alone: {q['scoring_with_reuse_s']:.2f} s with "
        f"reuse, {q['scoring_without_reuse_s']:.2f} s without (**{q['scoring_speedup']:.1f}×**).",
    ]
    if report["agent_loop"]:
        lines += [
            "",
            "| turn | tool outputs | with reuse (s) | without (s) | speed-up | same kept text |",
            "|---|---|---|---|---|---|",
        ]
    for row in report["agent_loop"]:
        lines.append(
            f"| {row['turn']} | {row['outputs']} | {row['with_reuse_s']:.2f} | {row['without_reuse_s']:.2f} | "
            f"{row['speedup']:.1f}× | {row['same_kept_text']} |"
        )
    c, d = report["capped"], report["on_disk"]
    if c:
        lines += [
            "",
            f"{c['tokens']:,} tokens under a {c['cap_bytes'] / 2**20:.0f} MB cap: "
            f"{c['held_bytes'] / 2**20:.2f} MB held (default cap: {c['uncapped_bytes'] / 2**20:.2f} MB), "
            f"same kept text: {c['same_kept_text']}, "
            f"peak RSS {c['peak_rss_mb']:.0f} MB against {c['peak_rss_without_reuse_mb']:.0f} MB without reuse "
            f"(+{c['peak_rss_mb'] - c['peak_rss_without_reuse_mb']:.0f} MB; weights {c['model_mb']:.0f} MB) and "
            f"{c['peak_rss_default_cap_mb']:.0f} MB under the default cap.",
        ]
    if d:
        lines += [
            "",
            f"Persistent store: {d['bytes_per_token']:.0f} bytes per context token on disk ({d['units']} units for "
            f"{d['tokens']:,} tokens, precomputed in {d['precompute_s']:.1f} s); a fresh process then answers a new "
            f"question in {d['query_from_disk_s']:.2f} s.",
        ]
    lines.append("")
    return "\n".join(lines)


def _machine(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> None:
    """Run every measurement and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="auto")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: loop, capped, disk")
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--tokens", type=int, default=32_768)
    parser.add_argument("--loop-tokens", type=int, default=8_192)
    parser.add_argument("--capped-tokens", type=int, default=131_072)
    parser.add_argument("--cap-mb", type=int, default=1, help="the small cap of the capped run")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    report = {
        "model": args.model,
        "device": args.device,
        "machine": _machine(args.device),
        "second_question": second_question(args.model, args.tokens, args.device),
        "agent_loop": [] if "loop" in skip else agent_loop(args.model, args.loop_tokens, args.device),
        "capped": {} if "capped" in skip else capped(args.model, args.capped_tokens, args.cap_mb, args.device),
        "on_disk": {} if "disk" in skip else on_disk(args.model, args.tokens, args.device),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "reuse" if args.model == "auto" else f"reuse-{Path(args.model).name}"
    if args.device != "cpu":
        stem += f"-{args.device}-{args.tokens // 1024}k"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / f"{stem}.md").write_text(_markdown(report), encoding="utf-8")


if __name__ == "__main__":
    main()
