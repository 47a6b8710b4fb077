"""The OpenAI-compatible server, live on 127.0.0.1 under uvicorn, driven by the official openai client."""

import asyncio
import json

import httpx2 as httpx  # the HTTP client the openai package ships with
import openai
import pytest
import transformers

from gptisyou.engine.torch_engine import TorchClone
from gptisyou.serve.server import Served, create_app
from tests.conftest import live_server

KEY = "test-key"


@pytest.fixture
def tiny_clone(tiny_base):
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
    return TorchClone(model, transformers.AutoTokenizer.from_pretrained(tiny_base), "Ann")


@pytest.fixture
def url(tiny_clone):
    app = create_app(tiny_clone, Served("ann", me="Bob", api_key=KEY, max_body_bytes=20_000, max_new_tokens=64))
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
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


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
    alone = {
        seed: client.chat.completions.create(model="ann", messages=ASK, seed=seed, max_tokens=8) for seed in range(5)
    }

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


# --- what a careless or hostile client can send -------------------------------------------------------------------


def _post(url, body: dict | bytes, **kwargs):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **kwargs.pop("headers", {})}
    kwargs.setdefault("timeout", 60)
    return httpx.post(f"{url}/v1/chat/completions", content=content, headers=headers, **kwargs)


def test_a_chunked_body_over_the_limit_is_413(url):
    def chunks():
        yield b'{"model": "ann", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"w1 " * 1_000  # 300 kB in all, the limit is 20 kB
        yield b'"}]}'

    response = httpx.post(
        f"{url}/v1/chat/completions", content=chunks(), headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_too_many_messages_are_refused(tiny_clone):
    messages = [{"role": "user", "content": ""}] * 1_001  # 30 kB: under the default body limit
    with live_server(create_app(tiny_clone, Served("ann", me="Bob"))) as url:
        response = _post(url, {"model": "ann", "messages": messages})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"seed": 2**70}, 400, "seed"),
        ({"stop": ["a", "b", "c", "d", "e"]}, 400, "stop: at most 4"),
    ],
)
def test_out_of_range_parameters_are_400(url, body, status, fragment):
    response = _post(url, {"model": "ann", "messages": ASK, "max_tokens": 3} | body)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]


def test_a_lone_surrogate_is_answered(url):
    body = b'{"model": "ann", "max_tokens": 3, "messages": [{"role": "user", "content": "w1 \\ud800"}]}'
    response = _post(url, body)
    assert response.status_code == 200
    assert response.json()["object"] == "chat.completion"


def test_the_host_header_must_name_the_server(tiny_clone):
    app = create_app(tiny_clone, Served("ann", me="Bob", allowed_hosts={"127.0.0.1", "localhost"}))
    with live_server(app) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        rebound = httpx.get(f"{url}/api/info", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400
        assert rebound.json()["error"]["code"] == "invalid_host"


def test_info_needs_the_key_when_there_is_one(url):
    assert httpx.get(f"{url}/api/info").status_code == 401
    info = httpx.get(f"{url}/api/info", headers={"Authorization": f"Bearer {KEY}"})
    assert info.json()["api_key_required"] is True


class _Failing:
    """A clone whose provider fails after a first piece, as a hosted model's can."""

    persona = "Ann"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def stream(self, history, sampling, usage, cancelled=lambda: False):
        yield "w1"
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        ("remote", 502, "api_error"),
        ("bug", 500, "server_error"),
    ],
)
def test_every_failure_is_an_openai_error_streamed_or_not(error, status, kind):
    from gptisyou.errors import RemoteError

    failure = RemoteError("chat: rate limited (429)") if error == "remote" else RuntimeError("boom")
    with live_server(create_app(_Failing(failure), Served("ann", me="Bob"))) as url:
        response = _post(url, {"model": "ann", "messages": ASK})
        assert response.status_code == status
        assert response.json()["error"]["type"] == kind
        with httpx.stream(
            "POST", f"{url}/v1/chat/completions", json={"model": "ann", "messages": ASK, "stream": True}
        ) as r:
            events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2].removeprefix("data: "))["error"]["type"] == kind


class _Measured:
    """A clone that answers with the token budget each request was given."""

    persona = "Ann"

    def stream(self, history, sampling, usage, cancelled=lambda: False):
        yield str(sampling.max_new_tokens)


def test_a_reply_is_as_long_as_the_persona_s_unless_the_request_says(tiny_base):
    with live_server(create_app(_Measured(), Served("ann", me="Bob", max_new_tokens=300, reply_tokens=45))) as url:
        said = [
            _post(url, {"model": "ann", "messages": ASK} | extra).json()["choices"][0]["message"]["content"]
            for extra in ({}, {"max_tokens": 200})
        ]
    assert said == ["45", "200"]


def test_stop_sequences_are_honoured(tiny_base):
    from tests.conftest import ScriptedModel

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_base)
    clone = TorchClone(ScriptedModel.saying("w1 w2 w3 w4 <eot>", tokenizer), tokenizer, "Ann")
    with live_server(create_app(clone, Served("ann", me="Bob"))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        answer = client.chat.completions.create(model="ann", messages=ASK, stop=["w3"])
    assert answer.choices[0].message.content == "w1 w2"
    assert answer.choices[0].finish_reason == "stop"


class _Slow:
    """A model that takes 20 ms a token and never ends its turn: it counts how many tokens it was asked for."""

    def __init__(self, tokenizer) -> None:
        from tests.conftest import ScriptedModel

        self.inner = ScriptedModel.saying("w1", tokenizer)
        self.device, self.calls = self.inner.device, 0

    def eval(self):
        return self

    def __call__(self, *args, **kwargs):
        import time

        self.calls += 1
        time.sleep(0.02)
        return self.inner(*args, **kwargs)


def test_a_client_that_leaves_stops_its_generation(tiny_base):
    import time

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_base)
    model = _Slow(tokenizer)
    clone = TorchClone(model, tokenizer, "Ann")
    with live_server(create_app(clone, Served("ann", me="Bob", max_new_tokens=500))) as url:
        with pytest.raises(httpx.ReadTimeout):
            _post(url, {"model": "ann", "messages": ASK, "max_tokens": 500}, timeout=0.5)
        time.sleep(1.5)
        stopped_at = model.calls
        time.sleep(0.5)
        assert model.calls == stopped_at < 200  # 500 tokens would take 10 s
        assert _post(url, {"model": "ann", "messages": ASK, "max_tokens": 2}).status_code == 200


def test_a_correction_of_a_blank_reply_is_a_400_and_stores_nothing(tiny_clone, workspace):
    from gptisyou.store.database import Store

    def store_correction(context, reply, rewrite):
        with Store.open(workspace) as store:
            return store.corrections.add("Ann", context, reply, rewrite, via="web")

    app = create_app(tiny_clone, Served("ann", me="Bob", corrections=store_correction))
    with live_server(app) as url:
        body = {
            "messages": [{"role": "user", "content": "w1"}, {"role": "assistant", "content": " "}],
            "reply": "   ",
            "rewrite": "w2",
        }
        response = httpx.post(f"{url}/api/corrections", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "the reply marked as unlike the person is empty: nothing to correct"
    with Store.open(workspace) as store:
        assert store.corrections.of("Ann") == []
