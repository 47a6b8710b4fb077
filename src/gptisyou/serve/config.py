"""The settings of `serve`, each with its default and help text: its options are built from them.

Light on purpose (no FastAPI): the CLI reads it to build `gptisyou serve`'s options.
"""

from dataclasses import dataclass

from gptisyou.settings import setting


@dataclass(frozen=True, slots=True)
class ServeConfig:
    host: str = setting("127.0.0.1", "Where to listen; 0.0.0.0 opens it to your network.")
    port: int = setting(8000, "The port to listen on.")
    request_tokens: int = setting(512, "The most new tokens a request may ask for.")
