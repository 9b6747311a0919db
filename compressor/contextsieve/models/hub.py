"""Whether the Hugging Face Hub can be reached, so an offline machine fails at once instead of retrying."""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlparse

__all__ = ["hub_offline"]

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


def hub_offline(timeout: float = 2.0) -> bool:
    """Tell whether the Hub is out of reach: ``HF_HUB_OFFLINE`` is set, or its endpoint refuses a connection.

    The probe opens one TCP connection to ``HF_ENDPOINT`` (default ``https://huggingface.co``) with ``timeout``.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        logger.info("the Hugging Face Hub (%s:%d) is out of reach: %s", host, port, exc)
        return True
    return False
