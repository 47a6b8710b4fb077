"""One rendering of a conversation, for training, generation and any exported chat template.

A turn is the speaker's header `Name:`, then ` text` (bubbles separated by line breaks), the end-of-turn marker
and a line break:

    Sam: hi<eot>
    Robin: yeah sure<eot>

The space after the colon belongs to the reply, not to the header, because the tokenizers of Gemma and most
BPE models put a word's leading space inside the word's token (`Robin: yeah` → `Robin`, `:`, `▁yeah`). So the
persona's targets in training start with its first word's token, and the prompt in generation ends right after
`Robin:`, exactly where training's targets begin.

The marker is the text `<eot>`, even where the tokenizer has an end-of-turn token of its own (Gemma's
`<end_of_turn>`). Measured on the demo chat after one epoch: with Gemma's token the clone rarely ended its turn
(43 words in 5 bubbles per reply against the person's 10 in 1.3; told apart from the real replies 96 % of the
time), because that token's embedding, which LoRA does not train, means "the assistant is done" to the base
model and almost never follows plain chat text. The text marker is spelled with ordinary tokens the model
already reads, and is learned within the epoch (15 words in 1.6 bubbles; told apart 56 % of the time).

A model with memory (`data.memory`) is shown a few of the persona's past exchanges first, each closed by a
`---` line, then the conversation; they are context, never targets:

    Alex: how was the gym<eot>
    Sam: brutal, leg day<eot>
    ---
    Alex: hey<eot>

Each piece is encoded on its own: training and generation see the very same token ids for the same
conversation, and a long history can be trimmed turn by turn in linear time.
"""

from collections.abc import Sequence
from dataclasses import dataclass

END_OF_TURN_TEXT = "<eot>"  # the end of every turn, in training, generation and text exports
IGNORE_INDEX = -100  # the label of a position without loss (the PyTorch and Hugging Face convention)
RECALLED_TURN_CHARACTERS = 240  # a recalled turn longer than this is shown cut


@dataclass(frozen=True, slots=True)
class Spoken:
    """One turn to render: who, what, and whether the model learns it (a persona turn with words)."""

    speaker: str
    text: str
    target: bool = False


def turn_text(speaker: str, text: str, marker: str = END_OF_TURN_TEXT) -> str:
    """A turn as text, the same layout the token renderer encodes piece by piece."""
    return f"{speaker}: {text}{marker}\n"


def target_span(speaker: str, text: str, marker: str = END_OF_TURN_TEXT) -> tuple[int, int]:
    """The [start, end) characters of `turn_text` a model learns: the reply from its leading space, and the marker."""
    start = len(speaker) + 1
    return start, start + 1 + len(text) + len(marker)


class Transcript:
    """Renders conversations into token ids with one tokenizer (a Hugging Face tokenizer or anything callable
    the same way)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.bos = [tokenizer.bos_token_id] if getattr(tokenizer, "bos_token_id", None) is not None else []
        self.marker = END_OF_TURN_TEXT
        self.marker_ids = self._encode(END_OF_TURN_TEXT)
        self._newline = self._encode("\n")
        self._separator = self._encode("---\n")

    @property
    def stop_token_id(self) -> int | None:
        """The marker's token id when it is a single token, for a sampler to stop at."""
        return self.marker_ids[0] if len(self.marker_ids) == 1 else None

    def header(self, speaker: str) -> list[int]:
        return self._encode(f"{speaker}:")

    def reply(self, text: str) -> list[int]:
        """What the model learns for a turn: its text from the leading space, and the end-of-turn marker."""
        return self._encode(f" {text}") + self.marker_ids

    def turn(self, speaker: str, text: str) -> list[int]:
        return self.header(speaker) + self.reply(text) + self._newline

    def recalled(self, exchanges: Sequence[tuple[Spoken, Spoken]], budget: int) -> list[int]:
        """The memory block: past (message, reply) exchanges, each closed by a `---` line, as many as fit in
        `budget` tokens."""
        ids: list[int] = []
        for said, reply in exchanges:
            block = [
                *self.turn(said.speaker, said.text[:RECALLED_TURN_CHARACTERS]),
                *self.turn(reply.speaker, reply.text[:RECALLED_TURN_CHARACTERS]),
                *self._separator,
            ]
            if len(ids) + len(block) > budget:
                break
            ids += block
        return ids

    def training(
        self, turns: Sequence[Spoken], context_tokens: int, memory: Sequence[int] = ()
    ) -> tuple[list[int], list[int]]:
        """(input ids, labels) of a window of turns after the `memory` block: labels are the ids of the target
        turns' replies, else IGNORE_INDEX. Cut at `context_tokens`."""
        ids, labels = [*self.bos, *memory], [IGNORE_INDEX] * (len(self.bos) + len(memory))
        for turn in turns:
            header, reply = self.header(turn.speaker), self.reply(turn.text)
            ids += header + reply + self._newline
            labels += [IGNORE_INDEX] * len(header)
            labels += reply if turn.target else [IGNORE_INDEX] * len(reply)
            labels += [IGNORE_INDEX] * len(self._newline)
        return ids[:context_tokens], labels[:context_tokens]

    def prompt(
        self, turns: Sequence[Spoken], persona: str, context_tokens: int, memory: Sequence[int] = ()
    ) -> list[int]:
        """The ids a model continues with the persona's next reply: the `memory` block, the newest turns that fit
        `context_tokens`, then the persona's header. A newest turn longer than the budget keeps its end."""
        opening = self.header(persona)
        budget = context_tokens - len(self.bos) - len(memory) - len(opening)
        kept: list[list[int]] = []
        used = 0
        for turn in reversed(turns):
            ids = self.turn(turn.speaker, turn.text)
            if kept and used + len(ids) > budget:
                break
            kept.append(ids)
            used += len(ids)
        history = [token for ids in reversed(kept) for token in ids]
        return [*self.bos, *memory, *history[max(0, len(history) - budget) :], *opening]

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]
