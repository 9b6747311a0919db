"""Selection, budgets, ordering, forced keeps and bad input, through the public Compressor API."""

from __future__ import annotations

import random

import pytest

from contextsieve import ChunkingConfig, Compressor
from contextsieve.errors import BudgetError, ConfigError, EmptyInputError, InputError
from contextsieve.testing import KeywordScorer, corpus_text

NEEDLE = "The Rowland safe combination is 4-8-15-16."
QUERY = "What is the Rowland safe combination?"


def haystack(n_chars: int = 20000, depth: float = 0.5, seed: int = 0) -> str:
    text = corpus_text(n_chars)
    paragraphs = text.split("\n\n")
    position = int(len(paragraphs) * depth)
    paragraphs.insert(position, NEEDLE)
    return "\n\n".join(paragraphs)


@pytest.fixture
def compressor(draft_tokenizer) -> Compressor:
    return Compressor(KeywordScorer(draft_tokenizer), chunking=ChunkingConfig(chunk_tokens=32))


def _extractive(result, text: str, separator: str = "\n...\n") -> None:
    assert result.text == separator.join(text[a:b] for a, b in result.spans)


@pytest.mark.parametrize("depth", [0.0, 0.5, 1.0])
def test_needle_is_kept_at_low_rate(compressor, depth) -> None:
    text = haystack(depth=depth)
    result = compressor.compress(text, QUERY, rate=0.05)
    assert NEEDLE in result.text
    assert result.compressed_tokens <= int(0.05 * result.original_tokens)
    _extractive(result, text)


def test_spans_are_in_input_order_and_disjoint(compressor) -> None:
    text = haystack()
    result = compressor.compress(text, "statement exception assignment", rate=0.2)
    starts = [a for a, _ in result.spans]
    assert starts == sorted(starts)
    for (_, b), (c, _) in zip(result.spans, result.spans[1:], strict=False):
        assert b < c
    _extractive(result, text)


@pytest.mark.parametrize("budget", [5, 17, 40, 111, 250, 600])
def test_budget_is_exact_in_a_foreign_tokenizer(compressor, foreign_tokenizer, budget) -> None:
    text = haystack(12000)
    result = compressor.compress(text, QUERY, budget=budget, target_tokenizer=foreign_tokenizer)
    counted = len(foreign_tokenizer(result.text, add_special_tokens=False)["input_ids"])
    assert result.compressed_tokens == counted
    assert counted <= budget
    assert result.original_tokens == len(foreign_tokenizer(text, add_special_tokens=False)["input_ids"])
    if budget >= 100:  # chunks hold ~32 draft tokens, so only larger budgets can be filled closely
        assert counted >= budget * 0.6, "budget should be mostly used"
    _extractive(result, text)


def test_callable_target_counter(compressor) -> None:
    text = haystack(8000)

    def words(s: str) -> int:
        return len(s.split())

    result = compressor.compress(text, QUERY, budget=120, target_tokenizer=words)
    assert words(result.text) == result.compressed_tokens <= 120
    assert result.original_tokens == words(text)


def test_budget_at_or_above_input_returns_input_unchanged(compressor) -> None:
    text = haystack(3000)
    full = compressor.compress(text, QUERY, budget=10**6)
    assert full.text == text
    assert full.spans == ((0, len(text)),)
    assert full.ratio == 1.0
    assert compressor.compress(text, QUERY, rate=1.0).text == text


def test_top_p_keeps_the_best_chunks_until_the_mass_is_reached(compressor) -> None:
    text = haystack(12000)
    half = compressor.compress(text, QUERY, top_p=0.5)
    most = compressor.compress(text, QUERY, top_p=0.9)
    kept = [c for c in half.chunk_scores if c.kept]
    dropped = [c for c in half.chunk_scores if not c.kept]
    assert NEEDLE in half.text
    assert kept and dropped
    assert min(c.score for c in kept) >= max(c.score for c in dropped)
    assert half.compressed_tokens < most.compressed_tokens


def test_top_p_is_capped_by_budget(compressor) -> None:
    text = haystack(12000)
    loose = compressor.compress(text, QUERY, top_p=0.99)
    capped = compressor.compress(text, QUERY, top_p=0.99, budget=60)
    assert capped.compressed_tokens <= 60 < loose.compressed_tokens


