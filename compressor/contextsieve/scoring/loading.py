"""Loading a causal draft LM: folder or hub id (with Hugging Face loading options), truncation, special ids."""

from __future__ import annotations

import os
from typing import Any

import torch

from contextsieve.config import HubOptions
from contextsieve.errors import ConfigError, ModelError

__all__ = ["draft_eos_ids", "draft_pad_id", "load_draft", "num_layers", "truncate_layers"]


def load_draft(
    path: str, *, dtype: torch.dtype, attn_implementation: str, hub: HubOptions | None = None
) -> tuple[Any, Any]:
    """Load a causal LM folder (or hub id) and its fast tokenizer; :class:`ModelError` if either is unusable."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options = (hub or HubOptions()).kwargs()
    offline = False
    if not os.path.isdir(path) and not options.get("local_files_only"):
        from contextsieve.models.hub import hub_offline

        offline = hub_offline()
        if offline:
            options["local_files_only"] = True  # a cached copy still loads; nothing else is tried
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **options)
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype, attn_implementation=attn_implementation, **options
        )
    except (OSError, ValueError, KeyError) as exc:
        if offline:
            msg = f"{path!r} is not in the Hugging Face cache and the Hub is out of reach (offline)"
            raise ModelError(msg) from exc
        msg = f"could not load the draft model {path!r} as a causal LM: {exc}"
        raise ModelError(msg) from exc
    if not getattr(tokenizer, "is_fast", False):
        msg = f"the draft {path!r} has no fast tokenizer; character offsets need one (tokenizer.json)"
        raise ModelError(msg)
    return model, tokenizer


def num_layers(model: Any) -> int:
    """Count the decoder layers the model runs now (after any truncation)."""
    return len(model.get_decoder().layers)


def truncate_layers(model: Any, layers: int) -> None:
    """Keep only the first ``layers`` decoder layers of a causal LM, in place."""
    total = num_layers(model)
    if layers > total:
        msg = f"layers={layers} but the draft has only {total} layers"
        raise ConfigError(msg)
    decoder = model.get_decoder()
    model._contextsieve_full_depth = total
    decoder.layers = decoder.layers[:layers]
    model.config.num_hidden_layers = layers
    layer_types = getattr(model.config, "layer_types", None)
    if isinstance(layer_types, list):
        model.config.layer_types = layer_types[:layers]


def draft_eos_ids(tokenizer: Any, model: Any) -> list[int]:
    """Every end-of-sequence id the generation config, the model config or the tokenizer names."""
    found: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(int(v) for v in value)
    return sorted(found)


def draft_pad_id(tokenizer: Any, model: Any) -> int:
    """Return the id left padding uses: the pad token, else the first end-of-sequence id, else 0."""
    pad = getattr(tokenizer, "pad_token_id", None)
    if isinstance(pad, int):
        return pad
    eos = draft_eos_ids(tokenizer, model)
    return eos[0] if eos else 0
