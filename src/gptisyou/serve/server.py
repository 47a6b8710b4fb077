"""An OpenAI-compatible HTTP API and a web chat page for one clone (FastAPI, served by uvicorn).

- `GET /v1/models`, `POST /v1/chat/completions` (with `stream: true`: server-sent events as OpenAI sends them),
  so the official `openai` client works unchanged with `base_url="http://127.0.0.1:8000/v1"`.
- `GET /` the chat page (one self-contained file: no CDN, works offline), `GET /health`, `GET /api/info`.
- Errors are OpenAI-style JSON (`{"error": {"message", "type", "param", "code"}}`) on every path, a stream's
  included (an error event, then `[DONE]`).
- One model, one generation at a time: requests queue on a single worker thread, so outputs never mix; a client
  that disconnects stops its generation (`worker.py`). Bodies are bounded as they arrive, a request's messages in
  number, and the Host and the API key checked before the app sees a request (`guard.py`).
"""

import asyncio
import inspect
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gptisyou.engine.responder import Line, Responder, Sampling, Usage, reply_length
from gptisyou.errors import GptisyouError, InputError, RemoteError, TooManyRequests
from gptisyou.serve.api_errors import ApiError, error_body, error_response
from gptisyou.serve.config import ServeConfig
from gptisyou.serve.guard import Guard
from gptisyou.serve.worker import Worker

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_NEW_TOKENS = ServeConfig().request_tokens
MAX_MESSAGES = 1000  # messages in one request
# recent FastAPI records OpenTelemetry spans, metrics and logs by default (sent nowhere unless an exporter is
# configured); the clone's server records none
_NO_TELEMETRY = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return _valid_text("".join(part.text for part in self.content))
        return _valid_text(self.content or "")

    def speaker(self, default: str) -> str:
        return _valid_text(self.name) if self.name else default


class ChatRequest(BaseModel):
    model: str
    # older turns are dropped to fit the context anyway; the bound keeps one request's work bounded
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**64)  # what a 64-bit generator seed takes
    stop: str | list[str] | None = Field(default=None)
    n: int = Field(default=1, ge=1, le=1)

    def stop_texts(self) -> tuple[str, ...]:
        texts = [self.stop] if isinstance(self.stop, str) else (self.stop or [])
        if len(texts) > 4:
            raise ApiError(400, "stop: at most 4 sequences", param="stop")
        return tuple(_valid_text(text) for text in texts if text)


