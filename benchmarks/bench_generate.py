"""Generation speed: time to first token and tokens/s of the 270M model, gptisyou's engines against llama.cpp.

    python benchmarks/bench_generate.py [--tokens 64] [--repeats 5]

On the same GGUF file (the embedded Gemma 3 270M, Q4_K_M) and the same prompt (a chat of about 300 tokens),
`--tokens` tokens greedily, each from an empty KV cache; the median of `--repeats` rounds, each round running
every contestant once, so that a shared machine's drift touches all of them alike:
- llama.cpp itself (llama-cpp-python's `generate`): the peer, without and with a LoRA adapter (rank 16 on every
  linear layer, as `train` makes; random) applied at run time;
- gptisyou's llama.cpp engine (`--engine llama.cpp`): the same library, the same adapter, through our prompt,
  stop and streaming code;
- gptisyou's torch engine (transformers with a KV cache, from the base converted once into benchmarks/.data/),
  fp32 and bf16, with the full vocabulary head and with the head of the tokens the person uses (`chat` and
  `serve` do that). It reads dequantized weights: four to eight times the bytes of the 4-bit GGUF per token.
llama-cpp-python comes from the `fast` extra; without it the script installs it into benchmarks/.peers-llama/
(pip compiles llama.cpp: minutes) or, failing that, measures the torch engine alone.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from machine import describe  # benchmarks/machine.py
from rich.progress import track

from gptisyou.engine.clone import spoken_vocabulary
from gptisyou.engine.llama_engine import CONTEXT_TOKENS, LlamaClone, has_amx_kernels
from gptisyou.engine.responder import Line, Sampling, Usage
from gptisyou.engine.torch_engine import TorchClone
from gptisyou.sources.sample import sample_messages
from gptisyou.store import models as base

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
LLAMA = HERE / ".peers-llama"
HISTORY = [
    Line("Sam", "hey! are you around this weekend?"),
    Line("Alex", "hii\nyeah I think so, why?"),
    Line("Sam", "there's this new ramen place near the station, want to try it on saturday?"),
    Line("Alex", "omg yes\nI've been wanting ramen for weeks"),
    Line("Sam", "perfect. 7pm? I can book a table"),
    Line("Alex", "7 works\ncan we invite Jordan too? they just got back from Lisbon"),
    Line("Sam", "sure! how was the trip, did they say?"),
    Line("Alex", "apparently amazing, lots of pastel de nata and hills lol"),
    Line("Sam", "haha classic. ok I'll book for three then"),
] * 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--base", type=Path, help="a model directory instead of the embedded model (no llama.cpp)")
    parser.add_argument("--skip-llama", action="store_true", help="measure the torch engine alone")
    args = parser.parse_args()
    directory = args.base or base.prepare(DATA / "workspace-train").directory
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(
        f"\nmachine: {describe()}, {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{args.tokens} new tokens after a {len(HISTORY)}-turn chat, median of {args.repeats} rounds\n"
    )
    contestants = {}
    gguf = base.source_gguf(directory)
    said = [message.text for message in sample_messages()]  # the demo chat's: what `chat` keeps the replies to
    if gguf and not args.skip_llama and _llama_installed():
        adapter = _random_adapter_gguf(gguf, directory)
        contestants["llama.cpp (the peer)"] = llama_cpp_run(gguf, directory, args.tokens)
        contestants["gptisyou llama.cpp engine"] = llama_engine_run(gguf, directory, args.tokens)
        contestants["llama.cpp + adapter (the peer)"] = llama_cpp_run(gguf, directory, args.tokens, adapter)
        contestants["gptisyou llama.cpp + adapter"] = llama_engine_run(gguf, directory, args.tokens, adapter)
        contestants["gptisyou llama.cpp + adapter, spoken"] = llama_engine_run(
            gguf, directory, args.tokens, adapter, said
        )
    # the torch engine with the full head, and with the head of the tokens the person uses, as chat and serve run it
    for head, vocabulary in (("", None), (", spoken head", said)):
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            contestants[f"gptisyou torch{head} ({name})"] = torch_run(directory, dtype, args.tokens, vocabulary)
    results = _round_robin(contestants, args.repeats)
    for label, (first, speed) in results.items():
        peer = results.get("llama.cpp + adapter (the peer)" if "adapter" in label else "llama.cpp (the peer)")
        ratio = f"   {speed / peer[1]:5.2f}x the peer's tokens/s" if peer else ""
        print(f"{label:38} first token {first * 1000:7.0f} ms   {speed:7.1f} tokens/s{ratio}")


def _round_robin(contestants: dict[str, Callable[[], tuple[float, float]]], repeats: int) -> dict:
    """Each contestant's median (seconds to the first token, tokens/s after it) over `repeats` rounds, every round
    running each once: a shared machine's drift then touches all of them alike. A first round warms up."""
    runs = {label: [] for label in contestants}
    for _ in track(range(repeats + 1), description="rounds"):
        for label, one_run in contestants.items():
            runs[label].append(one_run())
    return {label: _median(measured[1:]) for label, measured in runs.items()}


def torch_run(directory: Path, dtype: torch.dtype, tokens: int, said: list[str] | None):
    """One generation through `TorchClone`; with `said`, through the head of the tokens those texts use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype).to(device)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    vocabulary = spoken_vocabulary(tokenizer, said) if said else None
    clone = TorchClone(model, tokenizer, "Alex", vocabulary=vocabulary)
    return lambda: _timed(clone, tokens)


def llama_engine_run(
    gguf: Path, directory: Path, tokens: int, adapter: Path | None = None, said: list[str] | None = None
):
    """The same through `LlamaClone`, on the base GGUF alone or with an adapter GGUF applied at run time; with
    `said`, kept to the tokens those texts use (the engine's first sampler keeps their candidates alone)."""
    from transformers import AutoTokenizer

    llama = _llama(gguf, adapter)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    clone = LlamaClone(llama, tokenizer, "Alex", vocabulary=spoken_vocabulary(tokenizer, said) if said else None)
    return lambda: _timed(clone, tokens, before=llama.reset)


def _timed(clone, tokens: int, before=lambda: None) -> tuple[float, float]:
    """(seconds to the first piece of text, tokens/s after it) of a clone's greedy generation: the prompt built
    and rendered, the tokens sampled and decoded, as `chat` does (stop markers aside). Every contestant writes
    all `tokens`: the end-of-turn token does not stop it here, since a clone kept to the spoken tokens reaches it
    sooner (11 tokens instead of 64 with the random adapter) and a short turn's figures compare with no other."""
    clone._stop_ids = set()
    before()
    usage = Usage()
    start = time.perf_counter()
    first = None
    prompt = clone._prompt_ids(HISTORY)
    for _piece in clone._tokens_as_text(prompt, Sampling(temperature=0, max_new_tokens=tokens), usage):
        first = first or time.perf_counter()
    return first - start, (usage.completion_tokens - 1) / (time.perf_counter() - first)


def llama_cpp_run(gguf: Path, directory: Path, tokens: int, adapter: Path | None = None):
    """llama-cpp-python's own token loop on the same prompt ids: no decoding, no stop checks."""
    from transformers import AutoTokenizer

    prompt = TorchClone(None, AutoTokenizer.from_pretrained(directory), "Alex")._prompt_ids(HISTORY)
    llama = _llama(gguf, adapter)

    def one_run() -> tuple[float, float]:
        llama.reset()
        start = time.perf_counter()
        first, count = None, 0
        for count, _token in enumerate(llama.generate(prompt, temp=0.0, reset=True), start=1):
            first = first or time.perf_counter()
            if count == tokens:
                break
        return first - start, (count - 1) / (time.perf_counter() - first)

    return one_run


def _llama(gguf: Path, adapter: Path | None):
    from llama_cpp import Llama

    return Llama(
        model_path=str(gguf),
        lora_path=str(adapter) if adapter else None,
        n_ctx=CONTEXT_TOKENS,
        n_threads=os.cpu_count(),
        n_threads_batch=os.cpu_count(),
        verbose=False,
    )


def _random_adapter_gguf(gguf: Path, directory: Path) -> Path:
    """A LoRA adapter of the shape `train` makes (rank 16 on every linear layer), random, as a llama.cpp GGUF."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from gptisyou.engine import gguf_file

    out = DATA / "random-adapter"
    if not (out / "adapter.gguf").is_file():
        model = AutoModelForCausalLM.from_pretrained(directory)
        lora = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
        with torch.no_grad():
            for name, parameter in lora.named_parameters():
                if "lora_B" in name:
                    parameter.normal_(0, 1e-3)
        lora.save_pretrained(out)
        gguf_file.lora_adapter(gguf, out, out / "adapter.gguf")
    return out / "adapter.gguf"


def _llama_installed() -> bool:
    import importlib.util

    if not (importlib.util.find_spec("llama_cpp") or (LLAMA / "llama_cpp").is_dir()) and not _install_llama():
        return False
    sys.path.insert(0, str(LLAMA))
    if has_amx_kernels():
        print(
            "this llama-cpp-python has the AMX kernels that crash (llama.cpp#20824): `make fast` rebuilds it "
            "without them; measuring gptisyou's torch engine alone"
        )
        return False
    return True


def _install_llama() -> bool:
    print("installing llama-cpp-python into benchmarks/.peers-llama/ (it compiles llama.cpp: minutes)…")
    cpu = Path("/proc/cpuinfo")
    no_amx = "-mno-amx-int8"  # as `make fast` builds it, for the same crash
    amx = cpu.is_file() and "amx_int8" in cpu.read_text()
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir", "--target", str(LLAMA), "llama-cpp-python"],
        env={**os.environ, "CFLAGS": no_amx, "CXXFLAGS": no_amx} if amx else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if install.returncode:
        print(f"llama.cpp could not be installed, measuring gptisyou's torch engine alone:\n{install.stderr[-1000:]}")
    return install.returncode == 0


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


if __name__ == "__main__":
    main()
