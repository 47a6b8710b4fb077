"""Held-out evaluation of a model being trained or tuned: loss, perplexity and token accuracy on the persona's
held-out turns, every one of them a target."""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from gptisyou.data.dataset import Example, PersonaData, windows
from gptisyou.data.memory import Memory
from gptisyou.data.render import Transcript
from gptisyou.train.batches import TokenizedExample, batches, collate, tokenize
from gptisyou.train.config import TrainConfig
from gptisyou.train.distributed import Processes
from gptisyou.train.model import targeted_forward

_ANY_NUMBER_OF_TURNS = 1_000_000  # held-out windows are bounded by tokens only


@dataclass(frozen=True, slots=True)
class Evaluation:
    loss: float
    perplexity: float
    token_accuracy: float
    tokens: int


def tokenized(
    examples: Iterable[Example], data: PersonaData, tokenizer, config: TrainConfig
) -> list[TokenizedExample]:
    """The examples as token ids, each after what it recalls of the training period when the run has memory."""
    transcript = Transcript(tokenizer)
    memory = Memory.of_training_period(data) if config.memory else None

    def recalled(example: Example) -> list:
        return memory.for_example(example, data.persona, config.memory) if memory else []

    return [
        tokenize(example, data.persona, transcript, config.context_tokens, recalled(example), config.memory_tokens)
        for example in examples
    ]


def held_out(data: PersonaData, tokenizer, config: TrainConfig) -> list[TokenizedExample]:
    """The held-out sessions as windows of at most `config.window_tokens`, every persona turn in them a target."""
    examples = windows(data.val, data.persona, _ANY_NUMBER_OF_TURNS, config.window_tokens, token_counter(tokenizer))
    return tokenized(examples, data, tokenizer, config)


def spread(examples: list[TokenizedExample], budget_tokens: int) -> list[TokenizedExample]:
    """At most `budget_tokens` of `examples` (in time order), taken evenly across them, so that a sample of a long
    held-out period still spans all of it."""
    total = sum(len(example.input_ids) for example in examples)
    if total <= budget_tokens:
        return examples
    step = total / budget_tokens
    chosen, passed, due = [], 0, 0.0
    for example in examples:
        if passed >= due:
            chosen.append(example)
            due += step * len(example.input_ids)
        passed += len(example.input_ids)
    return chosen


def evaluate(
    model, examples: list[TokenizedExample], pad_id: int, batch_tokens: int, processes: Processes | None = None
) -> Evaluation:
    """Loss, perplexity and token accuracy on the held-out turns, over every labelled token.

    Under several processes each evaluates its share of the batches; the sums are combined.
    """
    model.eval()
    loss_sum = correct = targets = 0
    rank, count = (processes.rank, processes.count) if processes else (0, 1)
    with torch.no_grad():
        for batch in batches(examples, batch_tokens, seed=0)[rank::count]:
            loss, right, labelled = targeted_forward(model, collate(batch, pad_id))
            loss_sum, correct, targets = loss_sum + loss.item() * labelled, correct + int(right), targets + labelled
    if processes:
        loss_sum, correct, targets = processes.sum(loss_sum, correct, targets)
    loss = loss_sum / max(targets, 1)
    return Evaluation(loss, math.exp(min(loss, 50)), correct / max(targets, 1), targets)


def bits_per_byte(fit: Evaluation, target_bytes: int) -> float:
    """The held-out loss in bits per UTF-8 byte of the target text: comparable across tokenizers, where perplexity
    (per token) is not."""
    return fit.loss * fit.tokens / math.log(2) / max(target_bytes, 1)


def target_bytes(examples: list[TokenizedExample], tokenizer) -> int:
    """How many UTF-8 bytes the examples' target tokens spell."""
    return sum(
        len(tokenizer.decode([label for label in example.labels if label >= 0]).encode()) for example in examples
    )


def token_counter(tokenizer) -> Callable[[str], int]:
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