def _valid_text(text: str) -> str:
    """Text as UTF-8 can carry it: a lone surrogate (valid JSON, invalid Unicode) becomes U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


@dataclass(frozen=True, slots=True)
class Served:
    """What a server serves besides the clone, and its limits.

    `me` is who a `user` message is from, unless it names one. `max_new_tokens`: the most a request may ask for;
    `reply_tokens`: what a request that does not say gets (the persona's own longest turns; None: the engines'
    default). `allowed_hosts`: the host names a request's `Host` header may carry (None: any); a server on
    127.0.0.1 accepts only its own names, so a web page cannot reach it through a name it rebinds to 127.0.0.1.
    `quiz`: an `eval.quiz.WebQuiz` to serve the blind test at /quiz, and `portrait`: the portrait page's HTML at
    /portrait (both show real messages: off unless given). `corrections`: stores a correction (context as
    (speaker, text), the clone's reply, the rewrite) and returns its id; without it, the page offers no "not them"
    button.
    """

    model_id: str
    me: str
    api_key: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    max_new_tokens: int = MAX_NEW_TOKENS
    reply_tokens: int | None = None
    allowed_hosts: Collection[str] | None = None
    quiz: object | None = None
    portrait: str | None = None
    corrections: Callable[[list[tuple[str, str]], str, str | None], int] | None = None


def create_app(clone: Responder, served: Served) -> FastAPI:
    """The app serving `clone` as the model `served.model_id`: the pages, and the OpenAI-compatible API at /v1."""
    app = FastAPI(title="gptisyou", docs_url=None, redoc_url=None, openapi_url=None, **_NO_TELEMETRY)
    app.add_middleware(
        Guard, max_body_bytes=served.max_body_bytes, api_key=served.api_key, allowed_hosts=served.allowed_hosts
    )
    _add_error_handlers(app)
    _add_pages(app, clone, served)
    if served.quiz is not None:
        _add_quiz(app, served.quiz)
    if served.portrait is not None:
        _add_portrait(app, served.portrait)
    if served.corrections is not None:
        _add_corrections(app, clone.persona, served)
    _add_openai_api(app, clone, served)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every error as OpenAI sends one, whatever raised it."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError):
        return error_response(error)

    @app.exception_handler(Exception)
    async def failure(_request: Request, error: Exception):
        return error_response(_api_error(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        if first["type"] == "json_invalid":
            return error_response(ApiError(400, "the body is not valid JSON", code="invalid_json"))
        return error_response(ApiError(400, f"{where or 'body'}: {first['msg']}", param=where or None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        return error_response(
            ApiError(error.status_code, str(error.detail), code="not_found" if error.status_code == 404 else None)
        )


def _add_pages(app: FastAPI, clone: Responder, served: Served) -> None:
    """The chat page, and what it and a monitor ask: /health and /api/info."""
    page = resources.files("gptisyou.serve").joinpath("web/chat.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse)
    async def chat_page() -> str:
        return page

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": served.model_id}

    @app.get("/api/info")
    async def info() -> dict:
        return {
            "model": served.model_id,
            "persona": clone.persona,
            "me": served.me,
            "api_key_required": bool(served.api_key),
            "corrections": served.corrections is not None,
        }


def _add_corrections(app: FastAPI, persona: str, served: Served) -> None:
    """The page's "not them" button: a reply marked as unlike the person, with what they would have said."""

    @app.post("/api/corrections")
    async def correct(body: CorrectionRequest) -> dict:
        context = [
            (persona if message.role == "assistant" else message.speaker(served.me), message.text())
            for message in body.messages
            if message.role in ("user", "assistant")
        ]
        rewrite = _valid_text(body.rewrite).strip() if body.rewrite else None
        number = await asyncio.to_thread(served.corrections, context, _valid_text(body.reply), rewrite or None)
        return {"id": number}


def _add_openai_api(app: FastAPI, clone: Responder, served: Served) -> None:
    """/v1/models and /v1/chat/completions, streamed or not, one generation at a time."""
    worker = Worker(clone)
    created = int(time.time())
    model_id = served.model_id

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [_model_card(model_id, created)]}

    @app.get("/v1/models/{name}")
    async def model(name: str) -> dict:
        _check_model(name, model_id)
        return _model_card(model_id, created)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, request: Request):
        _check_model(body.model, model_id)
        history = _history(body.messages, clone.persona, served.me)
        sampling = _sampling(body, served.max_new_tokens, served.reply_tokens)
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        if body.stream:
            usage = Usage()
            events = _events(worker.stream(history, sampling, usage), usage, completion_id, model_id)
            return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        text, usage = await worker.complete(history, sampling, request.is_disconnected)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_id,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": usage.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": _usage(usage),
        }


class CorrectionRequest(BaseModel):
    """A clone's reply the user marked as unlike the person: the conversation before it, the reply, and what the
    person would have said (optional)."""

    messages: list[ChatMessage] = Field(max_length=MAX_MESSAGES)
    reply: str = Field(min_length=1, max_length=20_000)
    rewrite: str | None = Field(default=None, max_length=20_000)


class QuizAnswer(BaseModel):
    token: str = Field(max_length=64)
    picked: int = Field(ge=0, le=1)


