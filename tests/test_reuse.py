"""Reuse across queries: the sentence scorer's stored unit embeddings, in memory and on disk."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contextsieve import Compressor
from contextsieve.config import ScoringConfig
from contextsieve.errors import ConfigError
from contextsieve.scoring.encoder import EncoderConfig, save_encoder
from contextsieve.scoring.reuse import REUSE_DIR_ENV, VectorStore, text_key
from contextsieve.scoring.sentences import SentenceConfig, SentenceScorer, save_sentences
from contextsieve.testing import KeywordScorer, corpus_text, tiny_encoder

QUERIES = ["Which module reads files?", "How are exceptions raised?", "What does the import statement do?"]


class CountingScorer(SentenceScorer):
    """Counts the texts the model embeds (what reuse saves)."""

    embedded = 0

    def _compute(self, texts: Any, *, progress: bool = False) -> Any:
        self.embedded += len(texts)
        return super()._compute(texts, progress=progress)


def scorer(tokenizer: Any, bert: Any, **options: Any) -> CountingScorer:
    return CountingScorer(bert, tokenizer, ScoringConfig(pool_kernel=1, **options), SentenceConfig(), name="tiny")


def contexts() -> list[str]:
    text = corpus_text(9000)
    return [text[:2500], text[2500:6000], text[6000:]]


def scores(model: SentenceScorer, query: str, texts: list[str]) -> list[Any]:
    return model.score_collection([(model.tokenize(t), query) for t in texts])


def test_a_new_query_over_known_texts_embeds_only_the_query_and_scores_the_same(tokenizer: Any, bert: Any) -> None:
    cold = scorer(tokenizer, bert, reuse_mb=0)
    warm = scorer(tokenizer, bert, reuse_mb=64)
    texts = contexts()
    first = scores(warm, QUERIES[0], texts)
    units = warm.embedded - 2  # the query and the second-hop query
    assert units > 20
    for query in QUERIES[1:]:
        before = warm.embedded
        reused = scores(warm, query, texts)
        assert warm.embedded - before == 2  # only the query and its second hop
        for got, expected in zip(reused, scores(cold, query, texts), strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-5)
    before = warm.embedded
    again = scores(warm, QUERIES[0], texts)
    assert warm.embedded == before  # a repeated query embeds nothing
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    info = warm.reuse_info()
    assert (info.misses, info.hits) == (units + 6, 3 * units + 2)
    assert info.entries == units + 6 and info.bytes == info.entries * 4 * bert.config.hidden_size


def test_the_byte_cap_holds_and_eviction_never_changes_a_result(tokenizer: Any, bert: Any) -> None:
    width = 4 * bert.config.hidden_size
    small = scorer(tokenizer, bert, reuse_mb=0)
    small._reuse = VectorStore(10 * width)  # room for 10 vectors
    cold = scorer(tokenizer, bert, reuse_mb=0)
    texts = contexts()
    for query in QUERIES * 2:
        for got, expected in zip(scores(small, query, texts), scores(cold, query, texts), strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-5)
        info = small.reuse_info()
        assert info.bytes <= info.max_bytes == 10 * width and info.entries == 10


def test_two_threads_sharing_the_store_get_the_single_thread_results(tokenizer: Any, bert: Any) -> None:
    shared = scorer(tokenizer, bert, reuse_mb=64)
    alone = scorer(tokenizer, bert, reuse_mb=0)
    texts = contexts()
    expected = {q: scores(alone, q, texts) for q in QUERIES}
    results: dict[tuple[int, str], list[Any]] = {}

    def run(worker: int) -> None:
        for query in QUERIES[worker:] + QUERIES[:worker]:
            results[worker, query] = scores(shared, query, texts)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (_, query), got in results.items():
        for a, b in zip(got, expected[query], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_store_written_by_one_process_is_read_by_another_and_a_torn_file_is_ignored(tmp_path: Path) -> None:
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    texts = ["alpha unit", "beta unit", "gamma unit"]
    script = (
        "import numpy as np, sys\n"
        "from contextsieve.scoring.reuse import VectorStore\n"
        f"VectorStore(0, disk=sys.argv[1], namespace='m').put_many({texts!r}, "
        "np.arange(12, dtype=np.float32).reshape(3, 4))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    reader = VectorStore(1 << 20, disk=tmp_path, namespace="m")
    found = reader.get_many([*texts, "delta unit"])
    assert sorted(found) == [0, 1, 2]
    for index, vector in found.items():
        np.testing.assert_array_equal(vector, vectors[index])
    assert reader.info().disk_hits == 3 and reader.info().misses == 1
    assert VectorStore(1 << 20, disk=tmp_path, namespace="other").get_many(texts) == {}  # models never mix
    torn = tmp_path / "m" / text_key("beta unit")[:2] / f"{text_key('beta unit')}.npy"
    torn.write_bytes(torn.read_bytes()[:40])
    fresh = VectorStore(1 << 20, disk=tmp_path, namespace="m")
    assert sorted(fresh.get_many(texts)) == [0, 2]
    fresh.put_many(["beta unit"], vectors[1:2])
    np.testing.assert_array_equal(VectorStore(0, disk=tmp_path, namespace="m").get_many(["beta unit"])[0], vectors[1])
    assert not list(tmp_path.rglob("*.tmp"))


def test_precompute_fills_the_store_so_queries_pay_only_for_themselves(
    tokenizer: Any, bert: Any, tmp_path: Path
) -> None:
    texts = contexts()
    first = scorer(tokenizer, bert, reuse_dir=str(tmp_path))
    compressor = Compressor(first)
    computed = compressor.precompute(texts)
    assert computed == first.embedded > 20
    assert compressor.precompute(texts) == 0
    second = scorer(tokenizer, bert, reuse_dir=str(tmp_path))  # a new process, as far as memory goes
    result = Compressor(second).compress_documents(texts, QUERIES[1], rate=0.2)
    assert second.embedded == 2
    cold = Compressor(scorer(tokenizer, bert, reuse_mb=0)).compress_documents(texts, QUERIES[1], rate=0.2)
    assert [d.spans for d in result.documents] == [d.spans for d in cold.documents]
    info = compressor.reuse_info()
    assert info is not None and info.entries == computed


def test_only_the_reuse_variable_turns_the_disk_store_on(
    tokenizer: Any, bert: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTEXTSIEVE_CACHE", str(tmp_path / "models"))  # the model cache is not a vector store
    with pytest.raises(ConfigError, match="precompute needs reuse"):
        Compressor(scorer(tokenizer, bert, reuse_mb=0)).precompute(contexts())
    assert not (tmp_path / "models").exists()
    monkeypatch.setenv(REUSE_DIR_ENV, str(tmp_path / "vectors"))
    computed = Compressor(scorer(tokenizer, bert, reuse_mb=0)).precompute(contexts())
    later = scorer(tokenizer, bert, reuse_mb=0)
    Compressor(later).compress_documents(contexts(), QUERIES[0], rate=0.2)
    assert later.embedded == 2 and computed > 20
    assert len(list((tmp_path / "vectors").rglob("*.npy"))) == computed + 2


def test_a_folder_without_a_pooler_reads_its_own_vectors_after_a_reload(
    tokenizer: Any, bert: Any, tmp_path: Path
) -> None:
    assert not any(name.startswith("pooler.") for name in bert.state_dict())  # so each load makes a random one
    folder = save_sentences(bert, tokenizer, tmp_path / "tiny", SentenceConfig())
    first = Compressor.from_pretrained(str(folder), device="cpu", reuse_dir=str(tmp_path / "vectors"))
    computed = first.precompute(contexts())
    again = Compressor.from_pretrained(str(folder), device="cpu", reuse_dir=str(tmp_path / "vectors"), reuse_mb=0)
    assert computed > 20 and again.precompute(contexts()) == 0  # the random pooler does not rename the store


def test_precompute_needs_a_scorer_with_reuse(tokenizer: Any, bert: Any) -> None:
    with pytest.raises(ConfigError, match="precompute needs reuse"):
        Compressor(scorer(tokenizer, bert, reuse_mb=0)).precompute(["some text"])
    keywords = Compressor(KeywordScorer(tokenizer))
    with pytest.raises(ConfigError, match="does not reuse states"):
        keywords.precompute(["some text"])
    assert keywords.reuse_info() is None


def test_the_reuse_options_are_refused_by_the_encoder(tokenizer: Any, tmp_path: Path) -> None:
    model = tiny_encoder(len(tokenizer), max_positions=128)
    folder = save_encoder(model, tokenizer, tmp_path / "enc", EncoderConfig(max_length=128, overlap=16))
    with pytest.raises(ConfigError, match="reuse_mb applies to the sentence scorer, draft attention and the trained"):
        Compressor.from_pretrained(str(folder), device="cpu", reuse_mb=16)
