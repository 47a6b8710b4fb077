"""From examples to training batches: token ids, -100 labels outside the persona's turns, little padding.

An example's turns are rendered by `render.Transcript`: the targets are the persona's replies (from the first
word's token) and their end-of-turn markers, never the other people's turns, the `Name:` headers or the padding.
Batches group examples of similar length under a token budget, in a seeded order, so padding is small and a
run can be repeated exactly.
"""

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gptisyou.data.dataset import Example, is_target
from gptisyou.data.memory import Exchange
from gptisyou.data.render import IGNORE_INDEX, Spoken, Transcript


@dataclass(frozen=True, slots=True)
class TokenizedExample:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # the input id where the model should learn to produce it, else IGNORE_INDEX

    @property
    def targets(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def tokenize(
    example: Example,
    persona: str,
    transcript: Transcript,
    context_tokens: int,
    recalled: Sequence[Exchange] = (),
    memory_tokens: int = 0,
) -> TokenizedExample:
    """Token ids and labels of one example after its recalled exchanges (at most `memory_tokens` of them); longer
    examples are cut at `context_tokens`."""
    turns = [Spoken(turn.sender, turn.text, is_target(turn, persona)) for turn in example.turns]
    memory = transcript.recalled([exchange.spoken() for exchange in recalled], memory_tokens)
    ids, labels = transcript.training(turns, context_tokens, memory)
    return TokenizedExample(tuple(ids), tuple(labels))


def batches(examples: Iterable[TokenizedExample], max_batch_tokens: int, seed: int) -> list[list[TokenizedExample]]:
    """Length-grouped batches of at most `max_batch_tokens` padded tokens, in a seeded random order."""
    ordered = sorted((e for e in examples if e.targets), key=lambda example: len(example.input_ids))
    grouped: list[list[TokenizedExample]] = []
    for example in ordered:
        current = grouped[-1] if grouped else None
        if current and (len(current) + 1) * len(example.input_ids) <= max_batch_tokens:
            current.append(example)
        else:
            grouped.append([example])
    random.Random(seed).shuffle(grouped)
    return grouped


def pad_token_id(tokenizer) -> int:
    """The tokenizer's padding id; 0 for one without (padding is masked out either way)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def collate(batch: list[TokenizedExample], pad_id: int) -> dict:
    """Right-padded tensors: input_ids, attention_mask, labels."""
    import torch

    length = max(len(example.input_ids) for example in batch)

    def padded(values: tuple[int, ...], fill: int) -> list[int]:
        return [*values, *([fill] * (length - len(values)))]

    return {
        "input_ids": torch.tensor([padded(e.input_ids, pad_id) for e in batch]),
        "attention_mask": torch.tensor([padded((1,) * len(e.input_ids), 0) for e in batch]),
        "labels": torch.tensor([padded(e.labels, IGNORE_INDEX) for e in batch]),
    }