def test_forced_patterns_are_always_kept(compressor) -> None:
    text = haystack(12000)
    result = compressor.compress(text, QUERY, rate=0.05, force_patterns=[r"The \"assert\" statement"])
    assert 'The "assert" statement' in result.text
    assert NEEDLE in result.text


def test_forced_content_larger_than_budget_is_a_budget_error(compressor) -> None:
    text = haystack(6000)
    with pytest.raises(BudgetError, match="forced content"):
        compressor.compress(text, QUERY, budget=10, force_patterns=[r"(?s).{0,2000}"])


def test_relevance_and_edges_order(compressor) -> None:
    text = haystack(15000)
    query = "Rowland combination assert statement exception"
    original = compressor.compress(text, query, rate=0.1)
    relevance = compressor.compress(text, query, rate=0.1, order="relevance")
    edges = compressor.compress(text, query, rate=0.1, order="edges")
    assert set(original.spans) == set(relevance.spans) == set(edges.spans)
    score_of = {}
    for span in relevance.spans:
        inside = [c.score for c in relevance.chunk_scores if c.kept and c.start < span[1] and span[0] < c.end]
        score_of[span] = max(inside)
    ordered = [score_of[s] for s in relevance.spans]
    assert ordered == sorted(ordered, reverse=True)
    best = relevance.spans[0]
    second = relevance.spans[1]
    assert edges.spans[0] == best
    assert edges.spans[-1] == second
    _extractive(edges, text)


def test_custom_separator(compressor) -> None:
    text = haystack(8000)
    result = compressor.compress(text, QUERY, rate=0.2, separator=" [...] ")
    _extractive(result, text, " [...] ")


def test_tiny_budget_keeps_a_prefix_of_the_best_chunk(compressor) -> None:
    text = haystack(8000)
    result = compressor.compress(text, QUERY, budget=3)
    assert 0 < result.compressed_tokens <= 3
    assert result.text in text
    assert NEEDLE.startswith(result.text)


def test_documents_share_one_budget_and_all_come_back(compressor) -> None:
    rng = random.Random(0)
    text = corpus_text(30000)
    docs = [text[i : i + 2500] for i in range(0, 25000, 2500)]
    docs[6] = docs[6][:1200] + " " + NEEDLE + " " + docs[6][1200:]
    docs.insert(3, "   ")
    rng.shuffle(docs)
    result = compressor.compress_documents(docs, QUERY, budget=150)
    assert [d.index for d in result.documents] == list(range(len(docs)))
    assert result.compressed_tokens == sum(d.compressed_tokens for d in result.documents) <= 150
    needle_doc = next(i for i, d in enumerate(docs) if NEEDLE in d)
    assert NEEDLE in result.documents[needle_doc].text
    assert not result.documents[needle_doc].dropped
    blank = docs.index("   ")
    assert result.documents[blank].dropped and result.documents[blank].text == ""
    assert result.documents[needle_doc].score == max(d.score for d in result.documents)
    assert len(result.dropped) >= 1
    for doc in result.documents:
        assert doc.text == "\n...\n".join(docs[doc.index][a:b] for a, b in doc.spans)


