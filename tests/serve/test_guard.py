"""The guard alone, driven as ASGI: what it lets through to the app, what it refuses, and how it reads a body."""

import asyncio
import json

import pytest

from gptisyou.serve.api_errors import ApiError, error_body
from gptisyou.serve.guard import Guard, _host_name


class Recorder:
    """An app that records the body it was given and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _call(guard: Guard, chunks: list[bytes], path: str = "/v1/chat/completions", headers=()) -> tuple[int, bytes]:
    """(status, body) of one request whose body arrives in `chunks`."""
    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"host", b"127.0.0.1:8000"), *headers]}
    incoming = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8000", "127.0.0.1"), ("LocalHost", "localhost"), ("[::1]:80", "::1"), ("::1", "::1"), ("", "")],
)
def test_the_host_name_drops_the_port_and_keeps_a_bare_ipv6_address(header, name):
    assert _host_name(header) == name


def test_a_body_in_chunks_reaches_the_app_whole():
    app = Recorder()
    status, _ = _call(Guard(app, max_body_bytes=10, api_key=None, allowed_hosts=None), [b"abc", b"def", b"gh"])
    assert status == 200
    assert app.bodies == [b"abcdefgh"]


def test_chunks_past_the_limit_are_refused_before_the_app_sees_anything():
    app = Recorder()
    status, body = _call(Guard(app, max_body_bytes=5, api_key=None, allowed_hosts=None), [b"abc", b"def", b"gh"])
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert app.bodies == []


def test_a_declared_length_past_the_limit_is_refused_without_reading():
    app = Recorder()
    guard = Guard(app, max_body_bytes=5, api_key=None, allowed_hosts=None)
    status, _ = _call(guard, [b"abc"], headers=[(b"content-length", b"6")])
    assert status == 413
    assert app.bodies == []


def test_the_key_guards_the_api_and_not_the_page():
    app = Recorder()
    guard = Guard(app, max_body_bytes=100, api_key="secret", allowed_hosts=None)
    assert _call(guard, [b"{}"])[0] == 401
    assert _call(guard, [b"{}"], headers=[(b"authorization", b"Bearer secret")])[0] == 200
    assert _call(guard, [b""], path="/")[0] == 200


def test_a_host_not_allowed_gets_the_error_openai_clients_read():
    status, body = _call(Guard(Recorder(), 100, None, allowed_hosts={"example.org"}), [b"{}"])
    assert status == 400
    expected = error_body(
        ApiError(400, "Host '127.0.0.1' is not served here (start serve with --allow-host)", code="invalid_host")
    )
    assert json.loads(body) == expected
