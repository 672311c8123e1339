"""The request body limits (size, JSON depth, finite numbers), enforced before the app
parses the body: every route's JSON passes here, so no route can take a NaN."""

from __future__ import annotations

import json
from typing import Any

from corral.validation import MAX_JSON_DEPTH, json_body_refusal

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` gets a JSON 413, one nested deeper
    than ``max_depth`` or holding a non-finite number a JSON 422.

    The declared ``Content-Length`` is checked first; a body without one is read up to
    the limit and replayed to the app (bodies are small, and Lambda delivers them whole).
    Depth and numbers are checked before the app parses the body (``corral.validation``).
    """

    def __init__(self, app: Any, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        refusal = json_body_refusal(body, self.max_depth) if body else None
        if refusal:
            await _reject(send, 422, "validation_error", refusal)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                message: Message = await receive()
                return message
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Any) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        await _reject(send, 413, "payload_too_large", message)


async def _reject(send: Any, status: int, error: str, message: str) -> None:
    body = json.dumps({"error": error, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
