r"""LongLLMLingua (the real ``llmlingua`` 0.2.2 package) as a baseline, with the smallest shims that let it run here.

Three shims, all applied only to the ``PromptCompressor`` instance this module builds:

1. **Token counting.** ``PromptCompressor.__init__`` calls ``tiktoken.encoding_for_model("gpt-3.5-turbo")``,
   which downloads its encoding file at run time and fails offline. While the compressor is constructed,
   ``tiktoken.encoding_for_model`` is replaced by a function returning :class:`_TargetEncoding`, whose
   ``encode`` counts with the evaluation's target tokenizer. Effect: LongLLMLingua's ``target_token`` budget is
   counted in the same target tokens as every other method (instead of GPT-3.5's).
2. **KV cache format.** llmlingua passes ``past_key_values`` as a list of ``(key, value)`` tensors, slices it
   and reads ``past_key_values[0][0].shape``; transformers 5 models only accept and return ``Cache`` objects.
   The model is wrapped in :class:`_LegacyCacheModel`, which converts the list into a ``DynamicCache`` on the
   way in and the returned cache back into a list of ``(key, value)`` tensors on the way out. The forward
   computation is unchanged.
3. **Question/context boundary.** ``get_prefix_length`` tokenizes ``question + "\n\n" + context[0][:100]`` and
   asserts that some token boundary falls exactly after the ``"\n\n"``. When the first kept document starts with
   whitespace (indented code), the tokenizer merges ``"\n\n"`` with the indentation into one token and the
   assert fails (seen on 8k code-debug samples). The instance's ``get_prefix_length`` is replaced by
   :func:`_prefix_length`: where llmlingua's boundary exists it returns the same count; otherwise it returns the
   tokens that lie wholly in the question, so the token that straddles the boundary counts as context (and may be
   pruned like any context token) instead of failing.

Nothing else in llmlingua is modified. Its output can exceed the budget slightly (its budgets are approximate),
so :class:`LongLLMLinguaMethod` drops trailing words until the target count fits, as every method must.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from unittest import mock

from contextsieve.counting import TokenCounter
from contextsieve.errors import DataNotInstalledError

if TYPE_CHECKING:
    from contextsieve_eval.methods import MethodEnv

__all__ = ["LongLLMLinguaMethod", "split_documents"]


class _TargetEncoding:
    """Stands in for a tiktoken ``Encoding``: ``encode`` returns one item per target token."""

    def __init__(self, counter: TokenCounter) -> None:
        self._counter = counter

    def encode(self, text: str, **_: Any) -> list[int]:
        return [0] * self._counter(text)


class _LegacyCacheModel:
    """Wrap a transformers 5 causal LM so llmlingua can keep using list-of-tuples KV caches."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, input_ids: Any, attention_mask: Any = None, past_key_values: Any = None, **kwargs: Any) -> Any:
        from transformers import DynamicCache

        cache = None
        if past_key_values is not None:
            cache = DynamicCache()
            for layer, (key, value) in enumerate(past_key_values):
                cache.update(key, value, layer)
        out = self._model(input_ids, attention_mask=attention_mask, past_key_values=cache, **kwargs)
        legacy = None
        if out.past_key_values is not None:
            legacy = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        return SimpleNamespace(logits=out.logits, past_key_values=legacy)


def _prefix_length(lingua: Any, prefix: str, text: str) -> int:
    """Count the tokens of ``prefix`` in ``prefix + text[:100]``, as llmlingua's ``get_prefix_length`` (shim 3)."""
    ids = lingua.tokenizer(prefix + text[:100], add_special_tokens=False).input_ids
    first = max(lingua.get_token_length(prefix, False) - 3, 1)
    decoded = {i: lingua.tokenizer.decode(ids[:i]) for i in range(first, len(ids))}
    exact = [i for i, head in decoded.items() if head == prefix]
    if exact:
        return exact[0]
    inside = [i for i, head in decoded.items() if prefix.startswith(head)]
    return inside[-1] if inside else first


def split_documents(text: str, counter: TokenCounter, size: int = 200) -> list[str]:
    """Cut ``text`` at paragraph breaks into documents of about ``size`` target tokens (LongLLMLingua ranks these)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    docs: list[str] = []
    current: list[str] = []
    tokens = 0
    for paragraph in paragraphs:
        n = counter(paragraph)
        if current and tokens + n > size:
            docs.append("\n\n".join(current))
            current, tokens = [], 0
        current.append(paragraph)
        tokens += n
    if current:
        docs.append("\n\n".join(current))
    return docs


def _fit(text: str, counter: TokenCounter, budget: int) -> str:
    """Drop trailing words until ``text`` fits ``budget`` target tokens."""
    if counter(text) <= budget:
        return text
    words = list(re.finditer(r"\S+", text))
    lo, hi, best = 0, len(words), 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if mid == 0 or counter(text[: words[mid - 1].end()]) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return text[: words[best - 1].end()] if best else ""


class LongLLMLinguaMethod:
    """LongLLMLingua's question-aware coarse-to-fine compression, run with the same SmolLM2 weights."""

    name = "longllmlingua"

    def __init__(self, env: MethodEnv) -> None:
        try:
            import tiktoken
            from llmlingua import PromptCompressor
        except ImportError as exc:
            msg = "the LongLLMLingua baseline needs the llmlingua package: pip install 'contextsieve[eval]'"
            raise DataNotInstalledError(msg) from exc
        from contextsieve.models import resolve_model

        self._counter = env.counter
        folder = resolve_model(env.draft).path
        device = env.device or "cpu"
        with mock.patch.object(tiktoken, "encoding_for_model", lambda _name: _TargetEncoding(env.counter)):
            self._lingua = PromptCompressor(model_name=str(folder), device_map=device)
        self._lingua.model = _LegacyCacheModel(self._lingua.model)
        self._lingua.get_prefix_length = functools.partial(_prefix_length, self._lingua)

    def compress(self, context: str, question: str, budget: int) -> str:
        """Compress with LongLLMLingua's recommended settings, then make sure the budget is met."""
        return self._compress(split_documents(context, self._counter), question, budget)

    def compress_documents(self, documents: Sequence[str], question: str, budget: int) -> list[str]:
        """Hand LongLLMLingua the documents as its own list; it returns one reordered text (one entry here)."""
        return [self._compress([d for d in documents if d.strip()], question, budget)]

    def _compress(self, documents: Sequence[str], question: str, budget: int) -> str:
        result = self._lingua.compress_prompt(
            list(documents),
            question=question,
            target_token=budget,
            rank_method="longllmlingua",
            condition_in_question="after_condition",
            reorder_context="sort",
            dynamic_context_compression_ratio=0.3,
            condition_compare=True,
            context_budget="+100",
            concate_question=False,
        )
        return _fit(str(result["compressed_prompt"]), self._counter, budget)
