from datetime import datetime

import pytest
import tokenizers
import transformers

from gptisyou.data.conversations import Turn
from gptisyou.data.dataset import Example
from gptisyou.data.render import Transcript
from gptisyou.train.batches import IGNORE_INDEX, TokenizedExample, batches, collate, tokenize


@pytest.fixture(scope="module")
def tokenizer():
    words = ["[PAD]", "[UNK]", "Ann", "Bob", ":", "hi", "there", "yes", "<eot>"]
    model = tokenizers.models.WordLevel({word: index for index, word in enumerate(words)}, unk_token="[UNK]")
    backend = tokenizers.Tokenizer(model)
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Sequence(
        [
            tokenizers.pre_tokenizers.WhitespaceSplit(),
            tokenizers.pre_tokenizers.Split(tokenizers.Regex(r"<eot>|\w+|[^\w\s]"), "isolated"),
        ]
    )
    return transformers.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]")


def _turns(*spoken: tuple[str, str]) -> Example:
    at = datetime(2024, 1, 1)
    return Example(1, tuple(Turn(speaker, (text,), at, at, text != "<photo>") for speaker, text in spoken))


def test_labels_cover_exactly_the_persona_replies(tokenizer):
    example = tokenize(_turns(("Ann", "hi there"), ("Bob", "yes")), "Bob", Transcript(tokenizer), context_tokens=64)
    #                          Ann  :  hi there <eot> Bob  :  yes <eot>
    assert example.input_ids == (2, 4, 5, 6, 8, 3, 4, 7, 8)
    assert example.labels == (IGNORE_INDEX,) * 7 + (7, 8)
    assert example.targets == 2


def test_long_examples_are_cut(tokenizer):
    example = tokenize(_turns(*[("Ann", "hi there")] * 10), "Ann", Transcript(tokenizer), context_tokens=7)
    assert len(example.input_ids) == len(example.labels) == 7


def _example(length: int, targets: int = 1) -> TokenizedExample:
    labels = (IGNORE_INDEX,) * (length - targets) + (1,) * targets
    return TokenizedExample(tuple(range(length)), labels)


def test_batches_group_lengths_under_the_budget_in_a_seeded_order():
    examples = [_example(length) for length in (5, 9, 6, 20, 8, 7, 19)] + [_example(4, targets=0)]
    grouped = batches(examples, max_batch_tokens=24, seed=1)
    assert sorted(len(e.input_ids) for batch in grouped for e in batch) == [5, 6, 7, 8, 9, 19, 20]  # no target: out
    assert all(len(batch) * max(len(e.input_ids) for e in batch) <= 24 or len(batch) == 1 for batch in grouped)
    assert grouped == batches(examples, max_batch_tokens=24, seed=1)
    assert [[len(e.input_ids) for e in b] for b in grouped] != [
        [len(e.input_ids) for e in b] for b in batches(examples, 24, seed=2)
    ]


def test_collate_pads_right_with_ignored_labels():
    batch = collate([TokenizedExample((5, 6, 7), (-100, 6, 7)), TokenizedExample((8,), (8,))], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]


def test_a_validation_sample_spans_the_whole_held_out_period():
    from gptisyou.train.batches import TokenizedExample
    from gptisyou.train.evaluation import spread

    examples = [TokenizedExample(tuple(range(100)), (-100,) * 99 + (n,)) for n in range(100)]  # 10,000 tokens
    sample = spread(examples, 1000)
    assert [example.labels[-1] for example in sample] == list(range(0, 100, 10))  # every tenth, first to last
    assert spread(examples, 20_000) == examples
