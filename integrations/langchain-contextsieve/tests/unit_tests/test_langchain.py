"""LangChain adapters end to end: real retrievers, LCEL, create_agent; a lexical scorer stands in for the draft."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.tools import tool

from contextsieve import ChunkingConfig, Compressor
from contextsieve.errors import ConfigError, InputError
from contextsieve.testing import KeywordScorer, corpus_text
from langchain_contextsieve import ContextSieveCompressor, ContextSieveMiddleware

NEEDLE = "The Rowland safe combination is 4-8-15-16."
QUERY = "What is the Rowland safe combination?"


def paragraphs(count: int, size: int = 1200) -> list[str]:
    parts = [p for p in corpus_text(400_000).split("\n\n") if len(p) > 400]
    return [p[:size] for p in parts[:count]]


def documents() -> list[Document]:
    texts = paragraphs(8)
    cut = texts[5].index(". ", 500) + 2  # plant the needle as a sentence of its own
    texts[5] = texts[5][:cut] + NEEDLE + " " + texts[5][cut:]
    return [
        Document(page_content=t, id=f"doc-{i}", metadata={"source": f"topics/{i}", "tags": ["python", str(i)]})
        for i, t in enumerate(texts)
    ]


@pytest.fixture
def core(draft_tokenizer) -> Compressor:
    return Compressor(KeywordScorer(draft_tokenizer), chunking=ChunkingConfig(chunk_tokens=32))


# ---------------------------------------------------------------------- document compressor


def test_compressed_documents_keep_ids_metadata_and_order(core) -> None:
    docs = documents()
    before = copy.deepcopy(docs)
    sieve = ContextSieveCompressor(compressor=core, budget=120)
    out = sieve.compress_documents(docs, QUERY)

    assert docs == before  # originals untouched
    ids = [d.id for d in out]
    assert ids == sorted(ids, key=lambda i: int(i.split("-")[1]))  # input order
    assert "doc-5" in ids
    needle_doc = out[ids.index("doc-5")]
    assert NEEDLE in needle_doc.page_content
    for doc in out:
        original = docs[int(doc.id.split("-")[1])]
        info = doc.metadata["contextsieve"]
        assert {k: v for k, v in doc.metadata.items() if k != "contextsieve"} == original.metadata
        assert info["original_tokens"] == core.count_tokens(original.page_content)
        assert info["kept_tokens"] == core.count_tokens(doc.page_content)
        assert info["dropped"] is False
        assert info["model"] == "keywords"
        assert doc.page_content == "\n...\n".join(original.page_content[a:b] for a, b in info["spans"])
    assert sum(core.count_tokens(d.page_content) for d in out) <= 120
    assert needle_doc.metadata["contextsieve"]["score"] == max(d.metadata["contextsieve"]["score"] for d in out)


def test_best_first_order_returns_the_best_document_first_and_edges_puts_the_runner_up_last(core) -> None:
    docs = documents()
    second = "The Rowland family kept a safe in the cellar."
    docs[2] = docs[2].model_copy(update={"page_content": second + " " + docs[2].page_content})
    plain = ContextSieveCompressor(compressor=core, rate=0.3, keep_all=True).compress_documents(docs, QUERY)
    scores = {d.id: d.metadata["contextsieve"]["score"] for d in plain}
    ranked = sorted(scores, key=lambda i: (-scores[i], int(i.split("-")[1])))
    assert ranked[:2] == ["doc-5", "doc-2"]
    best = ContextSieveCompressor(compressor=core, rate=0.3, keep_all=True, order="relevance")
    edges = ContextSieveCompressor(compressor=core, rate=0.3, keep_all=True, order="edges")
    assert [d.id for d in best.compress_documents(docs, QUERY)] == ranked
    out = edges.compress_documents(docs, QUERY)
    assert (out[0].id, out[-1].id) == ("doc-5", "doc-2")
    assert sorted(d.id for d in out) == sorted(d.id for d in docs)  # every document comes back once
    assert NEEDLE in out[0].page_content and out[0].metadata["source"] == "topics/5"


def test_documents_that_keep_nothing_are_dropped_unless_keep_all(core, caplog) -> None:
    caplog.set_level(logging.INFO, logger="langchain_contextsieve")
    docs = documents()
    budget = core.count_tokens(NEEDLE) + 1  # room for the needle sentence only
    out = ContextSieveCompressor(compressor=core, budget=budget).compress_documents(docs, QUERY)
    assert [d.id for d in out] == ["doc-5"]
    assert out[0].page_content == NEEDLE
    assert "kept nothing of 7 of 8 documents" in caplog.text

    everything = ContextSieveCompressor(compressor=core, budget=budget, keep_all=True).compress_documents(docs, QUERY)
    assert [d.id for d in everything] == [d.id for d in docs]
    dropped = [d for d in everything if d.metadata["contextsieve"]["dropped"]]
    assert len(dropped) == 7
    assert all(d.page_content == "" and d.metadata["source"] for d in dropped)


def test_blank_document_is_reported_dropped(core) -> None:
    docs = [*documents()[:2], Document(page_content="   ", id="blank", metadata={"k": 1})]
    out = ContextSieveCompressor(compressor=core, rate=0.5, keep_all=True).compress_documents(docs, "Python")
    assert out[2].id == "blank"
    assert out[2].metadata == {"k": 1, "contextsieve": out[2].metadata["contextsieve"]}
    assert out[2].metadata["contextsieve"]["dropped"] is True


def test_rate_defaults_to_half_and_bad_options_fail_at_construction(core) -> None:
    docs = documents()
    out = ContextSieveCompressor(compressor=core).compress_documents(docs, QUERY)
    total = sum(core.count_tokens(d.page_content) for d in docs)
    assert sum(core.count_tokens(d.page_content) for d in out) <= total // 2
    with pytest.raises(ConfigError, match="give either budget or rate, not both"):
        ContextSieveCompressor(compressor=core, budget=10, rate=0.2)
    with pytest.raises(ConfigError, match=r"rate must be in \(0, 1\]"):
        ContextSieveCompressor(rate=1.5)
    with pytest.raises(ConfigError, match="target_token: Extra inputs are not permitted"):
        ContextSieveCompressor(target_token=300)
    with pytest.raises(ConfigError, match="force pattern '\\(' is not a valid regular expression"):
        ContextSieveCompressor(force_patterns=("(",))


def test_empty_inputs(core) -> None:
    sieve = ContextSieveCompressor(compressor=core, budget=50)
    assert sieve.compress_documents([], QUERY) == []
    with pytest.raises(InputError, match="query"):
        sieve.compress_documents(documents(), "  ")


class SlowScorer(KeywordScorer):
    """Takes a while per call, like a real draft on a CPU."""

    def score(self, requests, *, progress=False):
        time.sleep(0.3)
        return super().score(requests, progress=progress)


@pytest.mark.asyncio
async def test_async_does_not_block_the_event_loop_and_concurrent_calls_agree(draft_tokenizer) -> None:
    core = Compressor(SlowScorer(draft_tokenizer))
    sieve = ContextSieveCompressor(compressor=core, budget=120)
    docs = documents()
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    results = await asyncio.gather(*(sieve.acompress_documents(docs, QUERY) for _ in range(4)))
    beat.cancel()
    assert ticks >= 20  # four serialised 0.3 s scoring calls: the loop kept running meanwhile
    expected = sieve.compress_documents(docs, QUERY)
    for result in results:
        assert [(d.id, d.page_content) for d in result] == [(d.id, d.page_content) for d in expected]


# ---------------------------------------------------------------------- real retrievers and LCEL


def test_contextual_compression_retriever_over_bm25_in_an_lcel_chain(core) -> None:
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_community.retrievers import BM25Retriever

    docs = documents()
    base = BM25Retriever.from_documents(docs, k=4)
    retriever = ContextualCompressionRetriever(
        base_compressor=ContextSieveCompressor(compressor=core, budget=100), base_retriever=base
    )
    seen: list[str] = []

    def fake_llm(prompt_value):
        text = prompt_value.to_string()
        seen.append(text)
        return "4-8-15-16"

    prompt = ChatPromptTemplate.from_template("Context:\n{context}\n\nQuestion: {question}")
    chain = (
        {
            "context": retriever | RunnableLambda(lambda ds: "\n\n".join(d.page_content for d in ds)),
            "question": RunnablePassthrough(),
        }
        | prompt
        | RunnableLambda(fake_llm)
    )
    assert chain.invoke(QUERY) == "4-8-15-16"
    retrieved = base.invoke(QUERY)
    compressed = retriever.invoke(QUERY)
    assert NEEDLE in seen[0]
    assert [d.id for d in compressed] == [d.id for d in retrieved if d.id in {c.id for c in compressed}]
    assert sum(core.count_tokens(d.page_content) for d in compressed) <= 100
    full_context = "\n\n".join(d.page_content for d in retrieved)
    assert core.count_tokens(seen[0]) < core.count_tokens(full_context)


# ---------------------------------------------------------------------- agent middleware


def long_report() -> str:
    text = corpus_text(30_000)
    cut = text.index("\n\n", 15_000)
    return text[:cut] + "\n\n" + NEEDLE + text[cut:]


@tool
def fetch_report(topic: str) -> str:
    """Fetch the full archive report about a topic."""
    return long_report()


def scripted_agent_model(scripted_chat: Any) -> Any:
    call = {"name": "fetch_report", "args": {"topic": "Rowland"}, "id": "call-42", "type": "tool_call"}
    return scripted_chat(
        responses=[
            AIMessage(content="", tool_calls=[call]),
            AIMessage(content="The combination is 4-8-15-16."),
        ]
    )


def test_agent_middleware_compresses_tool_results_before_the_model_sees_them(core, scripted_chat) -> None:
    from langchain.agents import create_agent

    model = scripted_agent_model(scripted_chat)
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=500, budget=200)
    agent = create_agent(model, tools=[fetch_report], system_prompt="You are an archivist.", middleware=[middleware])
    state = agent.invoke({"messages": [HumanMessage(QUERY)]})

    assert len(model.seen) == 2
    second = model.seen[1]
    assert isinstance(second[0], SystemMessage) and second[0].content == "You are an archivist."
    assert isinstance(second[1], HumanMessage) and second[1].content == QUERY
    assert second[2].tool_calls[0]["id"] == "call-42"
    sent = second[3]
    assert isinstance(sent, ToolMessage) and sent.tool_call_id == "call-42"
    assert NEEDLE in sent.content
    assert core.count_tokens(sent.content) <= 200 < core.count_tokens(long_report())
    info = sent.response_metadata["contextsieve"]
    assert info["original_tokens"] == core.count_tokens(long_report())
    assert sent.content == "\n...\n".join(long_report()[a:b] for a, b in info["spans"])
    # the agent's own history keeps the full tool result
    stored = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert stored[0].content == long_report()
    assert state["messages"][-1].content == "The combination is 4-8-15-16."


def test_middleware_leaves_short_messages_alone_and_caches_results(draft_tokenizer) -> None:
    scorer = KeywordScorer(draft_tokenizer)
    core = Compressor(scorer)
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=500, rate=0.1)
    history = [
        HumanMessage("Summarise the report."),
        AIMessage(content=long_report()),
        HumanMessage(QUERY),
        AIMessage(content="", tool_calls=[{"name": "fetch_report", "args": {}, "id": "c1", "type": "tool_call"}]),
        ToolMessage(content=long_report(), tool_call_id="c1", id="tm-1"),
        ToolMessage(content="short note", tool_call_id="c2"),
    ]
    out = middleware.compress_messages(history)
    assert out[:4] == history[:4]  # history turns untouched by default
    assert out[5] is history[5]
    assert out[4].id == "tm-1" and NEEDLE in out[4].content and len(out[4].content) < len(long_report()) // 5
    calls = scorer.calls
    assert middleware.compress_messages(history) == out
    assert scorer.calls == calls  # second turn: served from the cache

    with_history = ContextSieveMiddleware(compressor=core, trigger_tokens=500, rate=0.1, compress_history=True)
    out = with_history.compress_messages(history)
    assert out[0] == history[0] and out[2] == history[2]
    assert len(out[1].content) < len(history[1].content) // 5
    assert "contextsieve" in out[1].response_metadata

    assert middleware.compress_messages([SystemMessage("x"), AIMessage("y")]) == [SystemMessage("x"), AIMessage("y")]
    with pytest.raises(ConfigError, match="trigger_tokens must be >= 0, got -1"):
        ContextSieveMiddleware(compressor=core, trigger_tokens=-1)


def test_middleware_takes_the_shared_options(core) -> None:
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=10, min_score=0.3, order="edges", layers=4)
    assert middleware.options.selection.min_score == 0.3 and middleware.options.selection.order == "edges"
    assert middleware.options.selection.rate is None and middleware.options.scoring.layers == 4
    with pytest.raises(ConfigError, match="ratio"):
        ContextSieveMiddleware(ratio=0.5)


# ---------------------------------------------------------------------- bad documents never lose a batch


def test_d6_uncopyable_metadata_is_shared_and_the_batch_survives(core) -> None:
    import threading

    lock = threading.Lock()
    docs = documents()
    docs[5] = docs[5].model_copy(update={"metadata": {"lock": lock, "tags": ["x"]}})
    out = ContextSieveCompressor(compressor=core, budget=120).compress_documents(docs, QUERY)
    needle_doc = next(d for d in out if d.id == "doc-5")
    assert NEEDLE in needle_doc.page_content
    assert needle_doc.metadata["lock"] is lock  # shared: it cannot be copied
    assert needle_doc.metadata["tags"] == ["x"] and needle_doc.metadata["tags"] is not docs[5].metadata["tags"]
    assert "contextsieve" not in docs[5].metadata


def test_a_document_that_is_not_valid_unicode_is_dropped_alone(core, caplog) -> None:
    docs = documents()
    docs[2] = docs[2].model_copy(update={"page_content": docs[2].page_content + "\ud800"})
    sieve = ContextSieveCompressor(compressor=core, budget=120)
    with caplog.at_level(logging.WARNING):
        out = sieve.compress_documents(docs, QUERY)
    assert "doc-2" not in [d.id for d in out]
    assert "doc-5" in [d.id for d in out]
    assert "dropped document #2 (id=doc-2): its text holds a lone surrogate" in caplog.text
    kept = ContextSieveCompressor(compressor=core, budget=120, keep_all=True).compress_documents(docs, QUERY)
    assert [d.id for d in kept] == [d.id for d in docs]
    record = kept[2].metadata["contextsieve"]
    assert kept[2].page_content == "" and record["dropped"] is True and "lone surrogate" in record["error"]
    good = [d for i, d in enumerate(docs) if i != 2]
    expected = ContextSieveCompressor(compressor=core, budget=120, keep_all=True).compress_documents(good, QUERY)
    assert [d.page_content for i, d in enumerate(kept) if i != 2] == [d.page_content for d in expected]


def test_d7_the_middleware_compresses_text_blocks_and_keeps_the_others(core) -> None:
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=500, rate=0.1)
    image = {"type": "image", "source_type": "base64", "data": "aGVsbG8=", "mime_type": "image/png"}
    blocks = [{"type": "text", "text": long_report()}, image, {"type": "text", "text": "short note"}]
    history = [
        HumanMessage(QUERY),
        AIMessage(content="", tool_calls=[{"name": "fetch_report", "args": {}, "id": "c1", "type": "tool_call"}]),
        ToolMessage(content=blocks, tool_call_id="c1", id="tm-1"),
    ]
    out = middleware.compress_messages(history)
    text, kept_image, note = out[2].content
    assert NEEDLE in text["text"] and len(text["text"]) < len(long_report()) // 5
    assert kept_image == image and note == {"type": "text", "text": "short note"}
    (record,) = out[2].response_metadata["contextsieve"]["blocks"]
    assert record["block"] == 0 and record["kept_tokens"] < record["original_tokens"]
    assert history[2].content[0]["text"] == long_report()  # the agent's state keeps the full text
    assert middleware.compress_messages(out) == out  # already compressed: left alone


def test_the_middleware_leaves_a_text_that_is_not_valid_unicode_alone(core, caplog) -> None:
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=500, rate=0.1)
    history = [
        HumanMessage(QUERY),
        ToolMessage(content=long_report() + "\udc80", tool_call_id="c1"),
        ToolMessage(content=long_report(), tool_call_id="c2"),
    ]
    with caplog.at_level(logging.WARNING):
        out = middleware.compress_messages(history)
    assert out[1] is history[1]
    assert NEEDLE in out[2].content and len(out[2].content) < len(long_report()) // 5
    assert "left a message text uncompressed" in caplog.text


# ---------------------------------------------------------------------- concurrency


def test_threads_and_tasks_get_the_sequential_results(draft_tokenizer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    core = Compressor(KeywordScorer(draft_tokenizer), chunking=ChunkingConfig(chunk_tokens=32), score_cache=4)
    sieve = ContextSieveCompressor(compressor=core, budget=120)
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=500, rate=0.1)
    docs = documents()
    texts = [d.page_content for d in docs]
    report = long_report()

    def work(k: int) -> tuple[Any, ...]:
        query = [QUERY, "statement exception assignment", "module import path"][k % 3]
        history = [HumanMessage(query), ToolMessage(content=report, tool_call_id=f"c{k}")]
        return (
            core.compress(report, query, rate=0.1 + 0.05 * (k % 4)).text,
            [part.text for part in core.compress_documents(texts, query, budget=90).documents],
            [(d.id, d.page_content) for d in sieve.compress_documents(docs[k % 3 :], query)],
            [m.content for m in middleware.compress_messages(history)],
        )

    expected = [work(k) for k in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(work, range(16)))
    assert threaded == expected

    async def run_tasks() -> list[tuple[Any, ...]]:
        return list(await asyncio.gather(*(asyncio.to_thread(work, k) for k in range(8))))

    assert asyncio.run(run_tasks()) == expected[:8]


# ---------------------------------------------------------------------- reuse across queries and turns


def test_the_compressor_and_the_middleware_reuse_embeddings_across_queries() -> None:
    from contextsieve.config import ScoringConfig
    from contextsieve.scoring.sentences import SentenceConfig, SentenceScorer
    from contextsieve.testing import tiny_encoder, train_tokenizer

    class Counting(SentenceScorer):
        embedded = 0

        def _compute(self, texts: Any, *, progress: bool = False) -> Any:
            self.embedded += len(texts)
            return super()._compute(texts, progress=progress)

    tokenizer = train_tokenizer("wordpiece", 500, encoder=True)
    bert = tiny_encoder(len(tokenizer), max_positions=512).bert
    scorer = Counting(bert, tokenizer, ScoringConfig(pool_kernel=1), SentenceConfig(), name="tiny")
    core = Compressor(scorer)
    sieve = ContextSieveCompressor(compressor=core, budget=120)
    docs = documents()
    sieve.compress_documents(docs, QUERY)
    units = scorer.embedded - 2
    sieve.compress_documents(docs, "How are exceptions raised?")
    assert scorer.embedded == units + 4  # the second query embeds only itself and its second hop
    middleware = ContextSieveMiddleware(compressor=core, trigger_tokens=50, rate=0.2)
    history = [HumanMessage(QUERY), ToolMessage(content=docs[5].page_content, tool_call_id="c1")]
    middleware.compress_messages(history)
    before = scorer.embedded
    middleware.compress_messages([*history, AIMessage("Noted."), HumanMessage("What else is stored there?")])
    assert scorer.embedded - before == 2  # turn 2: the tool output's units come from the store


def test_the_middleware_reuses_draft_states_across_turns(draft_tokenizer, tiny_model) -> None:
    from contextsieve.config import ScoringConfig
    from contextsieve.scoring.draft import DraftAttentionScorer

    options = {"block_tokens": 128, "lookahead": 2}
    scorer = DraftAttentionScorer(tiny_model, draft_tokenizer, ScoringConfig(**options), name="tiny")
    fresh = Compressor(DraftAttentionScorer(tiny_model, draft_tokenizer, ScoringConfig(reuse_mb=0, **options)))
    reusing = ContextSieveMiddleware(compressor=Compressor(scorer), trigger_tokens=50, rate=0.2)
    recomputing = ContextSieveMiddleware(compressor=fresh, trigger_tokens=50, rate=0.2)
    outputs = [docs.page_content for docs in documents()[4:7]]
    history: list[Any] = [HumanMessage(QUERY), ToolMessage(content=outputs[0], tool_call_id="c0")]
    turns = ["What else is stored there?", "Which module reads files?"]
    for turn, question in enumerate(turns):
        before = scorer.reuse_info().misses  # a missed block is a prefix the draft runs
        got = reusing.compress_messages(history)
        assert [m.content for m in got] == [m.content for m in recomputing.compress_messages(history)]
        if turn:  # the earlier tool outputs' blocks come from the store; only the new output's run
            ran = scorer.reuse_info().misses - before
            assert 0 < ran == len(scorer.plan(0, scorer.tokenize(outputs[turn]), question))
        history += [
            AIMessage("Noted."),
            HumanMessage(question),
            ToolMessage(content=outputs[turn + 1], tool_call_id=f"c{turn + 1}"),
        ]
    assert scorer.reuse_info().hits > 0


# ---------------------------------------------------------------------- one shared core over HTTP


def test_the_compressor_and_the_middleware_call_a_server_named_by_endpoint(core) -> None:
    from contextsieve.config import BatchingConfig
    from contextsieve.serving.app import create_app
    from contextsieve.serving.background import BackgroundServer

    served = Compressor(core.scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=BatchingConfig())
    docs = documents()
    local = ContextSieveCompressor(compressor=core, budget=120).compress_documents(docs, QUERY)
    with BackgroundServer(create_app(served)) as server:
        remote = ContextSieveCompressor(endpoint=server.url, budget=120).compress_documents(docs, QUERY)
        middleware = ContextSieveMiddleware(endpoint=server.url, budget=60, trigger_tokens=50)
        messages = [HumanMessage(QUERY), ToolMessage(documents()[5].page_content, tool_call_id="t1")]
        shrunk = middleware.compress_messages(messages)
    served.close()
    assert [(d.id, d.page_content, d.metadata) for d in remote] == [(d.id, d.page_content, d.metadata) for d in local]
    assert NEEDLE in shrunk[1].content and len(shrunk[1].content) < len(messages[1].content)
    assert "api_key" not in ContextSieveCompressor(endpoint="http://127.0.0.1:9", api_key="k").model_dump()