def test_compress_batch_scores_each_request_in_its_own_call_as_compress_does(draft_tokenizer) -> None:
    scorer = KeywordScorer(draft_tokenizer)
    compressor = Compressor(scorer)
    texts = [haystack(6000, seed=i) for i in range(3)]
    queries = [QUERY, "assert statement", QUERY]
    results = compressor.compress_batch(texts, queries, rate=0.1)
    assert scorer.calls == 3
    assert [r.text for r in results] == [
        Compressor(scorer).compress(t, q, rate=0.1).text for t, q in zip(texts, queries, strict=True)
    ]
    assert NEEDLE in results[0].text and NEEDLE in results[2].text
    assert "assert" in results[1].text


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"budget": 0}, ConfigError, "positive"),
        ({"budget": -5}, ConfigError, "positive"),
        ({"rate": 0.0}, ConfigError, r"\(0, 1\]"),
        ({"rate": 1.5}, ConfigError, r"\(0, 1\]"),
        ({}, ConfigError, "give a budget"),
        ({"budget": 10, "rate": 0.5}, ConfigError, "not both"),
        ({"top_p": 0}, ConfigError, "top_p"),
        ({"rate": 0.5, "order": "random"}, ConfigError, "order"),
        ({"rate": 0.5, "force_patterns": ["("]}, ConfigError, "regular expression"),
    ],
)
def test_bad_options_raise_config_errors(compressor, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        compressor.compress(haystack(2000), QUERY, **kwargs)


@pytest.mark.parametrize("context", ["", "   \n\t  "])
def test_empty_context_is_rejected(compressor, context) -> None:
    with pytest.raises(EmptyInputError, match="context"):
        compressor.compress(context, QUERY, rate=0.5)


def test_empty_query_and_wrong_types_are_rejected(compressor) -> None:
    with pytest.raises(EmptyInputError, match="query"):
        compressor.compress("Some context.", "  ", rate=0.5)
    with pytest.raises(InputError, match="must be a str"):
        compressor.compress(b"bytes", QUERY, rate=0.5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="2 contexts but 1 queries"):
        compressor.compress_batch(["a b", "c d"], ["q"], rate=0.5)


@pytest.mark.parametrize(
    "context",
    ["😀🎉🚀 " * 300, "这是一个很长的中文句子，用于测试压缩器。" * 80, "\u200b" * 5 + "x " * 400],
)
def test_unusual_scripts_compress_extractively(compressor, context) -> None:
    result = compressor.compress(context, "测试 compress", rate=0.25)
    assert 0 < result.compressed_tokens <= max(1, int(0.25 * result.original_tokens))
    _extractive(result, context)


def test_compress_prompt_string_keeps_instruction_and_question(compressor) -> None:
    context = haystack(8000)
    prompt = f"Answer the question based on the context below.\n\nContext:\n{context}\n\nQuestion: {QUERY}\nAnswer:"
    result = compressor.compress_prompt(prompt, rate=0.1)
    assert isinstance(result.prompt, str)
    assert result.query == QUERY
    assert result.prompt.startswith("Answer the question based on the context below.\n\nContext:\n")
    assert result.prompt.endswith(f"\n\nQuestion: {QUERY}\nAnswer:")
    assert NEEDLE in result.prompt
    assert len(result.parts) == 1
    assert result.compressed_tokens <= int(0.1 * result.original_tokens)


def test_compress_prompt_messages_returns_new_messages(compressor) -> None:
    tool_output = haystack(6000)
    messages = [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": QUERY},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_7", "type": "function"}]},
        {"role": "tool", "content": tool_output, "tool_call_id": "call_7"},
    ]
    result = compressor.compress_prompt(messages, budget=120)
    out = result.prompt
    assert isinstance(out, list) and out is not messages
    assert out[:3] == messages[:3]
    assert out[3]["tool_call_id"] == "call_7"
    assert NEEDLE in out[3]["content"]
    assert len(out[3]["content"]) < len(tool_output) // 5
    assert messages[3]["content"] == tool_output


def test_compress_prompt_without_a_question_is_a_typed_error(compressor) -> None:
    from contextsieve.errors import QueryNotFoundError

    with pytest.raises(QueryNotFoundError, match="query="):
        compressor.compress_prompt("just one paragraph of text with no question in it", rate=0.5)


def test_kept_code_lines_keep_their_indentation(draft_tokenizer) -> None:
    import inspect
    import textwrap

    source = inspect.getsource(textwrap)
    chunking = ChunkingConfig(mode="code", chunk_tokens=48, max_chunk_factor=8)  # no line is split
    compressor = Compressor(KeywordScorer(draft_tokenizer), chunking=chunking)
    result = compressor.compress(source, "dedent margin whitespace lines", rate=0.1)
    _extractive(result, source)
    for start, _ in result.spans:
        assert start == 0 or source[start - 1] == "\n", "every kept run starts at a line start"
    assert any(source[start] == " " for start, _ in result.spans), "indented lines keep their indentation"


