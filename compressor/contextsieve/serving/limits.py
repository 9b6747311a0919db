"""Request limits: a body-size guard in front of the app, and the texts a request asks to compress."""

from __future__ import annotations

import json
from typing import Any

from contextsieve.requests import CompressDocumentsRequest, CompressPromptRequest, CompressRequest, Request

__all__ = ["BodyLimit", "request_texts"]

_Scope = dict[str, Any]
_Message = dict[str, Any]


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is answered 413 before the app reads any of it.

    The body is read here (a declared ``Content-Length`` over the limit is refused without reading) and handed
    to the app whole; later ``receive`` calls go to the server, so the app still hears a client disconnect.
    """

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        """Read and measure the body, then run the app on it (or answer 413)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left while sending
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> _Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            message: _Message = await receive()
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(
            {"error": "TooLargeError", "message": f"the request body is over this server's {self.max_bytes} bytes"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def request_texts(request: Request) -> list[str]:
    """Return the texts a request asks to compress (the limits count their tokens)."""
    if isinstance(request, CompressRequest):
        return [request.context]
    if isinstance(request, CompressDocumentsRequest):
        return list(request.texts)
    if isinstance(request, CompressPromptRequest):
        if isinstance(request.prompt, str):
            return [request.prompt]
        return [text for message in request.prompt for text in _message_texts(message.get("content"))]
    return []


def _message_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str)]
    return []
