"""User-facing errors: each is one line naming the file:line, field or flag, and carries its exit code.

Exit codes: 0 ok · 1 internal error · 2 bad input or usage · 3 consent not given · 4 optional extra missing or
unusable here · 5 remote/provider failure · 130 Ctrl-C.
"""

from pathlib import Path


class GptisyouError(Exception):
    """Base of every error a user can cause or fix; the CLI prints it as `Error: <message>`."""

    exit_code = 1


class InputError(GptisyouError):
    """Bad file, unknown chat or persona, conflicting flags."""

    exit_code = 2


class TooManyRequests(InputError):
    """Requests faster than a person makes them (a server answers 429)."""


class ParseError(InputError):
    """A file that cannot be read as a chat export, with the line where reading failed."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        location = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{location}: {reason}")
        self.path = Path(path)
        self.line = line
        self.reason = reason


class RedactionError(GptisyouError):
    """Redaction would mix people up (a third party's turns written as the persona's): a defect, never uploaded."""


class ConsentError(GptisyouError):
    """An upload or other irreversible step the user did not confirm."""

    exit_code = 3


class MissingExtra(GptisyouError):
    """An optional dependency group is not installed."""

    exit_code = 4

    def __init__(self, extra: str, purpose: str):
        super().__init__(f"{purpose} needs the '{extra}' extra: pip install 'gptisyou[{extra}]'")

    @classmethod
    def from_import(cls, error: ImportError, purpose: str) -> "MissingExtra":
        """The extra that brings the module an import could not find."""
        top = (error.name or "").partition(".")[0]
        return cls(_EXTRA_OF.get(top, "train"), f"{purpose} ({top or 'a module'} is missing)")


class UnusableExtra(GptisyouError):
    """An optional dependency is installed in a build that cannot run on this machine; the message says how to
    rebuild it."""

    exit_code = 4


# the optional extras of pyproject.toml, by the modules they bring
_EXTRA_OF = {
    **dict.fromkeys(("torch", "transformers", "peft", "accelerate", "safetensors", "datasets"), "train"),
    **dict.fromkeys(("fastapi", "uvicorn", "starlette"), "serve"),
    **dict.fromkeys(("sklearn", "matplotlib"), "eval"),
    **dict.fromkeys(("openai", "tiktoken"), "openai"),
    **dict.fromkeys(("telegram", "discord"), "bridges"),
    "llama_cpp": "fast",
}


class RemoteError(GptisyouError):
    """A provider or other remote service failed."""

    exit_code = 5
