"""OpenAI-style errors: `{"error": {"message", "type", "param", "code"}}` with the HTTP status that goes with it."""

from fastapi.responses import JSONResponse


class ApiError(Exception):
    """A refusal or failure the client is told about, as OpenAI words one."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.param, self.code = status, kind, param, code


def error_body(error: ApiError) -> dict:
    return {"error": {"message": str(error), "type": error.kind, "param": error.param, "code": error.code}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)
