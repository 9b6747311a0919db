"""Needle-in-a-haystack samples planted in real prose (Python's own documentation, shipped with CPython)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["NeedleSample", "needle_samples", "prose_corpus"]

_NEEDLES = (
    ("The secret code of the Halvorsen vault is 7391-amber.", "What is the secret code of the Halvorsen vault?"),
    (
        "Marguerite Lindqvist keeps her spare key under the blue ceramic heron.",
        "Where does Marguerite Lindqvist keep her spare key?",
    ),
    (
        "The ferry to Isla Cendra leaves every Tuesday at 6:45 in the morning.",
        "When does the ferry to Isla Cendra leave?",
    ),
    (
        "Professor Okonkwo's favourite instrument is the bass clarinet.",
        "What is Professor Okonkwo's favourite instrument?",
    ),
    (
        "The password for the Tamsin observatory network is violet-quartz-88.",
        "What is the password for the Tamsin observatory network?",
    ),
    (
        "The annual Brennerfeld cheese fair was moved to the old tram depot in 2019.",
        "Where was the Brennerfeld cheese fair moved to?",
    ),
)


@dataclass(frozen=True)
class NeedleSample:
    """A haystack with one planted needle sentence, the question it answers, and where it sits."""

    text: str
    needle: str
    question: str
    depth: float
    start: int


def prose_corpus() -> list[str]:
    """Paragraphs of real English prose from the Python documentation topics, in a fixed order."""
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    paragraphs = []
    for key in sorted(topics):
        for block in topics[key].split("\n\n"):
            block = block.strip()
            if len(block) > 80 and not block.startswith(("*", "=")) and "::=" not in block:
                paragraphs.append(" ".join(block.split()))
    return paragraphs


def needle_samples(
    count_tokens: Callable[[str], int],
    length: int,
    depths: tuple[float, ...] = (0.1, 0.5, 0.9),
    needles: int = 3,
    seed: int = 0,
) -> list[NeedleSample]:
    """Build ``len(depths) * needles`` samples of about ``length`` tokens, each with one needle sentence."""
    paragraphs = prose_corpus()
    rng = random.Random(seed)
    samples = []
    for n in range(needles):
        needle, question = _NEEDLES[(seed + n) % len(_NEEDLES)]
        for depth in depths:
            offset = rng.randrange(len(paragraphs))
            chosen: list[str] = []
            total = 0
            i = offset
            while total < length:
                paragraph = paragraphs[i % len(paragraphs)]
                chosen.append(paragraph)
                total += count_tokens(paragraph) + 1
                i += 1
            at = min(round(depth * len(chosen)), len(chosen) - 1)
            chosen[at] = _insert_sentence(chosen[at], needle, rng)
            text = "\n\n".join(chosen)
            samples.append(NeedleSample(text, needle, question, depth, text.index(needle)))
    return samples


def _insert_sentence(paragraph: str, sentence: str, rng: random.Random) -> str:
    """Insert ``sentence`` at a random sentence boundary of ``paragraph`` (its start if it has none)."""
    cuts = [i + 2 for i in range(len(paragraph) - 2) if paragraph[i] == "." and paragraph[i + 1] == " "]
    if not cuts:
        return f"{sentence} {paragraph}"
    cut = rng.choice(cuts)
    return f"{paragraph[:cut]}{sentence} {paragraph[cut:]}"
