"""LangChain components for contextsieve: a document compressor and an agent middleware.

``ContextSieveCompressor`` needs only ``langchain-core`` (``pip install contextsieve[langchain]``);
``ContextSieveMiddleware`` needs LangChain 1.x agents (``pip install contextsieve[langchain-agents]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_contextsieve.document_compressor import ContextSieveCompressor

if TYPE_CHECKING:
    from langchain_contextsieve.middleware import ContextSieveMiddleware

__all__ = ["ContextSieveCompressor", "ContextSieveMiddleware"]


def __getattr__(name: str) -> Any:
    if name == "ContextSieveMiddleware":
        try:
            from langchain_contextsieve.middleware import ContextSieveMiddleware
        except ModuleNotFoundError as exc:
            msg = (
                "ContextSieveMiddleware needs LangChain 1.x agents: "
                "pip install 'langchain-contextsieve[agents]' (or 'contextsieve[langchain-agents]')"
            )
            raise ImportError(msg) from exc
        return ContextSieveMiddleware
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
