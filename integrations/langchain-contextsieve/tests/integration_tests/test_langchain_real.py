"""LangChain end to end with the real default draft (SmolLM2-135M) and a foreign target tokenizer (Gemma 3)."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.tools import tool

from contextsieve.testing import corpus_text
from langchain_contextsieve import ContextSieveCompressor, ContextSieveMiddleware

pytestmark = pytest.mark.slow

NEEDLE = "The vault access code for the Rowland archive is 7319."
QUERY = "What is the vault access code for the Rowland archive?"


def corpus_documents(count: int = 24) -> list[Document]:
    parts = [p for p in corpus_text(400_000).split("\n\n") if len(p) > 600][:count]
    parts = [p[:1500] for p in parts]
    host = next(i for i in range(9, count) if ". " in parts[i][700:])  # a document with a sentence break midway
    cut = parts[host].index(". ", 700) + 2
    parts[host] = parts[host][:cut] + NEEDLE + " " + parts[host][cut:]
    return [Document(page_content=p, id=f"topic-{i}", metadata={"row": i}) for i, p in enumerate(parts)]


def test_rag_chain_with_bm25_and_a_gemma_budget(real_compressor) -> None:
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_community.retrievers import BM25Retriever

    docs = corpus_documents()
    base = BM25Retriever.from_documents(docs, k=6)
    sieve = ContextSieveCompressor(compressor=real_compressor, budget=150, target_tokenizer="gemma3-270m")
    retriever = ContextualCompressionRetriever(base_compressor=sieve, base_retriever=base)
    prompts: list[str] = []

    def target_llm(prompt_value):
        prompts.append(prompt_value.to_string())
        return "7319"

    join = RunnableLambda(lambda ds: "\n\n".join(d.page_content for d in ds))
    chain = (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | ChatPromptTemplate.from_template("{context}\n\nQuestion: {question}")
        | RunnableLambda(target_llm)
    )
    assert chain.invoke(QUERY) == "7319"
    assert NEEDLE in prompts[0]

    retrieved = base.invoke(QUERY)
    compressed = retriever.invoke(QUERY)
    gemma = real_compressor.count_tokens
    kept = sum(gemma(d.page_content, "gemma3-270m") for d in compressed)
    assert kept <= 150 < sum(gemma(d.page_content, "gemma3-270m") for d in retrieved)
    by_id = {d.id: d for d in docs}
    order = [d.id for d in retrieved]
    assert [d.id for d in compressed] == [i for i in order if i in {c.id for c in compressed}]
    for doc in compressed:
        assert doc.metadata["row"] == by_id[doc.id].metadata["row"]
        assert doc.metadata["contextsieve"]["model"] == "smollm2-135m"


def test_agent_loop_with_the_real_draft(real_compressor, scripted_chat) -> None:
    from langchain.agents import create_agent

    text = corpus_text(24_000)
    cut = text.index("\n\n", 11_000)
    report = text[:cut] + "\n\n" + NEEDLE + text[cut:]

    @tool
    def read_archive(name: str) -> str:
        """Read the archive's full catalogue."""
        return report

    call = {"name": "read_archive", "args": {"name": "Rowland"}, "id": "call-7", "type": "tool_call"}
    model = scripted_chat(responses=[AIMessage("", tool_calls=[call]), AIMessage("7319")])
    middleware = ContextSieveMiddleware(compressor=real_compressor, trigger_tokens=1000, rate=0.1)
    agent = create_agent(model, tools=[read_archive], middleware=[middleware])
    agent.invoke({"messages": [HumanMessage(QUERY)]})

    sent = model.seen[1][-1]
    assert isinstance(sent, ToolMessage) and sent.tool_call_id == "call-7"
    assert NEEDLE in sent.content
    original = real_compressor.count_tokens(report)
    assert original > 5000
    assert real_compressor.count_tokens(sent.content) <= original // 10
