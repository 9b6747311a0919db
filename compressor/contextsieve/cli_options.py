"""Command-line flags derived from the config models: one flag per field, its help from the field's docstring."""

from __future__ import annotations

import argparse
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["add_model_flags", "given_values"]


def add_model_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    *,
    flags: Mapping[str, str] | None = None,
    types_: Mapping[str, type] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Add ``--field-name`` for every field of ``model``; a flag left out keeps the model's default.

    ``flags`` renames flags (``{"force_patterns": "--force"}``), ``types_`` overrides how a value is parsed and
    ``defaults`` sets command-line defaults that differ from the model's.
    """
    for name, field in model.model_fields.items():
        flag = (flags or {}).get(name, "--" + name.replace("_", "-"))
        default = (defaults or {}).get(name)
        described = (field.description or "").replace("%", "%%").split("\n\n")[0]
        help_text = " ".join(described.replace("``", "").split())
        if field.default not in (None, (), False) and name not in (defaults or {}):
            help_text += f" (default: {field.default!r})".replace("%", "%%")
        kind = _base(field.annotation)
        if name in (types_ or {}):
            parser.add_argument(flag, dest=name, type=(types_ or {})[name], default=default, help=help_text)
        elif kind is bool:
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=help_text)
        elif get_origin(kind) is tuple:
            parser.add_argument(flag, dest=name, action="append", default=default, metavar="VALUE", help=help_text)
        elif get_origin(kind) is Literal:
            parser.add_argument(flag, dest=name, choices=list(get_args(kind)), default=default, help=help_text)
        else:
            parser.add_argument(flag, dest=name, type=kind, default=default, help=help_text)


def given_values(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """Return the fields of ``model`` that the command line set (``None`` means not given)."""
    return {name: getattr(args, name) for name in model.model_fields if getattr(args, name, None) is not None}


def _base(annotation: Any) -> Any:
    """``X`` for ``X | None``; the annotation itself otherwise."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation
