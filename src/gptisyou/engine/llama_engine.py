"""The llama.cpp engine (the `fast` extra, llama-cpp-python): the run's base GGUF with its adapter as a llama.cpp
LoRA, at llama.cpp's speed.

The base is the very GGUF the run was trained from (its 4-bit weights, as training saw them once dequantized);
the adapter is written once per run as a LoRA GGUF (`<run>/engine/`, named by the adapter's checksum) and
applied by llama.cpp at `style_strength` scale, so a second `chat` starts at once. Prompts are the same token
ids the torch engine builds, the same `Clone` stops and streams the turn, and the tokens are drawn as the torch
engine draws them (the person's tokens, then the temperature, then top-p): only the random numbers differ.
"""

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from gptisyou.checksums import sha256_of
from gptisyou.data.memory import Memory
from gptisyou.engine.clone import Clone, spoken_vocabulary
from gptisyou.engine.responder import Sampling
from gptisyou.errors import InputError, MissingExtra, UnusableExtra
from gptisyou.store.runs import Run
from gptisyou.store.workspace import built_whole, ensure_private_dir

CONTEXT_TOKENS = 2048  # the prompt (at most 1,024 tokens of conversation, the memory block) and the reply
PRIOR_TOKENS = 192  # the context of the model that weighs a reply alone (`LlamaClone.prior`): header and reply


class LlamaClone(Clone):
    """A GGUF model in llama.cpp that writes as `persona`. Not thread-safe: one generation at a time."""

    engine = "llama.cpp"

    def __init__(
        self,
        llama,
        tokenizer,
        persona: str,
        max_context_tokens: int = 1024,
        memory: Memory | None = None,
        recall: int = 0,
        vocabulary: Sequence[int] | None = None,
        alone: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(tokenizer, persona, max_context_tokens, memory, recall)
        self.llama = llama
        size = llama.n_vocab()
        self.vocabulary = None if vocabulary is None else sorted({i for i in vocabulary if i < size})
        self._alone = alone  # makes the second model `prior` weighs replies with, the first time it is needed

    def _token_ids(self, prompt: list[int], sampling: Sampling) -> Iterator[tuple[int, float]]:
        seed = sampling.seed if sampling.seed is not None else int.from_bytes(os.urandom(4))
        yield from self._generated(prompt, _sampler_chain(sampling, seed, self.vocabulary))

    def _logprob(self, prompt: list[int], continuation: list[int]) -> float:
        """Of a continuation longer than the context leaves room for (a real turn of hundreds of words), the
        tokens that fit are weighed: llama.cpp cannot evaluate past its context."""
        continuation = continuation[: _room(self.llama) - len(prompt)]
        chain = _sampler_chain(Sampling(temperature=0), 0, None, forced=continuation)
        steps = zip(continuation, self._generated(prompt, chain), strict=False)
        return sum(logprob for _, (_, logprob) in steps)

    def _generated(self, prompt: list[int], chain) -> Iterator[tuple[int, float]]:
        """(token, log-probability) drawn by `chain` after `prompt`. llama.cpp keeps the KV cache of the previous
        prompt and evaluates only what follows their common prefix."""
        import llama_cpp

        # generate() builds llama-cpp-python's fixed chain here (top-p before the temperature): ours instead
        self.llama._init_sampler = lambda **_settings: chain
        size = self.llama.n_vocab()
        for token in self.llama.generate(prompt, reset=True):
            # the logits the token was drawn from: the last row the context computed
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llama.ctx, -1), shape=(size,))
            yield token, float(logits[token] - _logsumexp(logits))

    def prior(self, text: str) -> float:
        """log p(`text` | nothing before it) from a second, small context that keeps every position's logits: the
        conversation's KV cache in the first stays as it is, and the reply is weighed in one pass."""
        if self._alone is None:
            return super().prior(text)
        if not isinstance(self._alone, _Alone):
            self._alone = _Alone(self._alone())
        return self._alone.logprob(self._opening(), self.transcript.reply(text))


def _room(llama) -> int:
    """The tokens a llama.cpp context can evaluate: llama.cpp rounds its context up (192 to 256), but
    llama-cpp-python keeps the tokens in an array of the size asked for."""
    return min(llama.n_ctx(), len(llama.input_ids))


class _Alone:
    """A llama.cpp model with every position's logits, for short texts weighed in one pass."""

    def __init__(self, llama) -> None:
        self.llama = llama

    def logprob(self, prompt: list[int], continuation: list[int]) -> float:
        ids = (prompt + continuation)[: _room(self.llama)]
        self.llama.reset()
        self.llama.eval(ids)
        rows = self.llama.scores[len(prompt) - 1 : len(ids) - 1]
        targets = np.asarray(ids[len(prompt) :])
        return float((rows[np.arange(len(targets)), targets] - _logsumexp(rows, axis=1)).sum())


def _logsumexp(logits, axis=None):
    top = logits.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def _sampler_chain(sampling: Sampling, seed: int, vocabulary: list[int] | None, forced: Sequence[int] = ()):
    """llama.cpp's samplers in the torch engine's order: the tokens the clone may say, then the temperature, then
    the top-p cut, then the draw. llama-cpp-python's own chain cuts the nucleus before the temperature, which
    below 1 keeps a wider nucleus and more stray tokens than torch does. With `forced`, it draws those tokens in turn
    (their log-probabilities are what is wanted)."""
    from llama_cpp._internals import LlamaSampler

    chain = LlamaSampler()
    if vocabulary is not None:
        chain.add_custom(_keep_only(vocabulary))
    if forced:
        tokens = iter(forced)
        chain.add_custom(lambda candidates: _keep_only([next(tokens, forced[-1])])(candidates))
    if sampling.temperature <= 0:
        chain.add_greedy()
    else:
        chain.add_temp(sampling.temperature)
        chain.add_top_p(sampling.top_p, 1)
        chain.add_dist(seed)
    return chain


