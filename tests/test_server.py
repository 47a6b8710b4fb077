"""The OpenAI-compatible server, live on 127.0.0.1 under uvicorn, driven by the official openai client."""

import asyncio
import json

import pytest

transformers = pytest.importorskip("transformers")
openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx2")  # the HTTP client the openai package ships with

from gptisyou.generate import Clone  # noqa: E402
from gptisyou.server import create_app  # noqa: E402
from tests.conftest import live_server  # noqa: E402

KEY = "test-key"


@pytest.fixture
def tiny_clone(tiny_base):
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
    return Clone(model, transformers.AutoTokenizer.from_pretrained(tiny_base), "Ann")


@pytest.fixture
def url(tiny_clone):
    app = create_app(tiny_clone, "ann", me="Bob", api_key=KEY, max_body_bytes=20_000, max_new_tokens=64)
    with live_server(app) as base_url:
        yield base_url


@pytest.fixture
def client(url):
    return openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)


ASK = [{"role": "user", "content": "w3 w4"}, {"role": "assistant", "content": "w5"}, {"role": "user", "content": "w6"}]


def test_models_and_health(client, url):
    assert [model.id for model in client.models.list()] == ["ann"]
    assert client.models.retrieve("ann").owned_by == "gptisyou"
    assert httpx.get(f"{url}/health").json() == {"status": "ok", "model": "ann"}


def test_a_completion_and_the_same_one_streamed(client):
    answer = client.chat.completions.create(model="ann", messages=ASK, seed=3, max_tokens=12)
    choice = answer.choices[0]
    assert (answer.object, answer.model, choice.message.role) == ("chat.completion", "ann", "assistant")
    assert choice.finish_reason in ("stop", "length")
    assert 0 < answer.usage.completion_tokens <= 12
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens

    unbounded = client.chat.completions.create(model="ann", messages=ASK)  # the server's default length
    assert unbounded.usage.completion_tokens <= 64

    chunks = list(client.chat.completions.create(model="ann", messages=ASK, seed=3, max_tokens=12, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == choice.finish_reason
    assert all(chunk.object == "chat.completion.chunk" and chunk.id == chunks[0].id for chunk in chunks)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert streamed.strip() == choice.message.content  # the same seed, the same reply


def test_the_stream_is_server_sent_events_ending_in_done(url):
    body = {"model": "ann", "messages": ASK, "stream": True, "seed": 1, "max_tokens": 5}
    with httpx.stream(
        "POST", f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(event.startswith("data: ") for event in events)
    json.loads(events[0].removeprefix("data: "))


@pytest.mark.parametrize(
    ("request_kwargs", "status", "fragment"),
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
        ({"json": {"model": "bob", "messages": ASK}}, 404, "the model 'bob' does not exist"),
        ({"json": {"model": "ann", "messages": []}}, 400, "messages"),
        ({"json": {"model": "ann", "messages": ASK, "max_tokens": 10_000}}, 400, "at most 64"),
        ({"json": {"model": "ann", "messages": ASK[:2]}}, 400, "end with a user message"),
        ({"json": {"model": "ann", "messages": ASK, "temperature": 9}}, 400, "temperature"),
        ({"json": {"model": "ann", "messages": [{"role": "user", "content": "w1 " * 20_000}]}}, 413, "over 20000"),
    ],
)
def test_bad_requests_get_openai_style_errors(url, request_kwargs, status, fragment):
    headers = {"Authorization": f"Bearer {KEY}", **request_kwargs.pop("headers", {})}
    response = httpx.post(f"{url}/v1/chat/completions", headers=headers, **request_kwargs)
    assert response.status_code == status
    error = response.json()["error"]
    assert fragment in error["message"]
    assert error["type"] == "invalid_request_error"


def test_a_wrong_or_missing_key_is_401(url):
    for key in ("wrong", None):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=key or "unused", max_retries=0)
        headers = {} if key else {"Authorization": ""}
        with pytest.raises(openai.AuthenticationError):
            client.with_options(default_headers=headers).models.list()
    assert httpx.get(f"{url}/health").status_code == 200  # the health check and the page need no key


def test_the_official_client_maps_errors(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nobody", messages=ASK)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="ann", messages=ASK, max_tokens=1000)


def test_fifty_concurrent_requests_are_each_answered_as_if_alone(client, url):
    alone = {seed: client.chat.completions.create(model="ann", messages=ASK, seed=seed, max_tokens=8)
             for seed in range(5)}  # fmt: skip

    async def all_at_once():
        concurrent = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=120)
        requests = [
            concurrent.chat.completions.create(model="ann", messages=ASK, seed=i % 5, max_tokens=8, stream=i % 2 == 1)
            for i in range(50)
        ]
        return await asyncio.gather(*(_text(request) for request in requests))

    texts = asyncio.run(all_at_once())
    assert texts == [alone[i % 5].choices[0].message.content for i in range(50)]


async def _text(request) -> str:
    answer = await request
    if isinstance(answer, openai.AsyncStream):
        return "".join([chunk.choices[0].delta.content or "" async for chunk in answer]).strip()
    return answer.choices[0].message.content