def test_score_cache_scores_a_context_once_across_budgets(draft_tokenizer) -> None:
    scorer = KeywordScorer(draft_tokenizer)
    cached = Compressor(scorer, score_cache=2)
    text = haystack()
    first = cached.compress(text, QUERY, rate=0.1)
    second = cached.compress(text, QUERY, rate=0.3)
    assert scorer.calls == 1
    assert NEEDLE in first.text and NEEDLE in second.text
    assert second.compressed_tokens > first.compressed_tokens
    fresh = Compressor(KeywordScorer(draft_tokenizer)).compress(text, QUERY, rate=0.3)
    assert fresh.text == second.text
    cached.compress(text, "another question entirely", rate=0.1)
    cached.compress(haystack(seed=1, depth=0.2), QUERY, rate=0.1)
    assert scorer.calls == 3
    cached.compress(text, QUERY, rate=0.2)  # evicted: the two newer pairs filled the cache
    assert scorer.calls == 4
    with pytest.raises(ConfigError, match="score_cache must be >= 0"):
        Compressor(scorer, score_cache=-1)


def _calibrated(draft_tokenizer) -> Compressor:
    scorer = KeywordScorer(draft_tokenizer)
    scorer.calibrated = True  # its scores are 1.0 on query words and 0.01 elsewhere: probabilities, in effect
    return Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=8, max_chunk_factor=4.0))


ORDERS = ("original", "relevance", "edges")
LIGHTHOUSE = "Ships passed far out at sea. The lighthouse keeper trimmed the wick. Gulls cried over the rocks."
BAKERY = "Bread rises in a warm kitchen. Flour dusts the long table."


def test_min_score_drops_documents_that_do_not_answer(draft_tokenizer) -> None:
    compressor = _calibrated(draft_tokenizer)
    result = compressor.compress_documents(
        [LIGHTHOUSE, BAKERY, LIGHTHOUSE], "Who trimmed the lighthouse wick?", min_score=0.2
    )
    assert [d.dropped for d in result.documents] == [False, True, False]
    assert [d.text for d in result.documents] == [
        "The lighthouse keeper trimmed the wick.",
        "",
        "The lighthouse keeper trimmed the wick.",
    ]
    assert result.documents[1].score < 0.2 <= result.documents[0].score
    assert [d.index for d in result.arranged()] == [0, 2]  # the dropped document is left out
    with_rate = compressor.compress_documents([BAKERY, LIGHTHOUSE], "Who trimmed the lighthouse wick?", rate=0.9)
    assert [d.dropped for d in with_rate.documents] == [False, False]  # without min_score the budget is spent


def test_min_score_can_keep_nothing_even_under_a_tiny_budget(draft_tokenizer) -> None:
    compressor = _calibrated(draft_tokenizer)
    result = compressor.compress(BAKERY, "Who trimmed the lighthouse wick?", budget=2, min_score=0.2)
    assert result.text == "" and result.spans == () and result.compressed_tokens == 0
    kept = compressor.compress(LIGHTHOUSE, "Who trimmed the lighthouse wick?", rate=0.5, min_score=0.2)
    assert kept.text == "The lighthouse keeper trimmed the wick."


def test_min_score_needs_a_calibrated_scorer(compressor) -> None:
    with pytest.raises(ConfigError, match="min_score needs a scorer with calibrated scores"):
        compressor.compress(LIGHTHOUSE, "Who trimmed the wick?", rate=0.5, min_score=0.5)
    with pytest.raises(ConfigError, match=r"min_score must be in \(0, 1\)"):
        compressor.compress(LIGHTHOUSE, "Who trimmed the wick?", min_score=1.5)


def test_documents_are_presented_in_the_order_asked_for(compressor) -> None:
    lamp = "Ships passed far out at sea. The lighthouse keeper lit the lamp at dusk."
    docs = [lamp, BAKERY, "The lighthouse keeper trimmed the wick."]
    query = "Who trimmed the lighthouse wick?"
    by_order = {order: compressor.compress_documents(docs, query, rate=0.9, order=order) for order in ORDERS}
    for order, result in by_order.items():
        assert result.order == order
        assert [d.index for d in result.documents] == [0, 1, 2]  # documents stay in input order
        assert [set(d.spans) for d in result.documents] == [set(d.spans) for d in by_order["original"].documents]
    scores = [d.score for d in by_order["original"].documents]
    assert scores[2] > scores[0] > scores[1]
    assert [d.index for d in by_order["original"].arranged(dropped=True)] == [0, 1, 2]
    assert [d.index for d in by_order["relevance"].arranged(dropped=True)] == [2, 0, 1]
    assert [d.index for d in by_order["edges"].arranged(dropped=True)] == [2, 1, 0]  # second best at the end
