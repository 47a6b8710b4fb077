"""The clone's next turn, whatever computes the tokens: the conversation in the training format in, text out.

A conversation is rendered exactly as the model was trained (`render.Transcript`: `Name: text<marker>` turns,
bubbles separated by line breaks), followed by `Persona:`. An engine samples token ids after it (the torch
engine in `torch_engine`, llama.cpp in `llama_engine`); this class stops them at the end-of-turn marker, another
speaker's header or the token limit, and streams the text. A tail that could still become a stop marker is held
back, so a caller never sees a half marker. Light on purpose (no torch): the llama.cpp engine runs without it.

With a chooser (`chooser.Chooser`, see `choosing`), a turn is several sampled replies, each with its
log-probability after the conversation and after nothing at all, of which the chooser keeps one.
"""

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from gptisyou.data.memory import MEMORY_TOKENS, RECENT_TURNS, Memory
from gptisyou.data.render import END_OF_TURN_TEXT, Spoken, Transcript
from gptisyou.engine.responder import Line, Sampling, Usage

_SEED_STRIDE = 1_000_003  # candidate i of a seeded turn draws with seed + i · this: never another turn's seed
DRAWS = 4  # times a turn is drawn at most while it comes out empty (a person never sends an empty message)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sampled reply, with what a chooser weighs it by."""

    text: str
    logprob: float  # log p(reply | the conversation) under the clone, its tokens summed
    prior: float  # log p(reply) as a turn with no conversation before it: generic replies score high on both
    usage: Usage


