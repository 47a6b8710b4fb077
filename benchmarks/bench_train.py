"""Training speed on this machine: gptisyou's LoRA step against a plain Hugging Face + PEFT step, in one run.

    python benchmarks/bench_train.py [--steps 4] [--batch 4] [--length 256]

Both train the embedded Gemma 3 270M (converted once into benchmarks/.data/) with LoRA r=16 on all linear
layers, on the same batches: `--batch` sequences of `--length` tokens, the second half of each labelled (a
reply after its context). The baseline computes full logits in fp32 and lets the model compute the loss; ours
evaluates the vocabulary head only at labelled positions, in chunks, under bf16 autocast where the CPU has it,
with the frozen weights stored in bf16.
Printed: tokens/s of each, the ratio, the measured matmul peak and the model FLOPs utilisation (MFU).
"""

import argparse
import math
import time
from pathlib import Path

import torch
from machine import describe  # benchmarks/machine.py

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
    plain, _ = load_lora_model(directory, TrainConfig("bench", bf16_frozen_weights=False))
    vocab = plain.get_base_model().config.vocab_size
    batches = []
    for _ in range(args.steps):
        input_ids = torch.randint(0, vocab, (args.batch, args.length))
        labels = input_ids.clone()
        labels[:, : args.length // 2] = IGNORE_INDEX
        batches.append({"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels})
    autocast = autocast_dtype()

    def step_of(model, loss_of):
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

        def step(batch: dict) -> None:
            loss_of(model, batch).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        return step

    def full_logits_loss(model, batch):
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss

    def targeted(model, batch):
        with torch.autocast("cpu", dtype=autocast, enabled=autocast is not None):
            return targeted_forward(model, batch)[0]

    tokens = args.batch * args.length
    baseline = measure(step_of(plain, full_logits_loss), batches, tokens)
    head_only = measure(step_of(plain, targeted), batches, tokens)
    del plain
    model, _ = load_lora_model(directory, TrainConfig("bench"))  # the recipe's default: bf16 frozen weights
    ours = measure(step_of(model, targeted), batches, tokens)
    peak = matmul_peak_gflops(torch.bfloat16 if autocast else torch.float32)
    body = sum(p.numel() for n, p in model.named_parameters() if "embed" not in n)  # matmul weights per token
    head = vocab * model.get_base_model().config.hidden_size
    # forward + backward through frozen weights ≈ 4 FLOPs per weight per token; the head at labelled tokens only
    flops_per_token = 4 * body + 4 * head * 0.5
    print(f"\nmachine: {describe()}, torch {torch.__version__}, "
          f"bf16 autocast: {autocast is not None}; batches of {args.batch}x{args.length} tokens, half labelled\n")  # fmt: skip
    print(f"plain HF + PEFT (full logits, fp32):           {baseline:8.1f} tokens/s")
    print(f"+ head at labels only, chunked, bf16 autocast: {head_only:8.1f} tokens/s  {head_only / baseline:.2f}x")
    print(f"+ frozen weights in bf16 (gptisyou's default): {ours:8.1f} tokens/s  {ours / baseline:.2f}x (target ≥ 3x)")
    print(
        f"matmul peak ({'bf16' if autocast else 'fp32'} 2048²): {peak:.0f} GFLOP/s; "
        f"MFU ≈ {ours * flops_per_token / 1e9 / peak:.1%} (≈{flops_per_token / 1e9:.2f} GFLOP per token)"
    )
    if math.isnan(ours):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
