"""End-to-end check: a target causal LM answers each question from the full or the compressed context.

The target reads ``context + question`` (through its chat template when it has one) and decodes greedily.
The prefill, one forward pass over the prompt up to the first answer token's logits, is timed on its own:
time to first token is the compressor's time plus that prefill.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contextsieve.errors import ConfigError, ModelError

__all__ = ["Answer", "TargetLM", "is_correct", "normalise_answer"]

logger = logging.getLogger(__name__)

INSTRUCTION = "Answer the question using the text above. Reply with the answer only, in a few words."
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Answer:
    """What the target said, how long its prompt was, and how long the prefill took."""

    text: str
    prompt_tokens: int
    prefill_seconds: float


def normalise_answer(text: str) -> str:
    """Case-fold and collapse whitespace, so that matching ignores case and line breaks."""
    return _SPACES.sub(" ", text.casefold()).strip()


def is_correct(output: str, answers: Sequence[str]) -> bool:
    """Return True when ``output`` contains every required answer string (case and spacing ignored)."""
    if not answers:
        msg = "a sample needs at least one answer string to check an output against"
        raise ValueError(msg)
    said = normalise_answer(output)
    return all(normalise_answer(a) in said for a in answers)


class TargetLM:
    """A causal LM that answers questions from a context with greedy decoding and a timed prefill."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str = "target", max_new_tokens: int = 48) -> None:
        if max_new_tokens < 1:
            msg = f"max_new_tokens must be at least 1, got {max_new_tokens}"
            raise ConfigError(msg)
        self.name = name
        self._model = model
        self._tokenizer = tokenizer
        self._max_new_tokens = max_new_tokens
        self._device = next(model.parameters()).device
        self._window = int(getattr(model.config, "max_position_embeddings", 0) or 0)
        self._chat = bool(getattr(tokenizer, "chat_template", None))
        self._stop = _stop_ids(model, tokenizer)

    @classmethod
    def load(cls, name_or_path: str, *, device: str | None = None, max_new_tokens: int = 48) -> TargetLM:
        """Load a registered model name or a Hugging Face folder as the answering target (fp32)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from contextsieve.device import resolve_device
        from contextsieve.models import resolve_model

        resolved = resolve_model(name_or_path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(resolved.path)
            model: Any = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=torch.float32)
        except (OSError, ValueError, KeyError) as exc:
            msg = f"could not load the target {name_or_path!r} as a causal LM: {exc}"
            raise ModelError(msg) from exc
        model.to(resolve_device(device))
        model.eval()
        return cls(model, tokenizer, name=resolved.name, max_new_tokens=max_new_tokens)

    def prompt_ids(self, context: str, question: str) -> list[int]:
        """Token ids of the prompt: the chat template's user turn when there is one, else a plain layout."""
        if self._chat:
            content = f"{context}\n\n{INSTRUCTION}\nQuestion: {question}"
            ids = self._tokenizer.apply_chat_template(
                [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        else:
            ids = self._tokenizer(f"{context}\n\n{INSTRUCTION}\nQuestion: {question}\nAnswer:")["input_ids"]
        return [int(i) for i in ids]

    def prompt_key(self, ids: Sequence[int]) -> str:
        """Fingerprint what a greedy answer depends on: this target, its answer length and the prompt's ids."""
        digest = hashlib.sha256(f"{self.name}\n{self._max_new_tokens}\n".encode())
        digest.update(",".join(map(str, ids)).encode())
        return digest.hexdigest()[:24]

    def fits(self, prompt_tokens: int) -> bool:
        """Tell whether a prompt of this many tokens plus the answer fits the target's position window."""
        return not self._window or prompt_tokens + self._max_new_tokens <= self._window

    def answer(self, context: str, question: str) -> Answer:
        """Answer ``question`` from ``context``; :class:`ConfigError` if the prompt exceeds the target's window."""
        return self.answer_prompt(self.prompt_ids(context, question))

    def answer_prompt(self, ids: list[int]) -> Answer:
        """Answer from prompt token ids (built by :meth:`prompt_ids`); :class:`ConfigError` if they do not fit."""
        import torch

        if not self.fits(len(ids)):
            msg = (
                f"the prompt has {len(ids):,} tokens but the target {self.name} reads at most {self._window:,} "
                f"(with {self._max_new_tokens} answer tokens)"
            )
            raise ConfigError(msg)
        with torch.inference_mode():
            prompt = torch.tensor([ids], device=self._device)
            started = time.perf_counter()
            out = self._model(input_ids=prompt, use_cache=True, logits_to_keep=1)
            token = int(out.logits[0, -1].argmax())
            prefill = time.perf_counter() - started
            produced = self._decode(out.past_key_values, token, len(ids))
        text = self._tokenizer.decode(produced, skip_special_tokens=True)
        if not self._chat:
            text = text.strip().split("\n", 1)[0]
        return Answer(text=text.strip(), prompt_tokens=len(ids), prefill_seconds=prefill)

    def _decode(self, cache: Any, token: int, position: int) -> list[int]:
        """Greedy decoding from the prefill's cache until a stop token, a line break (plain prompts) or the limit."""
        import torch

        produced: list[int] = []
        while token not in self._stop and len(produced) < self._max_new_tokens:
            produced.append(token)
            if not self._chat and "\n" in self._tokenizer.decode(produced).lstrip():
                break
            step = torch.tensor([[token]], device=self._device)
            out = self._model(
                input_ids=step,
                past_key_values=cache,
                use_cache=True,
                cache_position=torch.tensor([position], device=self._device),
            )
            cache = out.past_key_values
            position += 1
            token = int(out.logits[0, -1].argmax())
        return produced


def _stop_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """End-of-sequence ids from the generation config and the tokenizer."""
    ids: set[int] = set()
    generation = getattr(model, "generation_config", None)
    for value in (getattr(generation, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return frozenset(ids)
