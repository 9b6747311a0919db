"""A 200k-token input goes through the whole pipeline with a tiny draft: linear blocks, exact budget."""

from __future__ import annotations

from contextsieve.testing import corpus_text


def test_two_hundred_thousand_tokens(make_compressor, draft_tokenizer) -> None:
    base = corpus_text(400_000)
    text = base
    while len(draft_tokenizer(text, add_special_tokens=False)["input_ids"]) < 200_000:
        text += "\n\n" + base
    needle = "The ferry to Isla Cendra leaves every Tuesday at 6:45 in the morning."
    middle = text.index("\n\n", len(text) // 2)
    text = text[:middle] + "\n\n" + needle + text[middle:]
    compressor = make_compressor(block_tokens=2048, batch_size=4, lookahead=0)
    result = compressor.compress(
        text,
        "When does the ferry to Isla Cendra leave?",
        budget=2000,
        force_patterns=[r"The ferry to Isla Cendra[^.]*\."],
    )
    assert result.original_tokens >= 200_000
    assert result.compressed_tokens <= 2000
    assert needle in result.text
    assert result.text == "\n...\n".join(text[a:b] for a, b in result.spans)
    assert len(result.chunk_scores) > 5000
    assert result.chunk_scores[0].start == 0 and result.chunk_scores[-1].end == len(text)
