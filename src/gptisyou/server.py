"""An OpenAI-compatible HTTP API and a web chat page for one clone (FastAPI, served by uvicorn).

- `GET /v1/models`, `POST /v1/chat/completions` (with `stream: true`: server-sent events as OpenAI sends them),
  so the official `openai` client works unchanged with `base_url="http://127.0.0.1:8000/v1"`.
- `GET /` the chat page (one self-contained file: no CDN, works offline), `GET /health`, `GET /api/info`.
- Errors are OpenAI-style JSON (`{"error": {"message", "type", "param", "code"}}`) with 4xx codes.
- One model, one generation at a time: requests queue on a single worker thread, so outputs never mix.
"""

import asyncio
import inspect
import json
import secrets
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gptisyou.generate import Clone, Line, Sampling, Usage

MAX_BODY_BYTES = 256 * 1024
MAX_NEW_TOKENS = 512
# recent FastAPI records OpenTelemetry spans, metrics and logs by default (sent nowhere unless an exporter is
# configured); the clone's server records none
_NO_TELEMETRY = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.kind, self.param, self.code = status, kind, param, code


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=1)


class Worker:
    """Runs generations one after another on its own thread."""

    def __init__(self, clone: Clone) -> None:
        self.clone = clone
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")

    async def complete(self, history: list[Line], sampling: Sampling) -> tuple[str, Usage]:
        usage = Usage()
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(self._thread, lambda: "".join(self.clone.stream(history, sampling, usage)))
        return text.strip(), usage

    async def stream(self, history: list[Line], sampling: Sampling, usage: Usage) -> AsyncIterator[str]:
        """Pieces as they are sampled; a client that goes away stops the generation at the next token."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        stopped = False

        def produce() -> None:
            try:
                for piece in self.clone.stream(history, sampling, usage, cancelled=lambda: stopped):
                    loop.call_soon_threadsafe(pieces.put_nowait, piece)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, None)

        done = loop.run_in_executor(self._thread, produce)
        try:
            while (piece := await pieces.get()) is not None:
                yield piece
        finally:
            stopped = True
            await done


def create_app(clone: Clone, model_id: str, me: str, api_key: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, max_new_tokens: int = MAX_NEW_TOKENS) -> FastAPI:  # fmt: skip
    """The app serving `clone` as the model `model_id`; `me` is who a `user` message is from, unless it names one."""
    app = FastAPI(title="gptisyou", docs_url=None, redoc_url=None, openapi_url=None, **_NO_TELEMETRY)
    worker = Worker(clone)
    created = int(time.time())
    page = resources.files("gptisyou").joinpath("web/chat.html").read_text(encoding="utf-8")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        try:
            length = int(request.headers.get("content-length") or 0)
        except ValueError:
            length = max_body_bytes + 1
        if length > max_body_bytes:
            return _error(ApiError(413, f"request body over {max_body_bytes} bytes", code="request_too_large"))
        if api_key and request.url.path.startswith("/v1/") and not _authorised(request, api_key):
            return _error(ApiError(401, "invalid or missing API key (Authorization: Bearer KEY)",
                                   kind="authentication_error", code="invalid_api_key"))  # fmt: skip
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError):
        return _error(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        if first["type"] == "json_invalid":
            return _error(ApiError(400, "the body is not valid JSON", code="invalid_json"))
        return _error(ApiError(400, f"{where or 'body'}: {first['msg']}", param=where or None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        return _error(
            ApiError(error.status_code, str(error.detail), code="not_found" if error.status_code == 404 else None)
        )

    @app.get("/", response_class=HTMLResponse)
    async def chat_page() -> str:
        return page

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": model_id}

    @app.get("/api/info")
    async def info() -> dict:
        return {"model": model_id, "persona": clone.persona, "me": me, "api_key_required": bool(api_key)}

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [_model_card(model_id, created)]}

    @app.get("/v1/models/{name}")
    async def model(name: str) -> dict:
        _check_model(name, model_id)
        return _model_card(model_id, created)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: ChatRequest):
        _check_model(request.model, model_id)
        history = _history(request.messages, clone.persona, me)
        sampling = _sampling(request, max_new_tokens)
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        if request.stream:
            usage = Usage()
            events = _events(worker.stream(history, sampling, usage), usage, completion_id, model_id)
            return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        text, usage = await worker.complete(history, sampling)
        return {
            "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": usage.finish_reason, "logprobs": None}],
            "usage": _usage(usage),
        }  # fmt: skip

    return app


async def _events(pieces: AsyncIterator[str], usage: Usage, completion_id: str, model_id: str) -> AsyncIterator[str]:
    """OpenAI's stream: a role chunk, content chunks, a chunk with the finish reason, then `[DONE]`."""
    created = int(time.time())

    def chunk(delta: dict, finish_reason: str | None = None) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}  # fmt: skip
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for piece in pieces:
        yield chunk({"content": piece})
    yield chunk({}, usage.finish_reason)
    yield "data: [DONE]\n\n"


def _history(messages: list[ChatMessage], persona: str, me: str) -> list[Line]:
    """The conversation as the model was trained on it: assistant turns are the persona's; system lines are dropped."""
    lines = []
    for message in messages:
        if message.role == "assistant":
            lines.append(Line(persona, message.text()))
        elif message.role == "user":
            lines.append(Line(message.name or me, message.text()))
    if not lines or lines[-1].speaker == persona:
        raise ApiError(400, "messages: end with a user message for the clone to answer", param="messages")
    return lines


def _sampling(request: ChatRequest, max_new_tokens: int) -> Sampling:
    defaults = Sampling()
    wanted = request.max_completion_tokens or request.max_tokens or min(defaults.max_new_tokens, max_new_tokens)
    if wanted > max_new_tokens:
        raise ApiError(400, f"max_tokens: at most {max_new_tokens} on this server", param="max_tokens")
    return Sampling(
        temperature=defaults.temperature if request.temperature is None else request.temperature,
        top_p=defaults.top_p if request.top_p is None else request.top_p,
        max_new_tokens=wanted,
        seed=request.seed,
    )


def _check_model(name: str, model_id: str) -> None:
    if name != model_id:
        raise ApiError(404, f"the model '{name}' does not exist (this server has '{model_id}')", param="model",
                       code="model_not_found")  # fmt: skip


def _model_card(model_id: str, created: int) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "gptisyou"}


def _usage(usage: Usage) -> dict:
    total = usage.prompt_tokens + usage.completion_tokens
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "total_tokens": total}


def _authorised(request: Request, api_key: str) -> bool:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return secrets.compare_digest(given.encode(), api_key.encode())


def _error(error: ApiError) -> JSONResponse:
    body = {"error": {"message": str(error), "type": error.kind, "param": error.param, "code": error.code}}
    return JSONResponse(body, status_code=error.status)
