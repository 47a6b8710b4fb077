"""The settings of an evaluation, each with its default and help text: `eval`'s options are built from them.

Light on purpose (no torch): the CLI reads it to build `gptisyou eval`'s options.
"""

from dataclasses import dataclass

from gptisyou.engine.responder import CANDIDATES, Sampling
from gptisyou.settings import setting


@dataclass(frozen=True, slots=True)
class EvalConfig:
    samples: int = setting(
        200,
        "Held-out moments each model replies to, spread over the held-out conversations (all of them where there "
        "are fewer): 200 give a 95 % interval of about ±7 points.",
    )
    context_turns: int = setting(8, "Turns of context before each reply.")
    fit_tokens: int = setting(
        32_768, "Held-out tokens the loss is measured on at most, windows spread over the whole held-out period."
    )
    max_new_tokens: int | None = setting(
        None, "The longest reply (default: the 99th percentile of the persona's turns, as the run recorded it)."
    )
    temperature: float = setting(Sampling().temperature, "Sampling temperature of the replies.")
    seed: int = setting(0, "Seed of the replies and of the intervals' bootstrap.")
    style_strength: float = setting(1.0, "The adapter's update scaled by this when the tuned model replies.")
    candidates: int = setting(
        CANDIDATES,
        "Replies the tuned model samples per moment; the run's chooser keeps one, and the report sets it beside the "
        "first sample (the chooser is built from the training period the first time: minutes).",
    )
    engine: str = setting("auto", 'What writes the replies: "torch", "llama.cpp", or "auto" (see engine.choice).')
