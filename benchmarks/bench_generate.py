"""Generation speed: time to first token and tokens/s of the 270M model, fp32 and bf16, against llama.cpp.

    python benchmarks/bench_generate.py [--tokens 64] [--repeats 3]

gptisyou generates with transformers and a KV cache from the base converted once into benchmarks/.data/ (the
embedded Gemma 3 270M), in fp32 and in bf16. llama.cpp (llama-cpp-python, installed into
benchmarks/.peers-llama/ when pip can build it) runs the same GGUF file, whose weights stay 4-bit quantised
(Q4_K_M): it moves a quarter of the bytes per token, so it is the speed to aim at, not an equal comparison.
Every engine gets the same prompt (a chat of about 300 tokens) and produces `--tokens` tokens greedily;
the median of `--repeats` runs is printed, with the ratios to llama.cpp.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from machine import describe  # benchmarks/machine.py

from gptisyou.engine.torch_engine import Clone, spoken_vocabulary
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
    parser.add_argument("--skip-llama", action="store_true", help="measure gptisyou alone (no llama.cpp build)")
    args = parser.parse_args()
    directory = args.base or base.prepare(DATA / "workspace-train").directory
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"\nmachine: {describe()}, {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.tokens} new tokens after a {len(HISTORY)}-turn chat, median of {args.repeats}\n")  # fmt: skip
    results = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        results[f"gptisyou (transformers, {name})"] = measure_transformers(directory, dtype, args)
    # what chat and serve run: only the tokens of the person's chats (here the demo chat's) in the head
    said = [message.text for message in sample_messages()]
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        results[f"gptisyou (spoken head, {name})"] = measure_transformers(directory, dtype, args, said)
    source = directory / "source.json"
    llama = (
        measure_llama_cpp(Path(json.loads(source.read_text())["gguf"]), directory, args)
        if source.is_file() and not args.skip_llama
        else None
    )
    if llama:
        results["llama.cpp (same GGUF, Q4_K_M)"] = llama
    reference = llama
    for label, (first, speed) in results.items():
        ratio = f"   {speed / reference[1]:5.2f}x llama.cpp's tokens/s" if reference else ""
        print(f"{label:32} first token {first * 1000:7.0f} ms   {speed:7.1f} tokens/s{ratio}")


def measure_transformers(
    directory: Path, dtype: torch.dtype, args, said: list[str] | None = None
) -> tuple[float, float]:
    """(seconds to the first token, tokens/s after it) for generation through `Clone`; with `said`, through the
    head of the tokens those texts use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype).to(device)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    vocabulary = spoken_vocabulary(tokenizer, said) if said else None
    clone = Clone(model, tokenizer, "Alex", vocabulary=vocabulary)
    prompt = clone._prompt_ids(HISTORY)
    runs = []
    for _ in range(args.repeats + 1):  # the first run warms up
        usage = Usage()
        start = time.perf_counter()
        first = None
        for _piece in clone._tokens_as_text(prompt, Sampling(temperature=0, max_new_tokens=args.tokens), usage):
            first = first or time.perf_counter()
        end = time.perf_counter()
        runs.append((first - start, (usage.completion_tokens - 1) / (end - first)))
    return _median(runs[1:])


def measure_llama_cpp(gguf: Path, directory: Path, args) -> tuple[float, float] | None:
    if not _llama_installed():
        return None
    sys.path.insert(0, str(LLAMA))
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    clone = Clone(None, AutoTokenizer.from_pretrained(directory), "Alex")
    prompt = clone._prompt_ids(HISTORY)  # the very same token ids
    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
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


def _llama_installed() -> bool:
    if (LLAMA / "llama_cpp").is_dir():
        return True
    print("installing llama-cpp-python into benchmarks/.peers-llama/ (it compiles llama.cpp: minutes)…")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(LLAMA), "llama-cpp-python"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if install.returncode:
        print(f"llama.cpp could not be installed, measuring gptisyou alone:\n{install.stderr[-1000:]}")
        return False
    return True


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


if __name__ == "__main__":
    main()