class Clone:
    """Writes as `persona` with the token ids an engine samples (`_token_ids`, which subclasses provide). Not
    thread-safe: one generation at a time."""

    engine = "none"  # what computes the tokens, for people and metrics.json

    def __init__(
        self, tokenizer, persona: str, max_context_tokens: int = 1024, memory: Memory | None = None, recall: int = 0
    ) -> None:
        self.tokenizer, self.persona = tokenizer, persona
        self.max_context_tokens = max_context_tokens
        self.memory, self.recall = memory, recall  # what the persona wrote before, and how much of it to show
        self.chooser, self.candidate_count = None, 1  # see `choosing`
        self.transcript = Transcript(tokenizer)
        # the turn ends at the marker token, or at the end-of-sequence one
        self._stop_ids = {self.transcript.stop_token_id, tokenizer.eos_token_id} - {None}

    def stream(
        self,
        history: Sequence[Line],
        sampling: Sampling = Sampling(),
        usage: Usage | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        """Pieces of text of the persona's next turn, as they are sampled; `cancelled()` stops it early. The
        reply a chooser keeps (see `choosing`) comes in one piece."""
        if self.chooser is not None:
            candidates = self.candidates(history, sampling, self.candidate_count, cancelled)
            if candidates and not cancelled():
                best = candidates[self.chooser.best(candidates)]
                if usage is not None:
                    for field in dataclasses.fields(Usage):
                        setattr(usage, field.name, getattr(best.usage, field.name))
                if best.text:
                    yield best.text
            return
        yield from self._sampled(history, sampling, usage or Usage(), cancelled)

    def choosing(self, chooser, count: int) -> None:
        """From now on, each turn is the reply `chooser` (a chooser.Chooser) keeps of `count` sampled ones; with
        a count of one, the first sample, as without a chooser."""
        self.chooser, self.candidate_count = (chooser, count) if count > 1 else (None, 1)

    def candidates(
        self, history: Sequence[Line], sampling: Sampling, count: int, cancelled: Callable[[], bool] = lambda: False
    ) -> list[Candidate]:
        """`count` replies to the same conversation, each drawn as a single reply would be (the first exactly as
        one, seed included)."""
        found = []
        for index in range(count):
            seed = None if sampling.seed is None else sampling.seed + index * _SEED_STRIDE
            usage = Usage()
            text = "".join(self._sampled(history, dataclasses.replace(sampling, seed=seed), usage, cancelled)).strip()
            if cancelled():
                break
            found.append(Candidate(text, usage.logprob, self.prior(text), usage))
        return found

    def likelihood(self, history: Sequence[Line], text: str) -> float:
        """log p(`text` as the persona's next turn | the conversation), its end marker included."""
        return self._logprob(self._prompt_ids(history), self.transcript.reply(text))

    def prior(self, text: str) -> float:
        """log p(`text` as the persona's turn | nothing before it)."""
        return self._logprob(self._opening(), self.transcript.reply(text))

    def _opening(self) -> list[int]:
        return self.transcript.prompt([], self.persona, self.max_context_tokens)

    def _sampled(self, history: Sequence[Line], sampling: Sampling, usage: Usage, cancelled: Callable[[], bool]):
        """One sampled reply, piece by piece; never empty while `DRAWS` draws can help it. A draw that ends the
        turn before a word is said gives out nothing, so drawing again is invisible to a reader of the stream."""
        for draw in range(DRAWS):
            seed = None if sampling.seed is None else sampling.seed + draw
            for field in dataclasses.fields(Usage):  # what the kept draw cost and how likely it was
                setattr(usage, field.name, field.default)
            said = False
            for piece in self._drawn(history, dataclasses.replace(sampling, seed=seed), usage, cancelled):
                said = True
                yield piece
            if said or cancelled():
                return

    def _drawn(self, history: Sequence[Line], sampling: Sampling, usage: Usage, cancelled: Callable[[], bool]):
        """One draw of a reply, piece by piece, from its first visible character."""
        speakers = {line.speaker for line in history if line.speaker != self.persona}
        markers = {END_OF_TURN_TEXT, self.transcript.marker}  # as text too: a sampler may spell the marker out
        stops = [*sorted(markers), *(f"\n{speaker}:" for speaker in sorted(speakers)), *filter(None, sampling.stop)]
        prompt = self._prompt_ids(history)
        usage.prompt_tokens = len(prompt)
        held = ""  # sampled text not yet given out: it could be the start of a stop marker
        started = False
        for piece in self._tokens_as_text(prompt, sampling, usage):
            held += piece
            cut = min((held.find(stop) for stop in stops if stop in held), default=-1)
            if cut >= 0:
                held, usage.finish_reason = held[:cut], "stop"
                break
            safe = len(held) - _longest_stop_prefix(held, stops)
            if not started:  # the reply begins at its first visible character ("\n" may yet start "\nBob:")
                lead = safe - len(held[:safe].lstrip())
                held, safe = held[lead:], safe - lead
                started = safe > 0
            if safe:
                yield held[:safe]
                held = held[safe:]
            if cancelled():
                return
        if usage.finish_reason != "stop":  # cut at the token limit: never end in half a marker ("18000<eot")
            held = held[: len(held) - _longest_stop_prefix(held, stops)]
        if tail := held.rstrip() if started else held.strip():
            yield tail

    def reply(self, history: Sequence[Line], sampling: Sampling = Sampling()) -> str:
        return "".join(self.stream(history, sampling)).strip()

    def _prompt_ids(self, history: Sequence[Line]) -> list[int]:
        """The conversation as training rendered it, the newest turns that fit the context, then `Persona:`."""
        turns = [Spoken(line.speaker, line.text) for line in history]
        return self.transcript.prompt(turns, self.persona, self.max_context_tokens, self.memory_block(history))

    def memory_block(self, history: Sequence[Line]) -> list[int]:
        """The memory block: the persona's past replies to messages like the other people's latest ones."""
        if not self.memory or not self.recall:
            return []
        messages = [line.text for line in history[-RECENT_TURNS:] if line.speaker != self.persona]
        exchanges = self.memory.recall(messages, self.recall)
        return self.transcript.recalled([exchange.spoken() for exchange in exchanges], MEMORY_TOKENS)

    def _tokens_as_text(self, prompt: list[int], sampling: Sampling, usage: Usage) -> Iterator[str]:
        """Decoded text, piece by piece, sampled after `prompt` until a stop token or the token limit."""
        new, printed = [], ""
        for token, logprob in itertools.islice(self._token_ids(prompt, sampling), sampling.max_new_tokens):
            usage.logprob += logprob
            if token in self._stop_ids:
                usage.finish_reason = "stop"
                return
            new.append(token)
            usage.completion_tokens += 1
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            if not text.endswith("\ufffd"):  # a multi-byte character is complete
                yield text[len(printed) :]
                printed = text

    def _token_ids(self, prompt: list[int], sampling: Sampling) -> Iterator[tuple[int, float]]:
        """(token id, its log-probability under the model) sampled after `prompt`, one at a time, for as long as
        they are asked for."""
        raise NotImplementedError

    def _logprob(self, prompt: list[int], continuation: list[int]) -> float:
        """log p(`continuation` | `prompt`) under the model, its tokens summed."""
        raise NotImplementedError


def spoken_vocabulary(tokenizer, texts: Iterable[str]) -> list[int]:
    """The token ids of `texts` (the persona's chats), the end-of-turn marker's and every special token's: what a
    clone may say when its replies are kept to the tokens the person uses."""
    ids = set(tokenizer.all_special_ids) | set(Transcript(tokenizer).marker_ids)
    for text in texts:
        ids.update(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids.update(tokenizer(" " + text, add_special_tokens=False)["input_ids"])
    return sorted(ids)


def _longest_stop_prefix(text: str, stops: list[str]) -> int:
    """How many trailing characters of `text` could be the start of a stop marker."""
    return max((n for stop in stops for n in range(1, len(stop)) if text.endswith(stop[:n])), default=0)