def _add_page(app: FastAPI, route: str) -> None:
    """The static page `web/<route>.html` at `/<route>`: what it shows comes from /api, behind the API key."""
    page = resources.files("gptisyou.serve").joinpath(f"web/{route}.html").read_text(encoding="utf-8")

    async def show() -> str:
        return page

    app.add_api_route(f"/{route}", show, methods=["GET"], response_class=HTMLResponse)


def _add_quiz(app: FastAPI, quiz) -> None:
    """The blind test's page and API; /api/quiz sits behind the API key like every /api path."""
    _add_page(app, "quiz")

    @app.get("/api/quiz")
    async def next_question() -> dict:
        return quiz.next_question()

    @app.post("/api/quiz")
    async def answer(body: QuizAnswer) -> dict:
        return quiz.answer(body.token, body.picked)


def _add_portrait(app: FastAPI, portrait: str) -> None:
    """The portrait: a page at /portrait that fetches it from /api/portrait, behind the API key like every /api
    path, and shows it in a sandboxed frame."""
    _add_page(app, "portrait")

    @app.get("/api/portrait")
    async def portrait_html() -> dict:
        return {"html": portrait}


async def _events(pieces: AsyncIterator[str], usage: Usage, completion_id: str, model_id: str) -> AsyncIterator[str]:
    """OpenAI's stream: a role chunk, content chunks, a chunk with the finish reason, then `[DONE]`."""
    created = int(time.time())

    def chunk(delta: dict, finish_reason: str | None = None) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for piece in pieces:
            yield chunk({"content": piece})
    except Exception as error:  # noqa: BLE001 -- the status is sent already: the error goes into the stream
        yield f"data: {json.dumps(error_body(_api_error(error)), ensure_ascii=False)}\n\n"
    else:
        yield chunk({}, usage.finish_reason)
    yield "data: [DONE]\n\n"


def _history(messages: list[ChatMessage], persona: str, me: str) -> list[Line]:
    """The conversation as the model was trained on it: assistant turns are the persona's; system lines are dropped."""
    lines = []
    for message in messages:
        if message.role == "assistant":
            lines.append(Line(persona, message.text()))
        elif message.role == "user":
            lines.append(Line(message.speaker(me), message.text()))
    if not lines or lines[-1].speaker == persona:
        raise ApiError(400, "messages: end with a user message for the clone to answer", param="messages")
    return lines


def _sampling(request: ChatRequest, max_new_tokens: int, reply_tokens: int | None) -> Sampling:
    defaults = Sampling()
    wanted = request.max_completion_tokens or request.max_tokens or min(reply_length(reply_tokens), max_new_tokens)
    if wanted > max_new_tokens:
        raise ApiError(400, f"max_tokens: at most {max_new_tokens} on this server", param="max_tokens")
    return Sampling(
        temperature=defaults.temperature if request.temperature is None else request.temperature,
        top_p=defaults.top_p if request.top_p is None else request.top_p,
        max_new_tokens=wanted,
        seed=request.seed,
        stop=request.stop_texts(),
    )


def _check_model(name: str, model_id: str) -> None:
    if name != model_id:
        raise ApiError(
            404,
            f"the model '{name}' does not exist (this server has '{model_id}')",
            param="model",
            code="model_not_found",
        )


def _model_card(model_id: str, created: int) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "gptisyou"}


def _usage(usage: Usage) -> dict:
    total = usage.prompt_tokens + usage.completion_tokens
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "total_tokens": total}


def _api_error(error: Exception) -> ApiError:
    """Any failure as the OpenAI-shaped error its class calls for; an unexpected one names no internals."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, RemoteError):
        return ApiError(502, str(error), kind="api_error", code="upstream_error")
    if isinstance(error, TooManyRequests):
        return ApiError(429, str(error), code="rate_limit_exceeded")
    if isinstance(error, InputError):
        return ApiError(400, str(error))
    if isinstance(error, GptisyouError):
        return ApiError(500, str(error), kind="server_error")
    log.exception("generation failed")
    return ApiError(500, f"the server failed to generate a reply ({type(error).__name__})", kind="server_error")
