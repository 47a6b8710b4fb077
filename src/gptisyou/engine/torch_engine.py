"""The torch engine: a causal LM from transformers, sampled token by token with a KV cache (temperature, top-p,
seeded), its vocabulary head optionally cut down to the tokens the person uses (`SpokenHead`)."""

from collections.abc import Iterable, Iterator, Sequence

import torch

from gptisyou.data.memory import Memory
from gptisyou.engine.clone import Clone, spoken_vocabulary
from gptisyou.engine.device import autocast_dtype, default_device, quiet_transformers
from gptisyou.engine.responder import Sampling
from gptisyou.store.runs import Run


class TorchClone(Clone):
    """A causal LM (tuned or base) that writes as `persona`. Not thread-safe: one generation at a time."""

    engine = "torch"

    def __init__(
        self,
        model,
        tokenizer,
        persona: str,
        max_context_tokens: int = 1024,
        memory: Memory | None = None,
        recall: int = 0,
        vocabulary: Sequence[int] | None = None,
    ) -> None:
        super().__init__(tokenizer, persona, max_context_tokens, memory, recall)
        self.model = model
        self.head = SpokenHead(model, vocabulary) if vocabulary is not None else None

    @torch.inference_mode()
    def _token_ids(self, prompt: list[int], sampling: Sampling) -> Iterator[tuple[int, float]]:
        self.model.eval()
        device = self.model.device
        generator = torch.Generator(device=device)
        if sampling.seed is None:
            generator.seed()
        else:
            generator.manual_seed(sampling.seed)
        ids, cache = torch.tensor([prompt], device=device), None
        while True:
            output, logits = self._next_logits(ids, cache)
            chosen = _sample(logits, sampling, generator)
            token = int(self.head.ids[chosen]) if self.head else chosen
            cache = output.cache
            yield token, float(torch.log_softmax(logits, dim=-1)[chosen])
            ids = torch.tensor([[token]], device=device)

    @torch.inference_mode()
    def _logprob(self, prompt: list[int], continuation: list[int]) -> float:
        self.model.eval()
        ids = torch.tensor([prompt + continuation], device=self.model.device)
        if self.head:
            hidden = _decoder(self.model)(input_ids=ids).last_hidden_state[0, len(prompt) - 1 : -1]
            logits, targets = self.head.logits(hidden), self.head.positions(continuation)
        else:
            logits = self.model(input_ids=ids).logits[0, len(prompt) - 1 : -1].float()
            targets = torch.tensor(continuation, device=logits.device)
        chosen = torch.log_softmax(logits, dim=-1).gather(1, targets.clamp(min=0)[:, None])[:, 0]
        return float(torch.where(targets >= 0, chosen, UNSPEAKABLE).sum())

    def _next_logits(self, ids: torch.Tensor, cache):
        """(the model's output, the logits of the next token over what the clone can say)."""
        if self.head:
            output = _decoder(self.model)(input_ids=ids, cache=cache, use_cache=True)
            return output, self.head.logits(output.last_hidden_state[0, -1])
        # the vocabulary head at the last position only: the prompt's other rows are never needed
        output = self.model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
        return output, output.logits[0, -1].float()


UNSPEAKABLE = -30.0  # the log-probability given to a token outside the clone's vocabulary


def _decoder(model):
    """The transformer under the vocabulary head: a causal LM's, or, for a peft model in training, its base's."""
    return (model.get_base_model() if hasattr(model, "get_base_model") else model).model


class SpokenHead:
    """The vocabulary head cut down to the tokens the clone can say: the tokens of the chats it learned from and
    the special ones. Gemma's head has 262,144 rows, more weights than the rest of the 270M model; a person's
    chats use a few thousand of them, and reading only those rows is most of a token's time saved."""

    def __init__(self, model, vocabulary: Sequence[int]) -> None:
        weight = model.get_output_embeddings().weight
        self.ids = torch.tensor(sorted(set(vocabulary)), device=weight.device)
        self.weight = weight.detach()[self.ids].contiguous()
        self.softcap = getattr(model.config, "final_logit_softcapping", None)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The logits of the tokens the clone can say (in `ids` order) for hidden states (…, hidden size)."""
        logits = (hidden @ self.weight.T).float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def positions(self, tokens: Sequence[int]) -> torch.Tensor:
        """Where each token id is in `ids`; -1 for one the clone cannot say."""
        where = torch.searchsorted(self.ids, torch.tensor(tokens, device=self.ids.device))
        inside = where.clamp(max=len(self.ids) - 1)
        return torch.where(self.ids[inside] == torch.tensor(tokens, device=self.ids.device), inside, -1)


def load(
    run: Run,
    persona: str,
    base_only: bool = False,
    dtype: torch.dtype | None = None,
    style_strength: float = 1.0,
    memory: Memory | None = None,
    said: Iterable[str] | None = None,
) -> TorchClone:
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
    recall = run.config().memory
    if not base_only:
        with styled(model, style_strength):
            plain = model.merge_and_unload()
    else:
        plain = model.unload()
    vocabulary = spoken_vocabulary(tokenizer, said) if said is not None else None
    return TorchClone(plain, tokenizer, persona, memory=memory, recall=recall, vocabulary=vocabulary)


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
    base = AutoModelForCausalLM.from_pretrained(run.config().base_directory, dtype=dtype)
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
