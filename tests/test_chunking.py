"""Chunks tile the text, follow sentences (prose) or lines (code), and honour forced ranges."""

from __future__ import annotations

import itertools

import numpy as np

from contextsieve import ChunkingConfig
from contextsieve.aggregation.chunking import chunk_tokens, looks_like_code, whole_sentences
from contextsieve.aggregation.pooling import chunk_scores, pool_scores
from contextsieve.testing import corpus_text
from contextsieve.tokens import tokenize_with_offsets

PROSE = (
    "The lighthouse keeper rose before dawn. He climbed the spiral stairs and trimmed the wick. "
    "Ships passed far out at sea, their lights small and steady. The Rowland safe combination is 4-8-15. "
    "Nobody else knew it.\n\nA new paragraph starts here. It has two sentences."
)


def _tiles(chunks, text):
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for left, right in itertools.pairwise(chunks):
        assert left.end == right.start
        assert left.last == right.first


def test_prose_chunks_tile_and_end_at_sentences(draft_tokenizer) -> None:
    tokens = tokenize_with_offsets(draft_tokenizer, PROSE)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=24))
    _tiles(chunks, PROSE)
    assert all(c.tokens >= 1 for c in chunks)
    for chunk in chunks[:-1]:
        tail = PROSE[chunk.start : chunk.end].rstrip()
        assert tail[-1] in ".!?", tail
    pieces = [PROSE[c.start : c.end].strip() for c in chunks]
    assert "The Rowland safe combination is 4-8-15." in pieces


def test_chunks_never_cross_a_paragraph_break(draft_tokenizer) -> None:
    tokens = tokenize_with_offsets(draft_tokenizer, PROSE)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=200))
    pieces = [PROSE[c.start : c.end] for c in chunks]
    assert len(pieces) == 2
    assert pieces[0].endswith("Nobody else knew it.\n\n")
    assert pieces[1] == "A new paragraph starts here. It has two sentences."


def test_long_sentence_is_split_at_word_starts(draft_tokenizer) -> None:
    text = " ".join(["alpha beta gamma delta"] * 60) + "."
    tokens = tokenize_with_offsets(draft_tokenizer, text)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=16))
    _tiles(chunks, text)
    assert len(chunks) > 5
    assert max(c.tokens for c in chunks) <= 24
    for chunk in chunks[1:]:
        assert text[chunk.start - 1] == " " or text[chunk.start] == " "


def test_the_pieces_of_a_sentence_split_at_words_continue_it_and_join_back_whole(draft_tokenizer) -> None:
    long = "The keeper wrote " + " ".join(["alpha beta gamma delta"] * 20) + " in the log."
    text = f"A short opening line. {long} A short closing line."
    tokens = tokenize_with_offsets(draft_tokenizer, text)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=16))
    _tiles(chunks, text)
    start = text.index(long)
    flags = [(text[c.start : c.end].strip()[:12], c.continues) for c in chunks]
    assert not any(c.continues for c in chunks if c.start <= start)  # the opening and the sentence's first piece
    assert sum(c.continues for c in chunks) == len(chunks) - 3, flags  # all but the opening, the first piece, closing
    whole = whole_sentences(chunks)
    _tiles(whole, text)
    assert [text[c.start : c.end].strip() for c in whole] == [
        "A short opening line.",
        long,
        "A short closing line.",
    ]
    assert not any(c.continues for c in whole)


def test_code_is_cut_at_lines() -> None:
    import inspect
    import json.decoder

    source = inspect.getsource(json.decoder)
    assert looks_like_code(source)
    assert not looks_like_code(corpus_text(5000))


def test_code_chunks_start_at_line_starts(draft_tokenizer) -> None:
    import inspect
    import textwrap

    source = inspect.getsource(textwrap)[:6000]
    tokens = tokenize_with_offsets(draft_tokenizer, source)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=32, mode="code"))
    _tiles(chunks, source)
    long_lines = 0
    for chunk in chunks[1:]:
        line_head = source[: chunk.start].rsplit("\n", 1)[-1]
        if line_head.strip() and not source[chunk.start].isspace():
            long_lines += 1
    assert long_lines == 0


def test_forced_range_becomes_its_own_chunks(draft_tokenizer) -> None:
    start = PROSE.index("climbed")
    end = PROSE.index("wick") + 4
    tokens = tokenize_with_offsets(draft_tokenizer, PROSE)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=64), forced=[(start, end)])
    _tiles(chunks, PROSE)
    starts = {c.start for c in chunks}
    ends = {c.end for c in chunks}
    assert any(abs(s - start) <= 1 for s in starts)
    assert any(abs(e - end) <= 1 for e in ends)


def test_cjk_and_emoji_text_chunks(draft_tokenizer) -> None:
    text = "这是第一句话。这是第二句话！这是第三句话？" * 5 + " 😀🎉🚀" * 10
    tokens = tokenize_with_offsets(draft_tokenizer, text)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=8))
    _tiles(chunks, text)
    assert len(chunks) > 3


def test_pooling_is_a_clipped_moving_average() -> None:
    values = np.array([0.0, 0.0, 3.0, 0.0, 0.0, 6.0])
    np.testing.assert_allclose(pool_scores(values, 3), [0.0, 1.0, 1.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(pool_scores(values, 1), values)


def test_chunk_score_is_token_mean(draft_tokenizer) -> None:
    tokens = tokenize_with_offsets(draft_tokenizer, PROSE)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=12))
    scores = np.arange(len(tokens), dtype=float)
    expected = [scores[c.first : c.last].mean() for c in chunks]
    np.testing.assert_allclose(chunk_scores(scores, chunks), expected)


def test_initials_and_titles_do_not_end_sentences(draft_tokenizer) -> None:
    text = (
        "Sir V. S. Naipaul was a Trinidad-born British writer of fiction. Dr. Smith met Mr. Jones in the "
        "U.S. Army, e.g. in Texas. The meeting was short."
    )
    tokens = tokenize_with_offsets(draft_tokenizer, text)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=4, max_chunk_factor=16.0))
    pieces = [text[c.start : c.end].strip() for c in chunks]
    assert pieces == [
        "Sir V. S. Naipaul was a Trinidad-born British writer of fiction.",
        "Dr. Smith met Mr. Jones in the U.S. Army, e.g. in Texas.",
        "The meeting was short.",
    ]


def test_a_short_sentence_joins_its_neighbour_but_not_across_a_paragraph(draft_tokenizer) -> None:
    first = "The keeper trimmed the wick of the great lamp and wound the clockwork that turned the lens."
    text = f"{first} He slept.\n\nShort line.\n\n{first}"
    tokens = tokenize_with_offsets(draft_tokenizer, text)
    size = tokenize_with_offsets(draft_tokenizer, first).offsets.shape[0]
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=size + 1))
    _tiles(chunks, text)
    pieces = [text[c.start : c.end] for c in chunks]
    assert pieces == [f"{first} He slept.\n\n", "Short line.\n\n", first]


def test_small_chunks_are_whole_paragraphs(draft_tokenizer) -> None:
    text = corpus_text(6000)
    tokens = tokenize_with_offsets(draft_tokenizer, text)
    chunks = chunk_tokens(tokens, ChunkingConfig(chunk_tokens=32))
    _tiles(chunks, text)
    for chunk in chunks:
        if chunk.tokens < 8:
            piece = text[chunk.start : chunk.end]
            assert chunk.start == 0 or text[: chunk.start].endswith("\n\n"), piece
            assert chunk.end == len(text) or piece.endswith("\n\n"), piece
