"""The ``contextsieve eval`` subcommand: parse options, run the harness, write the report."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from contextsieve.errors import ConfigError

__all__ = ["add_eval_parser", "run_eval_command"]

DEFAULT_METHODS = "contextsieve,contextsieve-l8,random,head-tail,bm25,bm25-windows,minilm,minilm-windows"


def add_eval_parser(sub: Any) -> None:
    """Register ``eval`` on the CLI's subparsers."""
    ev = sub.add_parser("eval", help="evaluate compressors on long-context tasks and write a report")
    ev.add_argument("--tasks", default="all", help="comma-separated task names, or all (default)")
    ev.add_argument("--lengths", default="2k,8k", help="context lengths in target tokens, e.g. 2k,8k,32k")
    ev.add_argument("--rates", default="0.05,0.1,0.25,0.5", help="keep rates")
    ev.add_argument("--methods", default=DEFAULT_METHODS, help="comma-separated methods")
    ev.add_argument("--samples", type=int, default=3, help="samples per task and length (default 3)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--target", default="gemma3-270m", help="target tokenizer that lengths and budgets count in")
    ev.add_argument("--draft", default="smollm2-135m", help="draft model of the contextsieve methods")
    ev.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    ev.add_argument("--split", choices=["eval", "train", "all"], default="eval", help="corpus split (default eval)")
    ev.add_argument("--out", required=True, help="output folder for results.json, report.md and plots")
    ev.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_config(args: argparse.Namespace) -> Any:
    """Validate the options into an :class:`~contextsieve.eval.runner.EvalConfig` (raising ConfigError)."""
    from contextsieve.eval.methods import METHODS
    from contextsieve.eval.runner import EvalConfig, parse_length
    from contextsieve.eval.tasks import TASKS

    tasks = list(TASKS) if args.tasks == "all" else _csv(args.tasks)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        msg = f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}"
        raise ConfigError(msg)
    methods = _csv(args.methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        msg = f"unknown method(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(METHODS)}"
        raise ConfigError(msg)
    try:
        lengths = [parse_length(v) for v in _csv(args.lengths)]
        rates = [float(v) for v in _csv(args.rates)]
    except ValueError as exc:
        msg = f"bad --lengths or --rates: {exc}"
        raise ConfigError(msg) from exc
    if not lengths or any(n < 64 for n in lengths):
        msg = f"lengths must be at least 64 tokens, got {args.lengths!r}"
        raise ConfigError(msg)
    if not rates or any(not 0 < r <= 1 for r in rates):
        msg = f"rates must be in (0, 1], got {args.rates!r}"
        raise ConfigError(msg)
    if args.samples < 1:
        msg = f"--samples must be at least 1, got {args.samples}"
        raise ConfigError(msg)
    return EvalConfig(
        tasks=tuple(tasks),
        lengths=tuple(lengths),
        rates=tuple(sorted(rates)),
        methods=tuple(methods),
        samples=args.samples,
        seed=args.seed,
        target=args.target,
        draft=args.draft,
        device=args.device,
        split=args.split,
    )


def run_eval_command(args: argparse.Namespace, out: TextIO) -> None:
    """Run ``contextsieve eval`` and print where the report went."""
    from contextsieve.eval.report import write_report
    from contextsieve.eval.runner import run_eval

    config = build_config(args)
    command = "contextsieve " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "contextsieve eval"
    records = run_eval(config, progress=not args.no_progress)
    paths = write_report(records, config, Path(args.out), command)
    out.write(f"{len(records)} runs; report: {paths['markdown']}\n")
