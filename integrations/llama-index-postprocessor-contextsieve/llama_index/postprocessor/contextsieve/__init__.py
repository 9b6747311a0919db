"""LlamaIndex node postprocessor that compresses retrieved nodes with contextsieve.

``from llama_index.postprocessor.contextsieve import ContextSievePostprocessor``
"""

from .base import ContextSievePostprocessor

__all__ = ["ContextSievePostprocessor"]
