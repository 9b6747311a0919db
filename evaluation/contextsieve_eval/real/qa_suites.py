"""The ``hotpotqa`` and ``squad`` tasks: real questions in RULER's QA layouts, padded to the requested length.

* ``hotpotqa`` (RULER's QA-2 layout): the question's own 10 paragraphs (2 gold, 8 distractors chosen by the data
  set's authors) plus other questions' paragraphs of the same split, shuffled, each as
  ``Document i:`` + title + text and joined by blank lines. Gold: every supporting-fact sentence.
* ``squad`` (RULER's QA-1 layout): the answer's paragraph, then the article's other paragraphs, then other articles'
  paragraphs of the same split, shuffled, each as ``Document i:`` + paragraph. Gold: the sentence holding the
  first annotated answer.

Sample ``i`` of a split is the same question at every length and seed (questions are taken in a fixed shuffled
order), so cells at different lengths compare the same questions; the padding and document order depend on the
length and seed.
"""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from contextsieve.errors import ConfigError
from contextsieve_eval import corpora
from contextsieve_eval.real import source
from contextsieve_eval.samples import CountTokens, Sample

if TYPE_CHECKING:
    from contextsieve_eval.tasks.sampling import _Counter

__all__ = ["DOCUMENT", "build_hotpotqa", "build_squad", "question_order"]

DOCUMENT = "Document {i}:\n{document}"
"""RULER's document prompt (``qa.py``'s ``DOCUMENT_PROMPT``)."""

_SEPARATOR = "\n\n"


def _prepare(count_tokens: CountTokens, length: int, samples: int, split: str) -> _Counter:
    """Validate the common arguments and wrap the counter in the tasks' cached counter."""
    from contextsieve_eval.tasks.sampling import _check_args, _Counter  # the task registry imports this module

    _check_args(length, samples, split)
    return count_tokens if isinstance(count_tokens, _Counter) else _Counter(count_tokens)


def question_order(count: int, name: str, split: str) -> list[int]:
    """Return a fixed shuffled order of a split's questions (independent of length and seed)."""
    order = list(range(count))
    random.Random(f"{name}|{split}|questions").shuffle(order)
    return order


def _layout(
    own: Sequence[str],
    counter: _Counter,
    length: int,
    pools: Sequence[Sequence[str]],
    rng: random.Random,
    avoid: Sequence[str],
) -> list[str]:
    """Pad the sample's ``own`` documents until the laid-out text reaches ``length``, then shuffle them all.

    Padding comes from each of ``pools`` in turn (each in a random order), skipping documents already chosen and
    any that contain an ``avoid`` string (a gold sentence must occur once).
    """
    chosen = list(own)
    seen = set(chosen)
    seam = counter(_SEPARATOR + DOCUMENT.format(i=99, document="x")) - counter("x")
    total = sum(counter(d) + seam for d in chosen)
    for pool in pools:
        order = list(range(len(pool)))
        rng.shuffle(order)
        for index in order:
            if total >= length:
                break
            document = pool[index]
            if document in seen or any(text in document for text in avoid):
                continue
            chosen.append(document)
            seen.add(document)
            total += counter(document) + seam
    if total < length:
        msg = f"the split's documents hold about {total} tokens, fewer than the requested length {length}"
        raise ConfigError(msg)
    rng.shuffle(chosen)
    return chosen


def _join(documents: Sequence[str]) -> tuple[str, list[int]]:
    """Lay documents out as RULER does; return the text and where each document's body starts."""
    parts, starts, offset = [], [], 0
    for number, body in enumerate(documents):
        head = ("" if number == 0 else _SEPARATOR) + DOCUMENT.format(i=number + 1, document="")
        parts += [head, body]
        offset += len(head)
        starts.append(offset)
        offset += len(body)
    return "".join(parts), starts


def _qa_sample(
    task: str,
    length: int,
    seed: int,
    index: int,
    context: str,
    question: str,
    gold: Sequence[tuple[str, tuple[int, int]]],
    answers: tuple[str, ...],
    origin: str,
) -> Sample:
    """Build one QA sample (metric ``"qa"``; gold in document order)."""
    ordered = sorted(gold, key=lambda item: item[1])
    return Sample(
        task=task,
        id=f"{task}-{length}-{seed}-{index}",
        context=context,
        question=question,
        gold=tuple(text for text, _ in ordered),
        gold_spans=tuple(span for _, span in ordered),
        answer=answers[0],
        hard=False,
        length=length,
        answers=answers,
        metric="qa",
        origin=origin,
    )


def _fill(context: str, counter: _Counter, length: int) -> None:
    """Check the exact count of the finished context (the per-document sum is an estimate)."""
    if counter.raw(context) < length * 0.97:
        msg = f"built a context of {counter.raw(context)} tokens for the requested length {length}"
        raise ConfigError(msg)


