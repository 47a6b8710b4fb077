"""From local examples to training batches: token ids, -100 labels outside the persona's turns, little padding.

A local example is a transcript and the character spans to learn (`dataset_formats.local_record`). A token is a
target when its first character lies inside a span: the persona's words and its end-of-turn marker, never the
other people's turns, the `Name: ` headers or the padding. Batches group examples of similar length under a
token budget, in a seeded order, so padding is small and a run can be repeated exactly.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass

IGNORE_INDEX = -100  # the label of a position without loss (the PyTorch and Hugging Face convention)


@dataclass(frozen=True, slots=True)
class TokenizedExample:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # the input id where the model should learn to produce it, else IGNORE_INDEX

    @property
    def targets(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def tokenize(record: dict, tokenizer, max_tokens: int) -> TokenizedExample:
    """Token ids and labels of one local example; longer examples are cut at `max_tokens`."""
    encoding = tokenizer(record["text"], return_offsets_mapping=True, truncation=True, max_length=max_tokens)
    spans = record["targets"]
    labels = tuple(
        token if _inside(start, end, spans) else IGNORE_INDEX
        for token, (start, end) in zip(encoding["input_ids"], encoding["offset_mapping"], strict=True)
    )
    return TokenizedExample(tuple(encoding["input_ids"]), labels)


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


def _inside(start: int, end: int, spans: list[list[int]]) -> bool:
    return end > start and any(span_start <= start < span_end for span_start, span_end in spans)
