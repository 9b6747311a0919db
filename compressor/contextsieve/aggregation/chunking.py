"""Cut a tokenized context into selectable chunks that tile it exactly.

Prose is cut at sentence ends and line breaks, code at line breaks; consecutive segments are packed up to
``chunk_tokens`` draft tokens without crossing a blank line, and a segment much longer than that is split
at word boundaries (its later chunks are marked ``continues``). A period after an initial ("V. S. Naipaul")
or a title ("Dr.") does not end a sentence, and a chunk under a quarter of ``chunk_tokens`` joins a neighbour
in its paragraph. Chunk boundaries always fall on token starts, so every token belongs to one chunk.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from contextsieve.config import ChunkingConfig
from contextsieve.tokens import TokenizedText

__all__ = ["Chunk", "chunk_tokens", "looks_like_code", "whole_sentences"]

_SENTENCE_END = re.compile(r"""(?:[.!?…]+["'”’)\]]*\s+|[。！？]+["'”’」』)\]]*\s*)""")
_NOT_A_SENTENCE_END = re.compile(r"(?:^|[\s(\[\"'.])(?:[A-Z]|Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|cf|e\.g|i\.e)\.$")
"""A period that follows an initial or a common abbreviation (looked at up to and including the period)."""
_CODE_LINE = re.compile(
    r"[{};:,(\[]\s*$|^\s*[})\]]|^\s*(def|class|import|from|return|if|elif|else|for|while|try|except|with|"
    r"#include|function|const|let|var|public|private|fn|func|package)\b|^\s*(#|//|@)|"
    r"^\s*[\w.\[\]'\"]+\s*[-+*/|&%]?=[^=]|\w\(.*\)\s*$"
)


@dataclass(frozen=True)
class Chunk:
    """A unit of selection: characters ``[start, end)`` and tokens ``[first, last)`` of the context.

    ``continues`` is true when the chunk starts inside a sentence that was too long for one chunk and was split at
    a word: it carries on the chunk before it.
    """

    start: int
    end: int
    first: int
    last: int
    continues: bool = False

    @property
    def tokens(self) -> int:
        """Number of draft tokens in the chunk."""
        return self.last - self.first


def looks_like_code(text: str) -> bool:
    """Guess whether ``text`` is source code: most non-empty lines are indented or end like statements."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        return False
    hits = sum(1 for line in lines if _CODE_LINE.search(line))
    return hits / len(lines) >= 0.55


def _segment_ends(text: str, code: bool) -> set[int]:
    """Character positions after which a segment may end (sentence ends and line breaks)."""
    if code:
        return {m.end() for m in re.finditer(r"\n", text)}
    ends = {m.end() for m in re.finditer(r"\n[ \t]*(?=\S)", text)}
    ends.update(m.end() for m in _SENTENCE_END.finditer(text) if not _after_abbreviation(text, m))
    return ends


def _after_abbreviation(text: str, match: re.Match[str]) -> bool:
    """Tell whether a sentence-end match is a single period after an initial or an abbreviation."""
    if match.group().rstrip() != ".":
        return False
    head = text[max(0, match.start() - 6) : match.start() + 1]
    return _NOT_A_SENTENCE_END.search(head) is not None


def _hard_ends(text: str) -> set[int]:
    """Positions that chunks never cross: the line start after a blank-line paragraph break."""
    return {m.end() for m in re.finditer(r"\n(?:[ \t]*\n)+", text)}


def chunk_tokens(
    tokens: TokenizedText, config: ChunkingConfig, *, forced: Iterable[tuple[int, int]] = ()
) -> list[Chunk]:
    """Split ``tokens`` into chunks tiling the text; ``forced`` ranges become chunks of their own."""
    n = len(tokens)
    text = tokens.text
    if n == 0:
        return []
    code = looks_like_code(text) if config.mode == "auto" else config.mode == "code"
    starts = tokens.starts
    ends = np.maximum.accumulate(tokens.offsets[:, 1])
    soft = _token_cuts(ends, _segment_ends(text, code))
    hard = _token_cuts(ends, _hard_ends(text))
    for a, b in forced:
        hard.update(_token_cuts(ends, {a, b}))
    hard.discard(0)
    hard.discard(n)
    soft |= hard
    cuts, inside = _pack(n, sorted(soft), hard, config, _word_starts(tokens))
    return [
        Chunk(
            start=0 if i == 0 else int(starts[a]),
            end=len(text) if b == n else int(starts[b]),
            first=a,
            last=b,
            continues=a in inside,
        )
        for i, (a, b) in enumerate(itertools.pairwise(cuts))
    ]


def _token_cuts(ends: np.ndarray, positions: Iterable[int]) -> set[int]:
    """Map character positions to the index of the token containing (or starting at) each."""
    n = ends.shape[0]
    out = set()
    for pos in positions:
        index = int(np.searchsorted(ends, pos, side="right"))
        if 0 < index < n:
            out.add(index)
    return out


def _word_starts(tokens: TokenizedText) -> np.ndarray:
    """Flag the tokens that start a word (whitespace before them, or leading their own text)."""
    text = tokens.text
    flags = np.zeros(len(tokens), dtype=bool)
    for i, (a, b) in enumerate(tokens.offsets.tolist()):
        piece = text[a:b]
        flags[i] = a == 0 or text[a - 1].isspace() or (bool(piece) and piece[0].isspace())
    return flags


def _pack(
    n: int, cuts: list[int], hard: set[int], config: ChunkingConfig, word_start: np.ndarray
) -> tuple[list[int], set[int]]:
    """Pack segments between ``cuts`` into chunks of about ``chunk_tokens``.

    Return the chunk token boundaries and those of them that fall inside a segment split at words.
    """
    target = config.chunk_tokens
    limit = int(target * config.max_chunk_factor)
    bounds = [0, *cuts, n]
    out = [0]
    inside: set[int] = set()
    for a, b in itertools.pairwise(bounds):
        if b - a > limit:
            if out[-1] != a:
                out.append(a)
            pieces = _split_long(a, b, target, word_start)
            inside.update(pieces[:-1])
            out.extend(pieces)
            continue
        if out[-1] != a and (a in hard or b - out[-1] > target):
            out.append(a)
    if out[-1] != n:
        out.append(n)
    return _merge_small(out, hard, max(1, target // 4), limit), inside


def _merge_small(bounds: list[int], hard: set[int], smallest: int, limit: int) -> list[int]:
    """Join each chunk shorter than ``smallest`` to its previous (else next) chunk across a soft cut.

    A join never crosses a hard cut (paragraph break or forced range) nor makes a chunk longer than ``limit``.
    """
    out = list(bounds)
    i = 1
    while i < len(out):
        size = out[i] - out[i - 1]
        if size >= smallest:
            i += 1
            continue
        if i >= 2 and out[i - 1] not in hard and out[i] - out[i - 2] <= limit:
            del out[i - 1]
            continue
        if i + 1 < len(out) and out[i] not in hard and out[i + 1] - out[i - 1] <= limit:
            del out[i]
            continue
        i += 1
    return out


def _split_long(a: int, b: int, target: int, word_start: np.ndarray) -> list[int]:
    """Boundaries splitting tokens ``[a, b)`` into pieces of about ``target``, preferring word starts."""
    out = []
    pos = a
    while b - pos > target + target // 2:
        cut = pos + target
        window = [c for c in range(pos + target // 2, min(cut + target // 2, b)) if word_start[c]]
        if window:
            cut = min(window, key=lambda c: abs(c - cut))
        out.append(cut)
        pos = cut
    out.append(b)
    return out


def whole_sentences(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Join every chunk that continues a sentence split at words to the chunk before it."""
    out: list[Chunk] = []
    for chunk in chunks:
        if chunk.continues and out:
            out[-1] = replace(out[-1], end=chunk.end, last=chunk.last)
        else:
            out.append(chunk)
    return out