def _keep_only(vocabulary: list[int]) -> Callable:
    """A sampler that keeps the candidates of `vocabulary` alone. At the head of the chain the candidates are every
    token in id order, so they are gathered by id to the front and the rest cut off: the later samplers then sort
    a few thousand candidates instead of 262,144, and Python touches no more than those."""
    ids = np.asarray(vocabulary)

    def keep(candidates) -> None:
        array = candidates.contents
        data = np.ctypeslib.as_array(array.data, shape=(array.size,))
        data[: len(ids)] = data[ids]
        array.size = len(ids)

    return keep


def installed() -> bool:
    """Whether llama-cpp-python can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except ImportError:  # an import hook that hides the module
        return False


@functools.cache
def has_amx_kernels() -> bool:
    """Whether the installed llama.cpp was built with ggml's AMX kernels (a native build on an AMX CPU). They crash
    in their first matrix product on some AMX CPUs (ggml-org/llama.cpp#20824: every reply of the default model, on
    one of the machines this project is tested on), and no runtime switch turns them off: `make fast` builds
    without them."""
    import llama_cpp

    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


def runs_on(run: Run) -> bool:
    """Whether llama.cpp can run this run: installed in a build that runs here, and the run's base is a GGUF file
    still on disk."""
    return installed() and not has_amx_kernels() and _base_gguf(run) is not None


def check(run: Run) -> Path:
    """The run's base GGUF, once it is sure llama.cpp can run the run.

    Raises:
        MissingExtra: llama-cpp-python is not installed.
        UnusableExtra: it was built with the AMX kernels that crash (see `has_amx_kernels`).
        InputError: the run's base is not a GGUF file.
    """
    if not installed():
        raise MissingExtra("fast", "the llama.cpp engine")
    if has_amx_kernels():
        raise UnusableExtra(
            "this llama-cpp-python was built with llama.cpp's AMX kernels, which crash on AMX CPUs "
            "(llama.cpp#20824): rebuild it without them (`make fast`, or CFLAGS=-mno-amx-int8 "
            "CXXFLAGS=-mno-amx-int8 pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python), "
            "or use --engine torch"
        )
    gguf = _base_gguf(run)
    if gguf is None:
        raise InputError(f"--engine llama.cpp runs a GGUF base; {run.name} was trained on a model directory")
    return gguf


def load(
    run: Run,
    persona: str,
    base_only: bool = False,
    style_strength: float = 1.0,
    memory: Memory | None = None,
    max_context_tokens: int = 1024,
    said: Iterable[str] | None = None,
) -> LlamaClone:
    """The run's base GGUF in llama.cpp, with its adapter at `style_strength` (none with `base_only`). With `said`
    (the texts of the chats), replies use only the tokens those texts use, as the torch engine's do.

    Raises:
        MissingExtra: llama-cpp-python is not installed.
        InputError: the run's base is not a GGUF file, or it has no adapter.
    """
    gguf = check(run)
    run.require_adapter()
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    lora = None if base_only or style_strength == 0 else str(adapter_gguf(run, gguf))
    _errors_only_in_logs()
    model = functools.partial(
        Llama,
        model_path=str(gguf),
        lora_path=lora,
        lora_scale=style_strength,
        n_threads=os.cpu_count(),
        n_threads_batch=os.cpu_count(),
        verbose=False,
    )
    recall = run.config().memory
    tokenizer = AutoTokenizer.from_pretrained(run.adapter)
    vocabulary = spoken_vocabulary(tokenizer, said) if said is not None else None
    alone = functools.partial(model, n_ctx=PRIOR_TOKENS, n_batch=PRIOR_TOKENS, logits_all=True)
    return LlamaClone(
        model(n_ctx=CONTEXT_TOKENS), tokenizer, persona, max_context_tokens, memory, recall, vocabulary, alone
    )


@functools.cache
def _errors_only_in_logs():
    """Keep llama.cpp's errors on stderr and drop its notices: `verbose=False` hushes the model's loading only, and
    the context and LoRA set-up still printed dozens of lines ("using full-size SWA cache", "cannot use buft
    'CPU_REPACK'") into the terminal the user chats in."""
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def errors_only(level: int, text: bytes, _user_data) -> None:
        if level == 4:  # GGML_LOG_LEVEL_ERROR in the ggml of llama-cpp-python ≥ 0.3.36 (its own table is older)
            sys.stderr.write(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(errors_only, ctypes.c_void_p(0))
    return errors_only  # llama.cpp keeps calling it: the cache keeps it alive


def adapter_gguf(run: Run, base: Path) -> Path:
    """The run's adapter as a llama.cpp LoRA GGUF, written the first time and reused while the adapter is the same."""
    from gptisyou.engine import gguf_file

    directory = ensure_private_dir(run.directory / "engine", inside=run.directory)
    path = directory / f"lora-{sha256_of(run.adapter / 'adapter_model.safetensors')[:16]}.gguf"
    if not path.is_file():
        for stale in directory.glob("lora-*.gguf"):
            stale.unlink()
        with built_whole(path) as partial:
            gguf_file.lora_adapter(base, run.adapter, partial)
    return path


def _base_gguf(run: Run) -> Path | None:
    from gptisyou.store.models import source_gguf

    return source_gguf(run.config().base_directory)
