"""The ``contextsieve eval`` subcommand: parse options, run the harness, write the report."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from contextsieve.cli import SubCommand
from contextsieve.errors import ConfigError

__all__ = ["COMMAND", "add_eval_parser", "run_eval_command"]

DEFAULT_METHODS = (
    "contextsieve,contextsieve-l8,contextsieve-head,random,head-tail,bm25,bm25-windows,minilm,minilm-windows"
)


def add_eval_parser(sub: Any) -> None:
    """Register ``eval`` on the CLI's subparsers."""
    ev = sub.add_parser("eval", help="evaluate compressors on long-context tasks and write a report")
    ev.add_argument(
        "--tasks",
        default="synthetic",
        help="comma-separated task or suite names: synthetic (default), real (hotpotqa, squad), ruler (RULER's 13 "
        "tasks), all",
    )
    ev.add_argument(
        "--paths",
        default="context",
        help="context (one long context, default), documents (each document compressed under one shared budget, "
        "as the framework adapters call the core), or both: context,documents",
    )
    ev.add_argument("--lengths", default="2k,8k", help="context lengths in target tokens, e.g. 2k,8k,32k")
    ev.add_argument("--rates", default="0.05,0.1,0.25,0.5", help="keep rates")
    ev.add_argument(
        "--methods",
        default=DEFAULT_METHODS,
        help="comma-separated methods; contextsieve:MODEL runs any loadable model, and a query string sets its "
        "selection options, e.g. contextsieve:minilm-l6-sieve?order=edges",
    )
    ev.add_argument("--samples", type=int, default=3, help="samples per task and length (default 3)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--target", default="gemma3-270m", help="target tokenizer that lengths and budgets count in")
    ev.add_argument("--draft", default="smollm2-135m", help="draft model of the contextsieve methods")
    ev.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    ev.add_argument("--dtype", default=None, help="contextsieve methods: float32, bfloat16 (default: auto)")
    ev.add_argument("--split", choices=["eval", "train", "all"], default="eval", help="corpus split (default eval)")
    ev.add_argument("--out", required=True, help="output folder for results.json, report.md and plots")
    ev.add_argument(
        "--answer",
        action="store_true",
        help="also have the target (a causal LM, e.g. qwen2.5-coder-0.5b) answer every question from the full and "
        "the compressed contexts: end-to-end accuracy and time to first token",
    )
    ev.add_argument("--answer-tokens", type=int, default=48, help="most tokens the target may answer with (48)")
    ev.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    ev.add_argument(
        "--append",
        action="store_true",
        help="merge into OUT/results.json (a rerun of the same method, sample and rate replaces the old record)",
    )
    ev.add_argument(
        "--resume",
        action="store_true",
        help="continue a stopped run of the same options from OUT/unfinished.jsonl, where every record is written "
        "as it is measured, instead of measuring its records again",
    )


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_config(args: argparse.Namespace) -> Any:
    """Validate the options into an :class:`~contextsieve_eval.runner.EvalConfig` (raising ConfigError)."""
    from contextsieve_eval.methods import METHODS, custom_method
    from contextsieve_eval.runner import EvalConfig, parse_length
    from contextsieve_eval.tasks import PATHS, expand_tasks

    tasks = expand_tasks(_csv(args.tasks))
    paths = _csv(args.paths)
    if not paths or any(p not in PATHS for p in paths):
        msg = f"--paths takes {' and/or '.join(PATHS)}, got {args.paths!r}"
        raise ConfigError(msg)
    methods = _csv(args.methods)
    unknown = [m for m in methods if m not in METHODS and custom_method(m) is None]  # bad options fail here
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
    if args.answer_tokens < 1:
        msg = f"--answer-tokens must be at least 1, got {args.answer_tokens}"
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
        dtype=args.dtype,
        split=args.split,
        answer=args.answer,
        answer_tokens=args.answer_tokens,
        paths=tuple(p for p in PATHS if p in paths),
    )


def run_eval_command(args: argparse.Namespace, out: TextIO) -> None:
    """Run ``contextsieve eval`` and print where the report went."""
    from contextsieve_eval.journal import Journal
    from contextsieve_eval.report import write_report
    from contextsieve_eval.runner import run_eval

    config = build_config(args)
    command = "contextsieve " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "contextsieve eval"
    folder = Path(args.out)
    path = folder / "results.json"
    earlier = read_results(path) if args.append else None
    if earlier is not None:
        _check_appendable(path, earlier[0], config)  # before the run, not after hours of it
    answered = {r.key: r for r in earlier[1] if "prompt_key" in r.extra} if earlier and config.answer else None
    journal, done = Journal.start(folder, config, command, resume=args.resume)
    try:
        records = run_eval(config, progress=not args.no_progress, answered=answered, done=done, on_record=journal.write)
    finally:
        journal.close()
    command = journal.command
    if args.append:
        config, records, command = merge_previous(path, earlier, config, records, command)
    paths = write_report(records, config, folder, command)
    journal.finish()
    out.write(f"{len(records)} runs; report: {paths['markdown']}\n")


def merge_previous(
    path: Path, previous: tuple[Any, list[Any], str] | None, config: Any, records: list[Any], command: str
) -> tuple[Any, list[Any], str]:
    """Combine new records with ``previous``, what :func:`read_results` read from ``path`` (new records win).

    The config is widened to cover both runs.
    """
    import dataclasses

    if previous is None:
        return config, records, command
    old_config, old, old_command = previous
    _check_appendable(path, old_config, config)
    fresh = {r.key for r in records}
    merged = [r for r in old if r.key not in fresh] + records

    def union(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dict.fromkeys(a + b))

    widened = dataclasses.replace(
        config,
        tasks=union(old_config.tasks, config.tasks),
        lengths=tuple(sorted(set(old_config.lengths + config.lengths))),
        rates=tuple(sorted(set(old_config.rates + config.rates))),
        methods=union(old_config.methods, config.methods),
        samples=max(old_config.samples, config.samples),
        answer=old_config.answer or config.answer,
        paths=union(old_config.paths, config.paths),
    )
    return widened, merged, f"{old_command}; then {command}"


def _check_appendable(path: Path, old: Any, new: Any) -> None:
    """Refuse to merge runs whose lengths and budgets count another target's tokens, or other samples."""
    if (old.target, old.split, old.seed) != (new.target, new.split, new.seed):
        msg = f"cannot append: {path} was made with another target, split or seed"
        raise ConfigError(msg)


def read_results(path: Path) -> tuple[Any, list[Any], str] | None:
    """Read a ``results.json`` back as (config, records, command); None when there is none yet."""
    import json

    from contextsieve_eval.runner import EvalConfig, Record

    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        records = [Record(**item) for item in payload["records"]]
        config = EvalConfig.from_json(payload["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"cannot append to {path}: {exc}"
        raise ConfigError(msg) from exc
    return config, records, str(payload.get("command", ""))


COMMAND = SubCommand(add_parser=add_eval_parser, run=run_eval_command)
"""The ``eval`` subcommand, registered under the ``contextsieve.commands`` entry points."""
