"""Run an app under uvicorn on a background thread (a notebook, a test, a process that also does other work)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import uvicorn

from contextsieve.errors import ModelError

__all__ = ["BackgroundServer"]

logger = logging.getLogger(__name__)


class BackgroundServer:
    """``with BackgroundServer(app) as server: RemoteCompressor(server.url)``; loopback and a free port by default.

    ``start`` waits (at most ``startup_s`` seconds) until the server accepts connections; ``stop`` lets the
    requests in flight finish, then joins the thread.
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_s: float = 60.0, log_level: str = "warning"
    ) -> None:
        self._config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._startup_s = startup_s
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        """Start serving and wait until the socket is bound."""
        self._thread = threading.Thread(target=self._server.run, name="contextsieve-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                msg = f"the server on {self.host}:{self.port} did not start within {self._startup_s:.0f}s"
                raise ModelError(msg)
            time.sleep(0.02)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        logger.info("contextsieve server running at %s", self.url)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, finish what is in flight, and join the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
