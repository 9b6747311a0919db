"""The ``code`` task: a file of standard-library functions, one of them with a one-line injected bug."""

from __future__ import annotations

import ast
import functools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from contextsieve_eval import corpora
from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks.sampling import _Counter, _draw_filler, _Drawn, _exhausted, _join, _run

__all__ = ["build_code"]

_MUTATIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("comparison", re.compile(r"(?<= )<(?= )"), "<="),
    ("comparison", re.compile(r"(?<= )>(?= )"), ">="),
    ("comparison", re.compile(r"(?<= )<=(?= )"), "<"),
    ("comparison", re.compile(r"(?<= )>=(?= )"), ">"),
    ("comparison", re.compile(r"(?<= )==(?= )"), "!="),
    ("comparison", re.compile(r"(?<= )!=(?= )"), "=="),
    ("off-by-one", re.compile(r"(?<= )\+ 1(?![\w.])"), "- 1"),
    ("off-by-one", re.compile(r"(?<= )- 1(?![\w.])"), "+ 1"),
    ("boolean", re.compile(r"\bTrue\b"), "False"),
    ("boolean", re.compile(r"\bFalse\b"), "True"),
    ("logic", re.compile(r"(?<= )and(?= )"), "or"),
    ("logic", re.compile(r"(?<= )or(?= )"), "and"),
    ("negation", re.compile(r"\bnot "), ""),
)
_SYMPTOMS = {
    "comparison": "a comparison was flipped",
    "off-by-one": "an off-by-one error was introduced",
    "boolean": "a True/False constant was inverted",
    "logic": "an 'and' and an 'or' were swapped",
    "negation": "a negation was dropped",
}


@dataclass(frozen=True)
class _Site:
    """A possible bug: replace ``source[start:end]`` (on line ``line``) with ``replacement``."""

    line: int
    start: int
    end: int
    replacement: str
    kind: str


@functools.lru_cache(maxsize=8192)
def _sites(source: str) -> tuple[_Site, ...]:
    """Places in a function's body where one mutation applies (code lines outside docstrings and strings)."""
    try:
        function = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return ()
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ()
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return ()
    first_line = body[0].lineno  # 1-based
    in_strings: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and (node.end_lineno or node.lineno) > node.lineno:
            in_strings.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    sites = []
    offset = 0
    for number, line in enumerate(source.split("\n"), start=1):
        code = line.strip()
        usable = number >= first_line and number not in in_strings and code and not any(q in line for q in "'\"#@")
        if usable:
            for kind, pattern, replacement in _MUTATIONS:
                for match in pattern.finditer(line):
                    sites.append(_Site(number - 1, offset + match.start(), offset + match.end(), replacement, kind))
        offset += len(line) + 1
    return tuple(sites)


@functools.lru_cache(maxsize=4)
def _code_targets(split: str) -> tuple[int, ...]:
    """Return the indices of the functions that can carry the bug: a mutation site and a unique, non-dunder name."""
    functions = corpora.stdlib_functions(split)
    names: dict[str, int] = {}
    for function in functions:
        names[function.name] = names.get(function.name, 0) + 1
    return tuple(
        k for k, f in enumerate(functions) if names[f.name] == 1 and not f.name.startswith("__") and _sites(f.source)
    )


def _name_words(name: str) -> str:
    """Spell a function name as words: ``_split_header`` → ``split header``, ``getValue`` → ``get value``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    return " ".join(spaced.lower().split())


def _describes(function: corpora.StdlibFunction) -> bool:
    """Tell whether a docstring's first line can describe the function without naming it (3+ words)."""
    return len(function.docstring.split()) >= 3 and function.name not in function.docstring


def _code_draw(split: str, length: int) -> Callable[[random.Random, _Counter, float], _Drawn | None]:
    """Return the draw function of the ``code`` task."""
    task = "code"
    separator = "\n\n\n"

    def draw(rng: random.Random, counter: _Counter, depth: float) -> _Drawn | None:
        functions = corpora.stdlib_functions(split)
        targets = _code_targets(split)
        if not targets:
            raise _exhausted(task, split, length, 0)
        target = functions[rng.choice(targets)]
        site = rng.choice(_sites(target.source))
        buggy = target.source[: site.start] + site.replacement + target.source[site.end :]
        lines = buggy.split("\n")
        def_line = lines[0]
        bug_line = lines[site.line].lstrip()
        if buggy.count(bug_line) != 1:
            return None
        avoid = [def_line, bug_line, f"def {target.name}("]
        if _describes(target):
            avoid.append(target.docstring)
        order = list(range(len(functions)))
        rng.shuffle(order)
        pool = [f.source for f in functions]
        chosen: list[str] = []
        needed = length - counter(buggy)
        iterator = (k for k in order if functions[k] is not target)
        while True:
            if _draw_filler(iterator, pool, avoid, counter, needed, chosen, counter(separator)):
                raise _exhausted(task, split, length, sum(counter(s) for s in chosen))
            where = min(round(depth * len(chosen)), len(chosen))
            blocks = [[(s, -1)] for s in chosen]
            blocks.insert(where, [(buggy, 0)])
            context, spans = _join(blocks, separator, 1)
            missing = length - counter.raw(context)
            if missing <= 0:
                break
            needed = missing
        start = spans[0][0]
        bug_start = start + sum(len(line) + 1 for line in lines[: site.line]) + len(lines[site.line]) - len(bug_line)
        if _describes(target):
            subject = f'The function whose docstring begins "{target.docstring}"'
        else:
            subject = f'A function whose name reads "{_name_words(target.name)}"'
        question = f"{subject} returns wrong results: {_SYMPTOMS[site.kind]}. Which function is it?"
        gold = [(def_line, (start, start + len(def_line))), (bug_line, (bug_start, bug_start + len(bug_line)))]
        return _Drawn(context, question, gold, target.name)

    return draw


def build_code(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``code`` samples: standard-library functions joined by two blank lines, one with a one-line bug.

    The bug is one textual mutation (``<`` → ``<=``, ``==`` → ``!=``, ``+ 1`` → ``- 1``, ``True`` → ``False``,
    ``and`` → ``or``, dropping a ``not``...) on a code line of the function's body. The question describes the
    symptom and the function (by its docstring's first line when that has 3+ words and does not contain the
    name, else by its name's words); gold is the ``def`` line and the mutated line without its indentation; the
    answer is the function's name. Only functions whose name is unique in the split's pool carry the bug.
    """
    return _run("code", False, count_tokens, length, samples, seed, split, _code_draw(split, length))
