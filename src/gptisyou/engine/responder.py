"""What every engine speaks: a conversation's `Line`s in, the persona's next turn out, streamed in pieces.

Light on purpose (no torch): the hosted backend, the server and the CLI import it without the train extra.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from gptisyou.settings import setting


@dataclass(frozen=True, slots=True)
class Line:
    """One turn of a conversation: who wrote it and what (bubbles separated by line breaks)."""

    speaker: str
    text: str


ENGINES = ("auto", "torch", "llama.cpp")  # what computes a local clone's tokens; auto: llama.cpp where it can
CANDIDATES = 1  # replies sampled per turn by default, the run's chooser keeping one (1: the first sample)


@dataclass(frozen=True, slots=True)
class Sampling:
    # 1 draws from what the model learned of the person; below 1 their likeliest replies only, which a reader
    # tells from theirs more often (docs/quality.md, "Sampling temperature")
    temperature: float = setting(1.0, "Sampling temperature (1: as the person varies; 0: always the likeliest word).")
    top_p: float = 0.95
    max_new_tokens: int = 120
    seed: int | None = setting(None, "Make the replies repeatable.")
    stop: tuple[str, ...] = ()  # more texts that end the turn (not included in it), as OpenAI's `stop`


@dataclass
class Usage:
    """Filled in while a turn is generated: what the OpenAI API reports as `usage` and `finish_reason`."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "length"  # "stop" when the turn ended by itself
    logprob: float = 0.0  # the sampled tokens' log-probability under the model (temperature 1, no cut)


class Responder(Protocol):
    """A clone: writes the persona's next turn after a conversation. Not thread-safe: one turn at a time."""

    persona: str

    def stream(
        self,
        history: Sequence[Line],
        sampling: Sampling = ...,
        usage: Usage | None = None,
        cancelled: Callable[[], bool] = ...,
    ) -> Iterator[str]:
        """Pieces of the persona's next turn as they are produced; `cancelled()` stops it early."""
        ...

    def reply(self, history: Sequence[Line], sampling: Sampling = ...) -> str:
        """The whole next turn, stripped."""
        ...


def reply_length(recorded: int | None) -> int:
    """The most tokens a clone's reply may take: what the run recorded of the persona's replies (the 99th
    percentile of their turns), or the engines' default where it recorded nothing."""
    return recorded or Sampling().max_new_tokens


def bubbles(turn: str) -> list[str]:
    """A turn's separate messages, as the chat showed them."""
    return [bubble.strip() for bubble in turn.split("\n") if bubble.strip()]
