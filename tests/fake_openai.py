"""A fake OpenAI-compatible fine-tuning provider, run on 127.0.0.1 by the tests: never the internet.

Files (upload, list, content, delete), fine_tuning.jobs (create, retrieve, list, events, cancel), models (list,
delete) and chat completions (also streamed), with the shapes the official client expects. A job advances one
state per poll: validating_files → queued → running → succeeded (or failed), and on success writes a result CSV
and a fine-tuned model. `fail` injects failures: {"upload": [None, 500, ...]} lets the next upload through (None)
and answers the ones after with those codes, {"create_job": 403}, {"rate_limit": 2} answers the next requests 429, {"job": "failed"}.
"""

import itertools
import json
import time
from typing import Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

RESULTS_CSV = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,2.4,0.25,,\n2,1.9,0.41,,\n3,1.5,0.55,1.7,0.49\n"


class FakeProvider:
    def __init__(self, api_key: str = "sk-fake") -> None:
        self.api_key = api_key
        self.files: dict[str, dict] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, dict] = {}
        self.events: dict[str, list[dict]] = {}
        self.models = {"gpt-4o-mini-2024-07-18": _model("gpt-4o-mini-2024-07-18", "openai")}
        self.fail: dict = {}
        self.requests: list[tuple[str, str]] = []
        self.chats: list[dict] = []  # the body of every chat completion request
        self.chat_reply = "sure thing — from the hosted model"
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    def app(self) -> FastAPI:
        app = FastAPI()
        provider = self

        @app.middleware("http")
        async def gate(request: Request, call_next):
            provider.requests.append((request.method, request.url.path))
            if request.headers.get("authorization") != f"Bearer {provider.api_key}":
                return _error(401, "Incorrect API key provided", "invalid_api_key")
            if provider.fail.get("rate_limit", 0) > 0:
                provider.fail["rate_limit"] -= 1
                return _error(429, "Rate limit reached", "rate_limit_exceeded", headers={"retry-after-ms": "10"})
            return await call_next(request)

        @app.post("/v1/files")
        async def upload(file: Annotated[UploadFile, File()], purpose: Annotated[str, Form()]):
            codes = provider.fail.get("upload", [])
            if codes and (code := codes.pop(0)):
                return _error(code, "upload failed", "server_error")
            content = await file.read()
            file_id = provider.new_id("file")
            provider.files[file_id] = {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "filename": file.filename,
                "purpose": purpose,
                "created_at": int(time.time()),
                "status": "processed",
            }
            provider.contents[file_id] = content
            return provider.files[file_id]

        @app.get("/v1/files")
        async def list_files():
            return {"object": "list", "data": list(provider.files.values())}

        @app.get("/v1/files/{file_id}/content")
        async def file_content(file_id: str):
            if file_id not in provider.contents:
                return _error(404, f"No such File object: {file_id}", "not_found")
            return PlainTextResponse(provider.contents[file_id].decode())

        @app.delete("/v1/files/{file_id}")
        async def delete_file(file_id: str):
            if provider.files.pop(file_id, None) is None:
                return _error(404, f"No such File object: {file_id}", "not_found")
            provider.contents.pop(file_id, None)
            return {"id": file_id, "object": "file", "deleted": True}

        @app.post("/v1/fine_tuning/jobs")
        async def create_job(request: Request):
            if code := provider.fail.get("create_job"):
                return _error(code, "You are not allowed to create fine-tuning jobs", "permission_denied")
            body = await request.json()
            if body["training_file"] not in provider.files:
                return _error(400, "invalid training_file", "invalid_request_error")
            job_id = provider.new_id("ftjob")
            epochs = body.get("method", {}).get("supervised", {}).get("hyperparameters", {}).get("n_epochs", 3)
            provider.jobs[job_id] = {
                "id": job_id,
                "object": "fine_tuning.job",
                "model": body["model"],
                "created_at": int(time.time()),
                "status": "validating_files",
                "training_file": body["training_file"],
                "validation_file": body.get("validation_file"),
                "fine_tuned_model": None,
                "finished_at": None,
                "result_files": [],
                "trained_tokens": None,
                "error": None,
                "organization_id": "org-fake",
                "hyperparameters": {"n_epochs": epochs, "batch_size": 1, "learning_rate_multiplier": 1.8},
                "seed": 0,
                "suffix": body.get("suffix"),
            }
            provider.events[job_id] = []
            provider.event(job_id, "Validating training file")
            return provider.jobs[job_id]

        @app.get("/v1/fine_tuning/jobs")
        async def list_jobs():
            return {"object": "list", "data": list(provider.jobs.values()), "has_more": False}

        @app.get("/v1/fine_tuning/jobs/{job_id}")
        async def retrieve_job(job_id: str):
            if job_id not in provider.jobs:
                return _error(404, f"No such job: {job_id}", "not_found")
            provider.advance(job_id)
            return provider.jobs[job_id]

        @app.get("/v1/fine_tuning/jobs/{job_id}/events")
        async def job_events(job_id: str):
            if job_id not in provider.jobs:
                return _error(404, f"No such job: {job_id}", "not_found")
            return {"object": "list", "data": list(reversed(provider.events[job_id])), "has_more": False}

        @app.post("/v1/fine_tuning/jobs/{job_id}/cancel")
        async def cancel_job(job_id: str):
            if job_id not in provider.jobs:
                return _error(404, f"No such job: {job_id}", "not_found")
            job = provider.jobs[job_id]
            if job["status"] not in ("succeeded", "failed", "cancelled"):
                job["status"] = "cancelled"
                provider.event(job_id, "Job cancelled")
            return job

        @app.get("/v1/models")
        async def list_models():
            return {"object": "list", "data": list(provider.models.values())}

        @app.delete("/v1/models/{model_id:path}")
        async def delete_model(model_id: str):
            if provider.models.pop(model_id, None) is None:
                return _error(404, f"The model '{model_id}' does not exist", "model_not_found")
            return {"id": model_id, "object": "model", "deleted": True}

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            body = await request.json()
            if body["model"] not in provider.models:
                return _error(404, f"The model '{body['model']}' does not exist", "model_not_found")
            provider.chats.append(body)
            words = provider.chat_reply.split(" ")
            words[1:] = [f" {word}" for word in words[1:]]
            if not body.get("stream"):
                return {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(words)},
                            "finish_reason": "stop",
                        }
                    ],
                }

            def chunks():
                for word in words:
                    delta = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
                    }
                    yield f"data: {json.dumps(delta)}\n\n"
                end = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"

            return StreamingResponse(chunks(), media_type="text/event-stream")

        return app

    def event(self, job_id: str, message: str) -> None:
        self.events[job_id].append(
            {
                "id": self.new_id("ftevent"),
                "object": "fine_tuning.job.event",
                "created_at": int(time.time()),
                "level": "info",
                "message": message,
                "type": "message",
            }
        )

    def advance(self, job_id: str) -> None:
        job = self.jobs[job_id]
        following = {"validating_files": "queued", "queued": "running", "running": "done"}.get(job["status"])
        if following is None:
            return
        if following != "done":
            job["status"] = following
            self.event(job_id, f"Job {following}")
            return
        job["finished_at"] = int(time.time())
        if self.fail.get("job") == "failed":
            job["status"] = "failed"
            job["error"] = {
                "code": "invalid_training_file",
                "message": "Training file has too few examples",
                "param": "training_file",
            }
            self.event(job_id, "Job failed: Training file has too few examples")
            return
        job["status"] = "succeeded"
        job["trained_tokens"] = 12_345
        job["fine_tuned_model"] = f"ft:{job['model']}:fake:{job['suffix']}:{job_id[-6:]}"
        self.models[job["fine_tuned_model"]] = _model(job["fine_tuned_model"], "user-fake")
        results = self.new_id("file")
        self.files[results] = {
            "id": results,
            "object": "file",
            "bytes": len(RESULTS_CSV),
            "filename": "step_metrics.csv",
            "purpose": "fine-tune-results",
            "created_at": int(time.time()),
            "status": "processed",
        }
        self.contents[results] = RESULTS_CSV.encode()
        job["result_files"] = [results]
        self.event(job_id, "The job has successfully completed")

    def user_files(self) -> list[str]:
        return [f for f, meta in self.files.items() if meta["purpose"] == "fine-tune"]

    def tuned_models(self) -> list[str]:
        return [m for m in self.models if m.startswith("ft:")]


def _model(model_id: str, owner: str) -> dict:
    return {"id": model_id, "object": "model", "created": int(time.time()), "owned_by": owner}


def _error(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    """An OpenAI error; the client's retries of it wait 10 ms (retry-after-ms), not its seconds of backoff."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers={"retry-after-ms": "10", **(headers or {})})
