"""Server settings: where it listens, who may call it, and how much one request may ask."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["API_KEY_ENV", "ServerSettings"]

API_KEY_ENV = "CONTEXTSIEVE_API_KEY"
"""Environment variable holding the bearer token when ``api_key`` is not given."""


class ServerSettings(BaseModel):
    """How ``contextsieve serve`` listens and what it accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """Interface to bind; loopback by default, so nothing outside this machine reaches the server."""
    port: int = Field(default=8000, ge=0, le=65535)
    """TCP port (0 picks a free one)."""
    api_key: SecretStr | None = None
    """Bearer token every /v1 request must carry (default: $CONTEXTSIEVE_API_KEY; none: no check)."""
    max_body_bytes: int = Field(default=16 * 2**20, ge=1)
    """Largest request body in bytes; a larger one is answered 413."""
    max_context_tokens: int = Field(default=262_144, ge=1)
    """Most tokens (in the scorer's tokenizer) of text in one request; more is answered 413."""
    max_documents: int = Field(default=1024, ge=1)
    """Most documents in one request; more is answered 413."""

    def bearer(self) -> str | None:
        """Return the token to check: ``api_key``, else ``$CONTEXTSIEVE_API_KEY``, else ``None``."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return os.environ.get(API_KEY_ENV) or None
