"""The clone's next turn: the conversation so far in the training format, sampled token by token.

A conversation is rendered exactly as the model was trained (`render.Transcript`: `Name: text<marker>` turns,
bubbles separated by line breaks), followed by `Persona:`. Tokens are sampled with a KV cache (temperature, top-p, seeded) until the
end-of-turn marker, another speaker's header, or the token limit. Text is streamed as it is produced; a tail
that could still become a stop marker is held back, so a caller never sees a half marker.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence

import torch

from gptisyou.data.memory import MEMORY_TOKENS, RECENT_TURNS, Memory
from gptisyou.data.render import END_OF_TURN_TEXT, Spoken, Transcript
from gptisyou.engine.device import autocast_dtype, default_device, quiet_transformers
from gptisyou.engine.types import Line, Sampling, Usage
from gptisyou.runs import Run


class Clone:
    """A causal LM (tuned or base) that writes as `persona`. Not thread-safe: one generation at a time."""

    def __init__(self, model, tokenizer, persona: str, max_context_tokens: int = 1024, memory: Memory | None = None,
                 recall: int = 0, vocabulary: Sequence[int] | None = None) -> None:  # fmt: skip
        self.model, self.tokenizer, self.persona = model, tokenizer, persona
        self.max_context_tokens = max_context_tokens
        self.memory, self.recall = memory, recall  # what the persona wrote before, and how much of it to show
        self.head = SpokenHead(model, vocabulary) if vocabulary is not None else None
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
        """Pieces of text of the persona's next turn, as they are sampled; `cancelled()` stops it early."""
        usage = usage or Usage()
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
            if not started:  # the reply begins with the space that follows `Persona:`
                held = held.lstrip(" ")
                started = bool(held)
            safe = len(held) - _longest_stop_prefix(held, stops)
            if safe:
                yield held[:safe]
                held = held[safe:]
            if cancelled():
                return
        if usage.finish_reason != "stop":  # cut at the token limit: never end in half a marker ("18000<eot")
            held = held[: len(held) - _longest_stop_prefix(held, stops)]
        if held.rstrip():
            yield held.rstrip()

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

    @torch.inference_mode()
    def _tokens_as_text(self, prompt: list[int], sampling: Sampling, usage: Usage) -> Iterator[str]:
        """Decoded text, piece by piece, sampled after `prompt`."""
        self.model.eval()
        device = self.model.device
        generator = torch.Generator(device=device)
        if sampling.seed is None:
            generator.seed()
        else:
            generator.manual_seed(sampling.seed)
        ids = torch.tensor([prompt], device=device)
        cache, new, printed = None, [], ""
        for _ in range(sampling.max_new_tokens):
            if self.head:
                output = self.model.model(input_ids=ids, cache=cache, use_cache=True)
                token = self.head.sample(output.last_hidden_state[0, -1], sampling, generator)
            else:  # the vocabulary head at the last position only: the prompt's other rows are never needed
                output = self.model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
                token = _sample(output.logits[0, -1].float(), sampling, generator)
            cache = output.cache
            if token in self._stop_ids:
                usage.finish_reason = "stop"
                return
            new.append(token)
            usage.completion_tokens += 1
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            if not text.endswith("\ufffd"):  # a multi-byte character is complete
                yield text[len(printed) :]
                printed = text
            ids = torch.tensor([[token]], device=device)


class SpokenHead:
    """The vocabulary head cut down to the tokens the clone can say: the tokens of the chats it learned from and
    the special ones. Gemma's head has 262,144 rows, more weights than the rest of the 270M model; a person's
    chats use a few thousand of them, and reading only those rows is most of a token's time saved."""

    def __init__(self, model, vocabulary: Sequence[int]) -> None:
        weight = model.get_output_embeddings().weight
        self.ids = torch.tensor(sorted(set(vocabulary)), device=weight.device)
        self.weight = weight.detach()[self.ids].contiguous()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)

    def sample(self, hidden: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
        logits = (hidden @ self.weight.T).float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return int(self.ids[_sample(logits, sampling, generator)])


def spoken_vocabulary(tokenizer, texts: Iterable[str]) -> list[int]:
    """The token ids of `texts` (the persona's chats), the end-of-turn marker's and every special token's."""
    ids = set(tokenizer.all_special_ids) | set(Transcript(tokenizer).marker_ids)
    for text in texts:
        ids.update(tokenizer(text, add_special_tokens=False)["input_ids"])
        ids.update(tokenizer(" " + text, add_special_tokens=False)["input_ids"])
    return sorted(ids)


def load(run: Run, persona: str, base_only: bool = False, dtype: torch.dtype | None = None,
         style_strength: float = 1.0, memory: Memory | None = None,
         said: Iterable[str] | None = None) -> Clone:  # fmt: skip
    """The run's base model with its adapter merged in (or the base alone), ready to generate.

    `style_strength` scales what the adapter adds to the base (its LoRA update): 1 is the model as trained, more
    amplifies the person's habits over the base model's, 0 is the base model. A run trained with memory recalls
    from `memory` as many exchanges as it was trained with. With `said` (the texts of the chats), replies use only
    the tokens those texts use, through a head of their rows alone (`SpokenHead`): faster on a CPU.

    On a CPU with native bf16 (AVX-512 bf16, AMX) the weights are bf16: one token at a time reads every weight
    once, so half the bytes is nearly twice the speed (8.6 → 17 tokens/s on 2 cores). On a GPU a small model is
    bound by kernel launches, not bytes, and fp32 measured faster (H100: 44 against 28 tokens/s), so fp32.

    Raises:
        InputError: the run has no adapter.
    """
    device = default_device()
    dtype = dtype or (autocast_dtype(device) if device.type == "cpu" else None) or torch.float32
    model, tokenizer = load_tuned(run, device, dtype)
    recall = run.config()["train"].get("memory", 0)
    if not base_only:
        with styled(model, style_strength):
            plain = model.merge_and_unload()
    else:
        plain = model.unload()
    vocabulary = spoken_vocabulary(tokenizer, said) if said is not None else None
    return Clone(plain, tokenizer, persona, memory=memory, recall=recall, vocabulary=vocabulary)


def styled(model, style_strength: float):
    """A context in which the peft `model`'s adapter updates are scaled by `style_strength`."""
    from peft.helpers import rescale_adapter_scale

    return rescale_adapter_scale(model, float(style_strength))


def load_tuned(run: Run, device: torch.device | None = None, dtype: torch.dtype = torch.float32):
    """(the run's base model with its best adapter, as a peft model; the tokenizer): the one loader of a run.

    Raises:
        InputError: the run has no adapter.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run.require_adapter()
    quiet_transformers()
    base = AutoModelForCausalLM.from_pretrained(run.config()["base_directory"], dtype=dtype)
    model = PeftModel.from_pretrained(base.to(device or default_device()), run.adapter)
    return model, AutoTokenizer.from_pretrained(run.adapter)


def _sample(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
    if sampling.temperature <= 0:
        return int(logits.argmax())
    probabilities = torch.softmax(logits / sampling.temperature, dim=-1)
    ordered, order = probabilities.sort(descending=True)
    # keep the smallest set of tokens whose probability reaches top_p (always at least the first)
    outside = ordered.cumsum(0) - ordered > sampling.top_p
    ordered[outside] = 0
    choice = torch.multinomial(ordered, 1, generator=generator)
    return int(order[choice])


def _longest_stop_prefix(text: str, stops: list[str]) -> int:
    """How many trailing characters of `text` could be the start of a stop marker."""
    return max((n for stop in stops for n in range(1, len(stop)) if text.endswith(stop[:n])), default=0)
