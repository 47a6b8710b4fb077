"""Training speed on this machine: gptisyou's LoRA step against a plain Hugging Face + PEFT step, in one run.

    python benchmarks/bench_train.py [--steps 4] [--batch 4] [--length 256]

Both train the embedded Gemma 3 270M (converted once into benchmarks/.data/) with LoRA r=16 on all linear
layers, on the same batches: `--batch` sequences of `--length` tokens, the second half of each labelled (a
reply after its context). The baseline computes full logits in fp32 and lets the model compute the loss; ours
evaluates the vocabulary head only at labelled positions, in chunks, under bf16 autocast where the CPU has it.
Printed: tokens/s of each, the ratio, the measured matmul peak and the model FLOPs utilisation (MFU).
"""

import argparse
import math
import os
import platform
import time
from pathlib import Path

import torch

from gptisyou.train import base
from gptisyou.train.batches import IGNORE_INDEX
from gptisyou.train.local import TrainConfig, autocast_dtype, load_lora_model, targeted_forward

DATA = Path(__file__).resolve().parent / ".data"


def matmul_peak_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def measure(step, batches: list[dict], tokens_per_batch: int) -> float:
    step(batches[0])  # warm-up
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    return tokens_per_batch * len(batches) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(0)
    directory = base.prepare(DATA / "workspace-train").directory
    model, _ = load_lora_model(directory, TrainConfig("bench"))
    vocab = model.get_base_model().config.vocab_size
    batches = []
    for _ in range(args.steps):
        input_ids = torch.randint(0, vocab, (args.batch, args.length))
        labels = input_ids.clone()
        labels[:, : args.length // 2] = IGNORE_INDEX
        batches.append({"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels})
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    autocast = autocast_dtype()

    def baseline_step(batch: dict) -> None:
        model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        ).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def our_step(batch: dict) -> None:
        with torch.autocast("cpu", dtype=autocast, enabled=autocast is not None):
            loss, _, _ = targeted_forward(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    tokens = args.batch * args.length
    baseline = measure(baseline_step, batches, tokens)
    ours = measure(our_step, batches, tokens)
    peak = matmul_peak_gflops(torch.bfloat16 if autocast else torch.float32)
    body = sum(p.numel() for n, p in model.named_parameters() if "embed" not in n)  # matmul weights per token
    head = vocab * model.get_base_model().config.hidden_size
    # forward + backward through frozen weights ≈ 4 FLOPs per weight per token; the head at labelled tokens only
    flops_per_token = 4 * body + 4 * head * 0.5
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"bf16 autocast: {autocast is not None}; batches of {args.batch}x{args.length} tokens, half labelled\n")  # fmt: skip
    print(f"plain HF + PEFT (full logits, fp32): {baseline:8.1f} tokens/s")
    print(
        f"gptisyou (head at labels, chunked):  {ours:8.1f} tokens/s   {ours / baseline:.2f}x the baseline (target ≥ 3x)"
    )
    print(
        f"matmul peak ({'bf16' if autocast else 'fp32'} 2048²): {peak:.0f} GFLOP/s; "
        f"MFU ≈ {ours * flops_per_token / 1e9 / peak:.1%} (≈{flops_per_token / 1e9:.2f} GFLOP per token)"
    )
    if math.isnan(ours):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
