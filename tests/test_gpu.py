"""GPU checks (``pytest -m gpu``, skipped without CUDA): bf16 scores on the GPU against fp32 on the CPU, and reuse.

Tolerances are stated here and were chosen before any GPU run: bf16 keeps about 3 significant digits, so token
scores are compared by what they select (the kept text at rate 0.25 overlaps by at least 80% of its characters) and
reuse on the GPU must match scoring without reuse on the GPU to 2e-3 of the largest score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from contextsieve import Compressor

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

QUESTIONS = ["What does the import statement do?", "How are exceptions raised and caught?"]


@pytest.fixture(scope="module")
def text() -> str:
    from contextsieve_eval import prose_corpus

    return "\n\n".join(prose_corpus()[:60])


def kept_characters(compressor: Compressor, text: str, question: str) -> set[int]:
    result = compressor.compress(text, question, rate=0.25)
    return {i for start, end in result.spans for i in range(start, end)}


@pytest.mark.parametrize("model", ["smollm2-135m-head", "smollm2-135m"])
def test_bf16_on_the_gpu_selects_what_fp32_on_the_cpu_selects(model: str, text: str) -> None:
    gpu = Compressor.from_pretrained(model, device="cuda", dtype="bfloat16")
    cpu = Compressor.from_pretrained(model, device="cpu", dtype="float32", reuse_mb=0)
    for question in QUESTIONS:
        on_gpu, on_cpu = kept_characters(gpu, text, question), kept_characters(cpu, text, question)
        assert len(on_gpu & on_cpu) >= 0.8 * len(on_cpu)


@pytest.mark.parametrize("model", ["smollm2-135m-head", "smollm2-135m"])
def test_reuse_on_the_gpu_scores_as_without_it(model: str, text: str) -> None:
    warm = Compressor.from_pretrained(model, device="cuda", dtype="bfloat16")
    cold = Compressor.from_pretrained(model, device="cuda", dtype="bfloat16", reuse_mb=0)
    tokens = warm.scorer.tokenize(text)
    for question in QUESTIONS:
        got: Any = warm.scorer.score([(tokens, question)])[0]
        expected: Any = cold.scorer.score([(tokens, question)])[0]
        assert float(np.abs(got - expected).max()) <= 2e-3 * float(expected.max())
    info = warm.reuse_info()
    assert info is not None and info.hits == info.misses > 0
