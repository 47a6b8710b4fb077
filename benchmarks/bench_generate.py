"""Generation speed: time to first token and tokens/s of the 270M model, gptisyou's engines against llama.cpp.

    python benchmarks/bench_generate.py [--tokens 64] [--repeats 3]

On the same GGUF file (the embedded Gemma 3 270M, Q4_K_M) and the same prompt (a chat of about 300 tokens),
`--tokens` tokens greedily, the median of `--repeats` runs, each from an empty KV cache:
- llama.cpp itself (llama-cpp-python's `generate`): the peer;
- gptisyou's llama.cpp engine (`--engine llama.cpp`): the same library through our prompt, stop and streaming
  code, without and with a LoRA adapter (rank 16 on every linear layer, as `train` makes) applied at run time;
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
from pathlib import Path

import torch
from machine import describe  # benchmarks/machine.py

from gptisyou.engine.llama_engine import CONTEXT_TOKENS, LlamaClone
from gptisyou.engine.torch_engine import TorchClone, spoken_vocabulary
from gptisyou.engine.types import Line, Sampling, Usage
from gptisyou.sources.sample import sample_messages
from gptisyou.train import base

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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", type=Path, help="a model directory instead of the embedded model (no llama.cpp)")
    parser.add_argument("--skip-llama", action="store_true", help="measure the torch engine alone")
    args = parser.parse_args()
    directory = args.base or base.prepare(DATA / "workspace-train").directory
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"\nmachine: {describe()}, {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.tokens} new tokens after a {len(HISTORY)}-turn chat, median of {args.repeats}\n")  # fmt: skip
    results = {}
    gguf = base.source_gguf(directory)
    if gguf and not args.skip_llama and _llama_installed():
        results["llama.cpp (the peer)"] = measure_llama_cpp(gguf, directory, args)
        results["gptisyou llama.cpp engine"] = measure_llama_engine(gguf, directory, args)
        results["gptisyou llama.cpp + adapter"] = measure_llama_engine(gguf, directory, args, adapter=True)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        results[f"gptisyou torch ({name})"] = measure_transformers(directory, dtype, args)
    # what chat and serve run: only the tokens of the person's chats (here the demo chat's) in the head
    said = [message.text for message in sample_messages()]
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        results[f"gptisyou torch, spoken head ({name})"] = measure_transformers(directory, dtype, args, said)
    reference = results.get("llama.cpp (the peer)")
    for label, (first, speed) in results.items():
        ratio = f"   {speed / reference[1]:5.2f}x llama.cpp's tokens/s" if reference else ""
        print(f"{label:38} first token {first * 1000:7.0f} ms   {speed:7.1f} tokens/s{ratio}")


def measure_transformers(
    directory: Path, dtype: torch.dtype, args, said: list[str] | None = None
) -> tuple[float, float]:
    """(seconds to the first token, tokens/s after it) for generation through `TorchClone`; with `said`, through
    the head of the tokens those texts use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype).to(device)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    vocabulary = spoken_vocabulary(tokenizer, said) if said else None
    return _timed(TorchClone(model, tokenizer, "Alex", vocabulary=vocabulary), args)


def measure_llama_engine(gguf: Path, directory: Path, args, adapter: bool = False) -> tuple[float, float]:
    """The same through `LlamaClone`, on the base GGUF alone or with a random adapter of the trained shape."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    lora = str(_random_adapter_gguf(gguf, directory)) if adapter else None
    llama = Llama(model_path=str(gguf), lora_path=lora, n_ctx=CONTEXT_TOKENS, n_threads=os.cpu_count(),
                  n_threads_batch=os.cpu_count(), verbose=False)  # fmt: skip
    clone = LlamaClone(llama, AutoTokenizer.from_pretrained(directory), "Alex")
    return _timed(clone, args, before_each=llama.reset)


def _timed(clone, args, before_each=lambda: None) -> tuple[float, float]:
    """Median (seconds to the first piece of text, tokens/s after it) of a clone's greedy generation: the prompt
    built and rendered, the tokens sampled and decoded, as `chat` does (stop markers aside)."""
    runs = []
    for _ in range(args.repeats + 1):  # the first run warms up
        before_each()
        usage = Usage()
        start = time.perf_counter()
        first = None
        prompt = clone._prompt_ids(HISTORY)
        for _piece in clone._tokens_as_text(prompt, Sampling(temperature=0, max_new_tokens=args.tokens), usage):
            first = first or time.perf_counter()
        end = time.perf_counter()
        runs.append((first - start, (usage.completion_tokens - 1) / (end - first)))
    return _median(runs[1:])


def measure_llama_cpp(gguf: Path, directory: Path, args) -> tuple[float, float]:
    """llama-cpp-python's own token loop on the same prompt ids: no decoding, no stop checks."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    prompt = TorchClone(None, AutoTokenizer.from_pretrained(directory), "Alex")._prompt_ids(HISTORY)
    llm = Llama(model_path=str(gguf), n_ctx=CONTEXT_TOKENS, n_threads=os.cpu_count(),
                n_threads_batch=os.cpu_count(), verbose=False)  # fmt: skip
    runs = []
    for _ in range(args.repeats + 1):
        llm.reset()
        start = time.perf_counter()
        first, count = None, 0
        for count, _token in enumerate(llm.generate(prompt, temp=0.0, reset=True), start=1):
            first = first or time.perf_counter()
            if count == args.tokens:
                break
        end = time.perf_counter()
        runs.append((first - start, (count - 1) / (end - first)))
    return _median(runs[1:])


def _random_adapter_gguf(gguf: Path, directory: Path) -> Path:
    """A LoRA adapter of the shape `train` makes (rank 16 on every linear layer), random, as a llama.cpp GGUF."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from gptisyou.export import gguf_file

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

    if importlib.util.find_spec("llama_cpp") or (LLAMA / "llama_cpp").is_dir():
        sys.path.insert(0, str(LLAMA))
        return True
    print("installing llama-cpp-python into benchmarks/.peers-llama/ (it compiles llama.cpp: minutes)…")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(LLAMA), "llama-cpp-python"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if install.returncode:
        print(f"llama.cpp could not be installed, measuring gptisyou's torch engine alone:\n{install.stderr[-1000:]}")
        return False
    sys.path.insert(0, str(LLAMA))
    return True


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


if __name__ == "__main__":
    main()
