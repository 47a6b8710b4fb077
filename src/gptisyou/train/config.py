"""The settings of a local training run, each with its default and its help text: the one home of both.

The CLI builds its options from these fields (an option left out keeps the default here); a run saves the
resolved config beside its adapter.
"""

from dataclasses import dataclass, field, fields
from typing import Self

from gptisyou.data.memory import MEMORY_TOKENS
from gptisyou.settings import setting as _setting

_RENAMED = {"max_tokens": "context_tokens"}  # a setting's old name in the config.json of older runs → its name now


@dataclass(frozen=True, slots=True)
class TrainConfig:
    persona: str = field(metadata={"help": "The participant to imitate (see `gptisyou people`)."})
    base: str | None = _setting(
        None,
        "A model directory, .gguf file or Hugging Face hub id such as Qwen/Qwen2.5-1.5B-Instruct (downloaded once, "
        "into the hub cache; default: the embedded Gemma 3 270M).",
    )
    lora_rank: int = _setting(16, "LoRA rank.")
    lora_alpha: int = _setting(32, "LoRA alpha.")
    lora_dropout: float = _setting(
        0.0,
        "LoRA dropout (any dropout makes a CPU step about 30 % slower; early stopping guards against overfitting).",
    )
    learning_rate: float = _setting(5e-4, "Peak learning rate (cosine schedule after a short warm-up).")
    warmup_fraction: float = _setting(0.05, "Share of the planned steps spent warming up the learning rate.")
    max_steps: int | None = _setting(None, "Stop after this many optimizer steps (default: the epochs' worth).")
    minutes: float | None = _setting(None, "Stop after this many minutes, whatever the step.")
    epochs: int = _setting(
        1,
        "Passes over the training windows (on both sample chats a second pass made the held-out perplexity worse; "
        "the best adapter is kept either way).",
    )
    context_tokens: int = _setting(
        512, "Tokens per training window at most, memory included: the context the clone learns and writes in."
    )
    batch_tokens: int = _setting(
        512,
        "Padded tokens per micro-batch: 512 is one window a step, which learns more from a chat than fewer, "
        "larger steps (raise it on a GPU for speed on a long chat).",
    )
    accumulation: int = _setting(1, "Micro-batches per optimizer step (per process).")
    clip_norm: float = _setting(1.0, "Gradient norm clipping.")
    eval_every: int = _setting(50, "Optimizer steps between evaluations on the held-out turns.")
    val_tokens: int = _setting(
        8192,
        "Held-out tokens training validates on at most, windows spread evenly over the whole held-out period "
        "(`eval` scores up to its --fit-tokens, 32,768): a wide period would otherwise cost minutes per evaluation.",
    )
    patience: int = _setting(3, "Evaluations without improvement before stopping early.")
    checkpoint_minutes: float = _setting(5.0, "Minutes between checkpoints (one is also written on Ctrl-C).")
    bf16_frozen_weights: bool = _setting(True, "Store the frozen base in bf16 where bf16 autocast is available.")
    memory: int = _setting(
        0,
        "Past exchanges of the persona (its replies to messages like the ones at hand) shown before each training "
        "window and each reply; 0 for none.",
    )
    preference_pairs: int = _setting(
        0,
        "After the fine-tune, moments of the training period where the real reply is preferred to the base model's "
        "(DPO); 0 for none. Each costs the base model's reply and four passes.",
    )
    self_play_rounds: int = _setting(
        0,
        "Rounds of self-play after the fine-tune (SPIN, DITTO): the tuned model's own replies to --preference-pairs "
        "moments of the training period are rejected, the real ones chosen, with the tuned model as DPO's "
        "reference; each round samples afresh from the newest model. 0 for none (then the base model's replies "
        "are the rejected ones).",
    )
    preference_beta: float = _setting(0.1, "DPO's beta: how far the preference may pull from the reference.")
    preference_learning_rate: float = _setting(5e-5, "Learning rate of the preference tuning.")
    hold_out: str = _setting(
        "spread",
        "The conversations held out for validation and eval: 'spread' across the whole chat (10 % of the persona's "
        "turns), or the 'latest' ones (what came after: drift).",
    )
    seed: int = _setting(
        0, "Seed of the data order, the LoRA initialisation, the sample replies and the held-out conversations."
    )

    @classmethod
    def recorded(cls, settings: dict, device_type: str = "cpu") -> Self:
        """The settings a run saved (RunConfig.train), in the form of this version: settings a later version
        dropped are left out, renamed ones take their new name, and a run saved before the micro-batch had one default (None) gets the size its
        device had then."""
        known = {found.name for found in fields(cls)}
        renamed = {_RENAMED.get(name, name): value for name, value in settings.items()}
        upgraded = {name: value for name, value in renamed.items() if name in known}
        if upgraded.get("batch_tokens", 0) is None:
            upgraded["batch_tokens"] = 8192 if device_type == "cuda" else 2048
        return cls(**upgraded)

    @property
    def memory_tokens(self) -> int:
        return MEMORY_TOKENS if self.memory else 0

    @property
    def window_tokens(self) -> int:
        """Tokens of conversation per training window: what `context_tokens` leaves beside the memory."""
        return self.context_tokens - self.memory_tokens
