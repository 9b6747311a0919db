"""Reuse across queries for draft attention and the trained head: stored prefix states, in memory and on disk."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from contextsieve import Compressor, ScoringConfig
from contextsieve.errors import ConfigError
from contextsieve.scoring.block_scorer import BlockScorer
from contextsieve.scoring.draft import DraftAttentionScorer
from contextsieve.scoring.head import CrossAttentionHead, HeadConfig
from contextsieve.scoring.head_scorer import HeadScorer
from contextsieve.scoring.prefix_states import PrefixStates, StateStore
from contextsieve.testing import corpus_text, tiny_draft
from tests.test_sliding_window import tiny_sliding

QUERIES = ["what is it", "where does the longest river of the whole region begin and end today", "who wrote it"]


def contexts() -> list[str]:
    """Three contexts of different lengths: several blocks, one block, and a short last block that reaches back."""
    text = corpus_text(12_000)
    return [text[:3000], text[3000:3400], text[4000:9500]]


def head(seed: int = 0) -> CrossAttentionHead:
    torch.manual_seed(seed)
    module = CrossAttentionHead(HeadConfig(layers=3, hidden_size=64, objective="bce")).eval()
    torch.nn.init.normal_(module.q_proj.weight)
    torch.nn.init.normal_(module.k_proj.weight)
    return module


def build(kind: str, tokenizer: Any, model: Any, **options: Any) -> BlockScorer:
    config = ScoringConfig(block_tokens=256, batch_size=4, **options)
    if kind == "head":
        return HeadScorer(model, tokenizer, head(), config, name="tiny-head")
    return DraftAttentionScorer(model, tokenizer, config, name="tiny")


def scores(scorer: BlockScorer, query: str, texts: list[str]) -> list[Any]:
    return scorer.score([(scorer.tokenize(t), query) for t in texts])


def assert_close(got: list[Any], expected: list[Any], atol: float = 1e-5) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, atol=atol, rtol=0)


def one_block_bytes(scorer: BlockScorer, text: str) -> int:
    """Bytes the store holds for the first block of ``text``."""
    return scorer.prefix_pass(scorer.plan(0, scorer.tokenize(text), QUERIES[0])[:1])[0].nbytes


class CountingDraft(DraftAttentionScorer):
    """Counts the prefixes the draft runs (what reuse saves)."""

    prefixes = 0

    def prefix_pass(self, blocks: Any) -> list[PrefixStates]:
        self.prefixes += len(blocks)
        return super().prefix_pass(blocks)


@pytest.mark.parametrize("kind", ["draft", "head"])
def test_a_new_query_over_known_contexts_scores_as_without_reuse(kind: str, draft_tokenizer: Any) -> None:
    model = tiny_draft(len(draft_tokenizer), seed=2)
    cold = build(kind, draft_tokenizer, model, reuse_mb=0)
    warm = build(kind, draft_tokenizer, model, reuse_mb=64)
    texts = contexts()
    for query in QUERIES:  # the short query's rows reach back into the context; the long one's do not
        assert_close(scores(warm, query, texts), scores(cold, query, texts))
    info = warm.reuse_info()
    blocks = info.misses
    assert blocks > 5 and info.entries == blocks and info.hits == 2 * blocks  # every later query hit every block
    assert 0 < info.bytes <= info.max_bytes == 64 * 2**20


@pytest.mark.parametrize("family", ["gemma3", "mistral"])
def test_sliding_window_drafts_reuse_their_windows(family: str, draft_tokenizer: Any) -> None:
    model = tiny_sliding(family, len(draft_tokenizer))
    for mode in ("skip", "window"):
        cold = build("draft", draft_tokenizer, model, reuse_mb=0, lookahead=3, sliding_layers=mode)
        warm = build("draft", draft_tokenizer, model, reuse_mb=64, lookahead=3, sliding_layers=mode)
        for query in QUERIES[:2]:
            assert_close(scores(warm, query, contexts()), scores(cold, query, contexts()))
        assert warm.reuse_info().hits > 0


def test_eviction_under_a_tight_cap_never_changes_a_result(draft_tokenizer: Any, tiny_model: Any) -> None:
    config = ScoringConfig(block_tokens=256, batch_size=4, lookahead=2, reuse_mb=0)
    cold = DraftAttentionScorer(tiny_model, draft_tokenizer, config)
    small = CountingDraft(tiny_model, draft_tokenizer, config.model_copy(update={"reuse_mb": 1}))
    small._store = StateStore(3 * one_block_bytes(small, contexts()[0]))  # room for three blocks of the longest shape
    small.prefixes = 0
    for query in [*QUERIES, QUERIES[0]]:
        assert_close(scores(small, query, contexts()), scores(cold, query, contexts()))
        info = small.reuse_info()
        assert info.bytes <= info.max_bytes and info.entries <= 3
    assert small.prefixes == small.reuse_info().misses > 3  # evicted blocks were run again
    for query in QUERIES[1:]:  # a context that fits the cap is reused
        assert_close(scores(small, query, contexts()[1:2]), scores(cold, query, contexts()[1:2]))
    assert small.reuse_info().hits > 0


class PassRecordingDraft(DraftAttentionScorer):
    """Records how many blocks each suffix pass runs."""

    passes: list[int]

    def suffix_pass(self, blocks: Any, prefixes: Any) -> Any:
        self.passes.append(len(blocks))
        return super().suffix_pass(blocks, prefixes)


def test_a_suffix_pass_takes_as_many_blocks_as_the_cap_holds(draft_tokenizer: Any, tiny_model: Any) -> None:
    config = ScoringConfig(block_tokens=256, batch_size=4, lookahead=2, reuse_mb=0)
    cold = DraftAttentionScorer(tiny_model, draft_tokenizer, config)
    text = [corpus_text(6_000)]
    assert len(cold.plan(0, cold.tokenize(text[0]), QUERIES[0])) == 10  # equal lengths (the last reaches back)
    # Prefixes run batch_size (4) blocks at a time; a suffix pass grows by 4 blocks while their copy fits the cap.
    for room, passes in [(10, [10]), (9, [8, 2]), (1, [4, 4, 2])]:
        warm = PassRecordingDraft(tiny_model, draft_tokenizer, config.model_copy(update={"reuse_mb": 1}))
        warm._store = StateStore(room * one_block_bytes(warm, text[0]))
        for query in QUERIES:
            warm.passes = []
            assert_close(scores(warm, query, text), scores(cold, query, text))
            assert warm.passes == passes


def documents() -> list[str]:
    """Twelve short documents of different lengths, some within a 16-token sliding window and most beyond it."""
    text = corpus_text(8_000)
    return [text[i * 600 : i * 600 + 30 + 40 * i] for i in range(12)]


@pytest.mark.parametrize(
    ("kind", "family"), [("draft", "llama"), ("head", "llama"), ("draft", "gemma3"), ("draft", "mistral")]
)
def test_documents_of_different_lengths_share_one_suffix_pass_and_score_as_without_reuse(
    kind: str, family: str, draft_tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vocab = len(draft_tokenizer)
    model = tiny_draft(vocab, seed=2) if family == "llama" else tiny_sliding(family, vocab)
    cold = build(kind, draft_tokenizer, model, reuse_mb=0)
    warm = build(kind, draft_tokenizer, model, reuse_mb=64)
    docs = documents()
    lengths = {len(warm.tokenize(d)) for d in docs}
    assert len(lengths) > 8 and min(lengths) < 16 < max(lengths)
    passes: list[tuple[set[int], set[int]]] = []  # per suffix pass: its suffix lengths, its context lengths
    suffix_pass = warm.suffix_pass

    def recording(blocks: Any, prefixes: Any) -> Any:
        suffixes = {len(b.ids) - b.query_offset for b in blocks}
        passes.append((suffixes, {p.length - b.context_offset for b, p in zip(blocks, prefixes, strict=True)}))
        return suffix_pass(blocks, prefixes)

    monkeypatch.setattr(warm, "suffix_pass", recording)
    for query in QUERIES:  # the first query fills the store, the others run only their suffixes
        passes.clear()
        assert_close(scores(warm, query, docs), scores(cold, query, docs))
        assert len(passes) == 1  # one pass: every document, one suffix length, their own context lengths
        suffixes, contexts_seen = passes[0]
        assert len(suffixes) == 1 and contexts_seen == lengths
    info = warm.reuse_info()
    assert (info.misses, info.hits) == (12, 24)


def test_the_byte_cap_holds_and_evicts_the_least_recently_used() -> None:
    def entry(tokens: int) -> PrefixStates:
        return PrefixStates((torch.zeros(2, tokens, 4),), (torch.zeros(2, tokens, 4),), tokens, torch.zeros(1, tokens))

    size = entry(10).nbytes
    store = StateStore(3 * size)
    store.store(["a", "b", "c"], [entry(10), entry(10), entry(10)])
    assert sorted(store.lookup(["a"])) == [0]  # "a" is now the most recent
    store.store(["d"], [entry(10)])
    assert sorted(store.lookup(["a", "b", "c", "d"])) == [0, 2, 3]  # "b" was the least recently used
    store.store(["huge"], [entry(100)])  # larger than the cap: not kept, nothing evicted
    info = store.info()
    assert (info.entries, info.bytes, info.max_bytes) == (3, 3 * size, 3 * size)


def test_two_threads_sharing_a_store_get_the_results_of_one(draft_tokenizer: Any, tiny_model: Any) -> None:
    shared = build("draft", draft_tokenizer, tiny_model, reuse_mb=64)
    alone = build("draft", draft_tokenizer, tiny_model, reuse_mb=0)
    expected = {query: scores(alone, query, contexts()) for query in QUERIES}
    results: dict[tuple[int, str], list[Any]] = {}

    def work(worker: int) -> None:
        for query in QUERIES if worker == 0 else reversed(QUERIES):
            results[(worker, query)] = scores(shared, query, contexts())

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    for (_, query), got in results.items():
        assert_close(got, expected[query])


@pytest.mark.parametrize("kind", ["draft", "head"])
def test_precompute_then_a_later_process_scores_from_disk(kind: str, draft_tokenizer: Any, tmp_path: Path) -> None:
    model = tiny_draft(len(draft_tokenizer), seed=2)
    first = build(kind, draft_tokenizer, model, reuse_dir=str(tmp_path))
    texts = contexts()
    computed = Compressor(first).precompute(texts)
    assert computed == first.reuse_info().misses > 5
    assert len(list(tmp_path.rglob("*.safetensors"))) == computed
    assert Compressor(first).precompute(texts) == 0
    later = build(kind, draft_tokenizer, model, reuse_dir=str(tmp_path), reuse_mb=0)  # disk only
    cold = build(kind, draft_tokenizer, model, reuse_mb=0)
    assert_close(scores(later, QUERIES[1], texts), scores(cold, QUERIES[1], texts))
    info = later.reuse_info()
    assert (info.disk_hits, info.misses) == (computed, 0)
    other = build(kind, draft_tokenizer, tiny_draft(len(draft_tokenizer), seed=9), reuse_dir=str(tmp_path))
    scores(other, QUERIES[1], texts)
    assert other.reuse_info().disk_hits == 0  # another draft's weights never read these states


def test_a_store_written_by_another_process_is_read_and_a_torn_file_is_ignored(tmp_path: Path) -> None:
    script = (
        "import sys, torch\n"
        "from contextsieve.scoring.prefix_states import PrefixStates, StateStore\n"
        "entries = [PrefixStates((torch.full((2, 5, 4), float(i)),), (torch.ones(2, 5, 4),), 5, torch.zeros(3, 5))"
        " for i in range(3)]\n"
        "StateStore(0, disk=sys.argv[1]).store(['k0', 'k1', 'k2'], entries)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    found = StateStore(1 << 20, disk=tmp_path).lookup(["k0", "k1", "k2", "k3"])
    assert sorted(found) == [0, 1, 2]
    assert found[2].length == 5 and float(found[2].keys[0][0, 0, 0]) == 2.0
    torn = next(tmp_path.rglob("k1.safetensors"))
    torn.write_bytes(torn.read_bytes()[:60])
    fresh = StateStore(1 << 20, disk=tmp_path)
    assert sorted(fresh.lookup(["k0", "k1", "k2"])) == [0, 2]
    assert fresh.info().misses == 1 and not list(tmp_path.rglob("*.tmp"))


def test_half_precision_states_halve_the_bytes_within_a_measured_tolerance(
    draft_tokenizer: Any, tiny_model: Any
) -> None:
    exact = build("draft", draft_tokenizer, tiny_model, reuse_mb=64)
    half = build("draft", draft_tokenizer, tiny_model, reuse_mb=64, reuse_dtype="float16")
    texts = contexts()
    for query in QUERIES[:2]:
        assert_close(scores(half, query, texts), scores(exact, query, texts), atol=1e-3)
    assert half.reuse_info().bytes < 0.6 * exact.reuse_info().bytes


def test_reuse_off_stores_nothing_and_precompute_says_why(draft_tokenizer: Any, tiny_model: Any) -> None:
    off = build("draft", draft_tokenizer, tiny_model, reuse_mb=0)
    scores(off, QUERIES[0], contexts())
    assert off.reuse_info().entries == 0 and off.reuse_info().misses == 0
    with pytest.raises(ConfigError, match="precompute needs reuse"):
        Compressor(off).precompute(contexts())


def test_a_reusing_scorer_tokenizes_a_known_text_once(draft_tokenizer: Any, tiny_model: Any) -> None:
    on = build("draft", draft_tokenizer, tiny_model)
    off = build("draft", draft_tokenizer, tiny_model, reuse_mb=0)
    text = contexts()[0]
    first = on.tokenize(text)
    assert on.tokenize("".join(list(text))) is first  # an equal text, not the same object
    assert off.tokenize(text) is not off.tokenize(text)
    np.testing.assert_array_equal(off.tokenize(text).ids, first.ids)
    with pytest.raises(ValueError, match="read-only"):
        first.ids[0] = 0


def test_the_sentence_scorer_refuses_a_state_precision(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reuse_dtype applies to draft attention"):
        Compressor.from_pretrained("minilm-l6", device="cpu", reuse_dtype="float16")
