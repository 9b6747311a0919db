"""Every registered model, drafts and shipped heads, compresses 2k and 8k tokens of real prose end to end."""

from __future__ import annotations

import pytest

from contextsieve import Compressor
from contextsieve.models import model_status
from contextsieve_eval import needle_samples

pytestmark = pytest.mark.slow

STATUS = {status.name: status for status in model_status()}


@pytest.fixture(scope="module", params=sorted(STATUS))
def registered(request) -> Compressor:
    status = STATUS[request.param]
    if not status.installed:
        pytest.skip(f"{status.name}'s packages are not installed: contextsieve download {status.name}")
    return Compressor.from_pretrained(status.name, device="cpu")


@pytest.mark.parametrize("length", [2048, 8192])
def test_registered_model_keeps_a_needle_within_budget(registered, length) -> None:
    (sample,) = needle_samples(registered.count_tokens, length, depths=(0.5,), needles=1, seed=3)
    result = registered.compress(sample.text, sample.question, rate=0.25)
    assert result.original_tokens >= 0.95 * length  # the haystack is cut at paragraph ends
    assert 0 < result.compressed_tokens <= int(0.25 * result.original_tokens)
    assert sample.needle in result.text
    assert result.text == "\n...\n".join(sample.text[a:b] for a, b in result.spans)