@functools.lru_cache(maxsize=4)
def _hotpot_pool(split: str) -> tuple[str, ...]:
    """Return every paragraph (title, newline, text) of the split's questions, deduplicated, in a stable order."""
    return tuple(dict.fromkeys(f"{t}\n{''.join(s)}" for q in source.hotpot_questions(split) for t, s in q.paragraphs))


def build_hotpotqa(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build HotpotQA samples: gold = the supporting-fact sentences (see the module docstring)."""
    counter = _prepare(count_tokens, length, samples, split)
    questions = source.hotpot_questions(split)
    pool = _hotpot_pool(split)
    out: list[Sample] = []
    for position in question_order(len(questions), "hotpotqa", split):
        if len(out) == samples:
            break
        question = questions[position]
        texts = {title: sentences for title, sentences in question.paragraphs}
        facts = [(t, i) for t, i in question.supporting if t in texts and 0 <= i < len(texts[t])]
        facts = [(t, i) for t, i in facts if texts[t][i].strip()]
        if not facts or len(facts) != len(question.supporting):
            continue  # a supporting fact that points past its paragraph (HotpotQA has a few): skip the question
        own = [f"{t}\n{''.join(s)}" for t, s in question.paragraphs]
        rng = random.Random(f"hotpotqa|{length}|{seed}|{len(out)}")
        sentences_kept = [texts[t][i].strip() for t, i in facts]
        documents = _layout(own, counter, length, [pool], rng, sentences_kept)
        context, starts = _join(documents)
        gold: list[tuple[str, tuple[int, int]]] = []
        for title, index in sorted(set(facts)):
            body = own[[t for t, _ in question.paragraphs].index(title)]
            sentences = texts[title]
            offset = len(title) + 1 + sum(len(s) for s in sentences[:index])
            sentence = sentences[index]
            lead = len(sentence) - len(sentence.lstrip())
            text = sentence.strip()
            start = starts[documents.index(body)] + offset + lead
            gold.append((text, (start, start + len(text))))
        _fill(context, counter, length)
        answers = (question.answer,)
        out.append(
            _qa_sample("hotpotqa", length, seed, len(out), context, question.question, gold, answers, question.id)
        )
    if len(out) < samples:
        msg = f"hotpotqa: the {split!r} split has only {len(out)} usable questions, {samples} asked"
        raise ConfigError(msg)
    return out


def _sentence_span(paragraph: str, start: int, end: int) -> tuple[int, int]:
    """Return the span of the sentence(s) of ``paragraph`` that hold ``[start, end)``, whitespace trimmed."""
    bounds = [0, *corpora.sentence_starts(paragraph), len(paragraph)]
    first = bisect.bisect_right(bounds, start) - 1
    last = bisect.bisect_left(bounds, end)
    a, b = bounds[first], bounds[min(last, len(bounds) - 1)]
    text = paragraph[a:b]
    return a + len(text) - len(text.lstrip()), a + len(text.rstrip())


@functools.lru_cache(maxsize=4)
def _squad_pool(split: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for a in source.squad_articles(split) for p in a.paragraphs))


def build_squad(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build SQuAD samples: gold = the sentence that holds the first annotated answer (see the module docstring)."""
    counter = _prepare(count_tokens, length, samples, split)
    questions = source.squad_questions(split)
    articles = source.squad_articles(split)
    pool = _squad_pool(split)
    out: list[Sample] = []
    for position in question_order(len(questions), "squad", split):
        if len(out) == samples:
            break
        question = questions[position]
        article = articles[question.article]
        paragraph = article.paragraphs[question.paragraph]
        first = question.answers[0]
        if paragraph[question.answer_start : question.answer_start + len(first)] != first:
            continue  # an annotation whose offset does not hold its text
        a, b = _sentence_span(paragraph, question.answer_start, question.answer_start + len(first))
        rng = random.Random(f"squad|{length}|{seed}|{len(out)}")
        more = [p for p in dict.fromkeys(article.paragraphs) if p != paragraph]
        documents = _layout([paragraph], counter, length, [more, pool], rng, [paragraph[a:b]])
        context, starts = _join(documents)
        start = starts[documents.index(paragraph)]
        _fill(context, counter, length)
        gold = [(paragraph[a:b], (start + a, start + b))]
        answers = question.answers
        out.append(_qa_sample("squad", length, seed, len(out), context, question.question, gold, answers, question.id))
    if len(out) < samples:
        msg = f"squad: the {split!r} split has only {len(out)} usable questions, {samples} asked"
        raise ConfigError(msg)
    return out
