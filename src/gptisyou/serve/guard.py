"""The ASGI guard in front of the app: the Host a request names, its API key, and its body's size as it arrives."""

import secrets
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gptisyou.serve.api_errors import ApiError, error_response


class Guard:
    """Checks every request before the app sees it: its Host, its API key (on /v1 and /api) and the size of its
    body, counted as it arrives, so a chunked body cannot pass the limit. The body (at most the limit) is read
    first and replayed to the app."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, api_key: str | None, allowed_hosts: Collection[str] | None
    ) -> None:
        self.app, self.max_body_bytes, self.api_key = app, max_body_bytes, api_key
        self.allowed_hosts = None if allowed_hosts is None else {host.lower() for host in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if refusal := self._refusal(scope):
            await error_response(refusal)(scope, receive, send)
            return
        body, complete = await self._body(receive)
        if not complete:
            await error_response(
                ApiError(413, f"request body over {self.max_body_bytes} bytes", code="request_too_large")
            )(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    def _refusal(self, scope: Scope) -> ApiError | None:
        headers = Headers(scope=scope)
        host = _host_name(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return ApiError(
                400, f"Host '{host}' is not served here (start serve with --allow-host)", code="invalid_host"
            )
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            return ApiError(400, "Content-Length is not a number", code="invalid_request")
        if length > self.max_body_bytes:
            return ApiError(413, f"request body over {self.max_body_bytes} bytes", code="request_too_large")
        path = scope["path"]
        if self.api_key and path.startswith(("/v1/", "/api/")) and not _authorised(headers, self.api_key):
            return ApiError(
                401,
                "invalid or missing API key (Authorization: Bearer KEY)",
                kind="authentication_error",
                code="invalid_api_key",
            )
        return None

    async def _body(self, receive: Receive) -> tuple[bytes, bool]:
        """(body, complete): stops reading as soon as the body passes the limit."""
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(parts), True  # the client left: the app will see it
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return b"", False
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts), True


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body read already, then the client's later messages (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: "127.0.0.1:8000" → "127.0.0.1", "[::1]:80" → "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _authorised(headers: Headers, api_key: str) -> bool:
    given = headers.get("authorization", "").removeprefix("Bearer ").strip()
    return secrets.compare_digest(given.encode(), api_key.encode())
