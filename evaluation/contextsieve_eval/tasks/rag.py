"""The ``rag`` task: retrieval-augmented generation over Wikipedia summaries, one of them described."""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable

from contextsieve_eval import corpora
from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks.sampling import _Counter, _Drawn, _exhausted, _join, _run

__all__ = ["build_rag"]

_RAG_MIN_DOCUMENTS = 20
_RAG_SAME_TOPIC = 0.5


@functools.lru_cache(maxsize=1)
def _lowercase_vocabulary() -> frozenset[str]:
    """Words that occur in lower case somewhere in the Wikipedia extracts (so are not proper nouns)."""
    return frozenset(
        w for article in corpora.wiki_articles("all") for w in re.findall(r"\b[a-z][a-z-]*\b", article.extract)
    )


def _describe(description: str) -> str:
    """Lower-case the description's first word unless it is a proper noun ("American", "French")."""
    first, _, rest = description.partition(" ")
    if first[:1].isupper() and first[1:].islower() and first.lower() in _lowercase_vocabulary():
        first = first.lower()
    return f"{first} {rest}".strip()


def _rendered(article: corpora.WikiArticle) -> str:
    """Render an article as a retrieved document."""
    return f"{article.title}: {article.extract}"


@functools.lru_cache(maxsize=4)
def _rag_targets(split: str) -> tuple[tuple[corpora.WikiArticle, str], ...]:
    """Articles usable as targets, with their first sentence.

    The description must have at least 3 words, not contain the title, and be unique within the split.
    """
    articles = corpora.wiki_articles(split)
    descriptions: dict[str, int] = {}
    for article in articles:
        key = article.description.casefold()
        descriptions[key] = descriptions.get(key, 0) + 1
    targets = []
    for article in articles:
        if len(article.description.split()) < 3 or article.title.casefold() in article.description.casefold():
            continue
        if descriptions[article.description.casefold()] != 1:
            continue
        first = corpora.split_sentences(article.extract)[0]
        if len(first.split()) >= 5 and article.extract.startswith(first):
            targets.append((article, first))
    return tuple(targets)


def _rag_draw(split: str, length: int) -> Callable[[random.Random, _Counter, float], _Drawn | None]:
    """Return the draw function of the ``rag`` task."""
    task = "rag"

    def draw(rng: random.Random, counter: _Counter, depth: float) -> _Drawn | None:
        articles = corpora.wiki_articles(split)
        targets = _rag_targets(split)
        if not targets:
            raise _exhausted(task, split, length, 0)
        target, first = rng.choice(targets)
        same = [a for a in articles if a.topic == target.topic and a.title != target.title]
        other = [a for a in articles if a.topic != target.topic]
        rng.shuffle(same)
        rng.shuffle(other)
        picked: list[corpora.WikiArticle] = []
        total = counter(_rendered(target))

        def add(needed_tokens: int, needed_documents: int) -> None:
            nonlocal total
            while total < needed_tokens or len(picked) < needed_documents:
                source = same if same and (not other or rng.random() < _RAG_SAME_TOPIC) else other
                if not source:
                    raise _exhausted(task, split, length, total)
                article = source.pop()
                if first in article.extract:
                    continue
                picked.append(article)
                total += counter(_rendered(article)) + counter("\n\n")

        add(length, _RAG_MIN_DOCUMENTS - 1)
        where = min(round(depth * len(picked)), len(picked))
        while True:
            documents = [*picked[:where], target, *picked[where:]]
            context, spans = _join([[(_rendered(a), 0 if a is target else -1)] for a in documents], "\n\n", 1)
            missing = length - counter.raw(context)
            if missing <= 0:
                break
            add(total + missing, 0)
        start = spans[0][0] + len(target.title) + 2
        subject = _describe(target.description)
        question = f"Which {subject} is described in these documents? Give the title of its document."
        return _Drawn(context, question, [(first, (start, start + len(first)))], target.title)

    return draw


def build_rag(count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval") -> list[Sample]:
    """Build ``rag`` samples: retrieved Wikipedia summaries, one of them described by the question.

    The context lists ``"Title: extract"`` documents, half of the distractors from the target's topic. It holds
    at least 20 documents and as many as ``length`` needs (about 100 at 8k words; more for longer contexts), so
    short lengths give contexts longer than asked. Gold is the target's first sentence, the answer its title.
    """
    return _run("rag", False, count_tokens, length, samples, seed, split, _rag_draw(split, length))
